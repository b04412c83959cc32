"""Reading and writing QDPX archives (ZIP) safely: size and zip-bomb limits, no path traversal.

Members are read into memory by name, never extracted to disk. A member name that climbs out of the
archive (``..``, an absolute path, a drive letter) refuses the whole archive: a well-formed export
never has one.
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sibkit.errors import SibkitError

MAX_MEMBERS = 20_000
MAX_MEMBER_BYTES = 512 * 1024 * 1024
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, for members over 1 MiB
FIXED_TIME = (2000, 1, 1, 0, 0, 0)  # member time stamps in written archives: same content, same bytes


@dataclass(frozen=True)
class Limits:
    member_bytes: int = MAX_MEMBER_BYTES
    total_bytes: int = MAX_TOTAL_BYTES
    members: int = MAX_MEMBERS
    ratio: int = MAX_RATIO


def unsafe_member(name: str) -> bool:
    """True when a member name would leave the archive's folder if extracted."""
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return True
    return any(part == ".." for part in PurePosixPath(normal).parts)


class QdpxArchive:
    """An open ``.qdpx`` file: its project ``.qde`` and the members it names, looked up leniently
    (``sources/`` or ``Sources/``, any letter case, the project in a sub-folder)."""

    def __init__(self, path: Path, limits: Limits | None = None) -> None:
        self.path = path
        self.limits = limits or Limits()
        try:
            self._zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile, UnicodeDecodeError, ValueError, EOFError) as exc:
            raise SibkitError(f"{path}: not a QDPX (ZIP) archive ({exc})") from None
        infos = [info for info in self._zip.infolist() if not info.is_dir()]
        if len(infos) > self.limits.members:
            raise SibkitError(f"{path}: {len(infos):,} files in the archive, over the limit of "
                              f"{self.limits.members:,}")
        total = 0
        for info in infos:
            if unsafe_member(info.filename):
                raise SibkitError(f"{path}: member {info.filename!r} points outside the archive (path traversal); "
                                  "refused")
            total += info.file_size
            self._check_ratio(info)
        if total > self.limits.total_bytes:
            raise SibkitError(f"{path}: {total:,} bytes uncompressed, over the limit of {self.limits.total_bytes:,} "
                              "(zip bomb?)")
        self._by_name = {info.filename.replace("\\", "/").lower(): info for info in infos}
        self.read_total = 0
        qdes = sorted(name for name in self._by_name if name.endswith(".qde"))
        if not qdes:
            raise SibkitError(f"{path}: no project file (.qde) in the archive")
        preferred = [name for name in qdes if posixpath.basename(name) == "project.qde"]
        if len(qdes) > 1 and len(preferred) != 1:
            raise SibkitError(f"{path}: several project files ({', '.join(qdes)}) and none is project.qde")
        self.qde_name = (preferred or qdes)[0]
        self.root = posixpath.dirname(self.qde_name)

    def _check_ratio(self, info: zipfile.ZipInfo) -> None:
        if info.file_size > self.limits.member_bytes:
            raise SibkitError(f"{self.path}: member {info.filename!r} is {info.file_size:,} bytes uncompressed, over "
                              f"the limit of {self.limits.member_bytes:,} (zip bomb?)")
        if info.file_size > 1024 * 1024 and info.file_size > self.limits.ratio * max(1, info.compress_size):
            ratio = info.file_size // max(1, info.compress_size)
            raise SibkitError(f"{self.path}: member {info.filename!r} expands {ratio:,}"
                              f" times ({info.compress_size:,} to {info.file_size:,} bytes): a zip bomb; refused")

    def check_project_memory(self) -> None:
        """Refuse a project file whose parsing would not fit the memory budget (``SIBKIT_MEMORY_MB``): the
        parsed tree takes about twelve times the file, so it may be a sixteenth of the budget."""
        from sibkit.corpus.budget import MEMORY_ENV, memory_budget

        budget = memory_budget()
        size = self._by_name[self.qde_name].file_size
        if size > budget // 16:
            raise SibkitError(f"{self.path}: the project file {self.qde_name} is {size / 2**20:,.0f} MiB; reading it "
                              f"takes about 12 times that, over the memory budget of {budget // 2**20:,} MiB (set "
                              f"{MEMORY_ENV} to allow more, at least {16 * size // 2**20 + 1:,})")

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """A member's bytes, reading no more than its declared size (headers can lie); a damaged member is
        one clear error naming it."""
        try:
            return self._read(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError,
                ValueError) as exc:
            text = str(exc).splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise SibkitError(f"{self.path}: member {info.filename!r} cannot be read ({text}: damaged, or larger "
                              "than its header says); refused") from None

    def _read(self, info: zipfile.ZipInfo) -> bytes:
        chunks, size = [], 0
        with self._zip.open(info) as handle:
            while True:
                chunk = handle.read(1024 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                self.read_total += len(chunk)
                if size > info.file_size or size > self.limits.member_bytes:
                    raise SibkitError(f"{self.path}: member {info.filename!r} is larger than its header says "
                                      "(zip bomb?); refused")
                if self.read_total > self.limits.total_bytes:
                    raise SibkitError(f"{self.path}: more than {self.limits.total_bytes:,} bytes uncompressed "
                                      "(zip bomb?); refused")
                chunks.append(chunk)
        return b"".join(chunks)

    def project_bytes(self) -> bytes:
        return self.read(self._by_name[self.qde_name])

    def find(self, name: str) -> zipfile.ZipInfo | None:
        """The member for a source file name: ``sources/NAME`` beside the project (any case), else a
        unique member with that base name."""
        name = name.replace("\\", "/").lstrip("/")
        candidates = [posixpath.join(self.root, name), posixpath.join(self.root, "sources", name)]
        if name.lower().startswith("sources/"):
            candidates.insert(0, posixpath.join(self.root, name))
        for candidate in candidates:
            info = self._by_name.get(posixpath.normpath(candidate).lstrip("./").lower())
            if info is not None:
                return info
        base = posixpath.basename(name).lower()
        matches = [info for key, info in self._by_name.items() if posixpath.basename(key) == base]
        return matches[0] if len(matches) == 1 else None

    def close(self) -> None:
        self._zip.close()


def write_qdpx(path: Path, project_xml: bytes, sources: dict[str, bytes]) -> None:
    """Write ``project.qde`` and ``sources/NAME`` members with fixed time stamps, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("project.qde", FIXED_TIME), project_xml, zipfile.ZIP_DEFLATED)
        for name in sorted(sources):
            archive.writestr(zipfile.ZipInfo(f"sources/{name}", FIXED_TIME), sources[name], zipfile.ZIP_DEFLATED)
    partial.replace(path)
