"""The INDIGO releases held in the user's data folder, each under its date, never overwritten.

Layout: ``$SIBKIT_DATA/indigo/releases/<name>/`` holds one CSV export (GO Lab's file names) and its
``manifest.json`` (date, how the date was found, source, download time, projects, SHA-256 of the export's
files). ``<name>`` is the release date (``2025-05-20``); a second, different export of the same date is
``2025-05-20.2``. A copy written by an older sibkit straight into ``$SIBKIT_DATA/indigo/`` is moved into
the layout on first use (copied, then removed: a crash in between leaves two equal copies, and the next
use removes the old one).

Standard library only: ``sibkit.indigo.loader`` resolves ``indigo@DATE`` and ``latest`` through it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sibkit import paths
from sibkit.errors import SibkitError

PREFIX = "indigo@"
LATEST = "latest"
MANIFEST = "manifest.json"
_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.(\d+))?$")
_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


@dataclass(frozen=True)
class Release:
    """One INDIGO release: its date and where that date came from, its source, its content hash.

    ``name`` is how it is asked for (``indigo@<name>``); ``folder`` is None for a dataset that is not a
    held release (loaded straight from a folder, zip or the API)."""

    name: str
    date: str
    date_from: str
    source: str
    sha256: str
    projects: int | None = None
    downloaded: str | None = None
    folder: Path | None = None

    @property
    def held(self) -> bool:
        return self.folder is not None

    @property
    def label(self) -> str:
        """``indigo@2025-05-20`` for a held release, else where the data was read (a folder's or zip's
        name, the API's address)."""
        if self.held:
            return f"{PREFIX}{self.name}"
        return self.source if self.source.startswith(("http://", "https://")) else Path(self.source).name

    @property
    def named(self) -> str:
        """What a command's heading line says its figures rest on: ``indigo@2025-05-20`` for a held release;
        for data read straight from a folder, zip or URL, that source and its date."""
        if self.held:
            return self.label
        return f"{self.source} (not a held release; dated {self.date})"

    def sentence(self) -> str:
        """The release in words, for a report or a footer."""
        held = f", held as {PREFIX}{self.name}" if self.held else ""
        return f"GO Lab INDIGO release of {self.date} ({self.date_from}{held})"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["folder"] = str(self.folder) if self.folder else None
        out["held"] = self.held
        out["label"] = self.label
        return out


def releases_dir() -> Path:
    return paths.indigo_cache_dir() / "releases"


def is_release_spec(source: object) -> bool:
    """``latest``, ``indigo@latest`` or ``indigo@<date>``: a held release, not a path."""
    return isinstance(source, str) and (source == LATEST or source.startswith(PREFIX))


def content_hash(files: dict[str, bytes | None]) -> str:
    """SHA-256 over an export's CSV files (names and bytes, in name order; missing files left out): a
    release's identity, the same for the folder, its zip and the release kept from either."""
    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name]
        if data is not None and name.endswith(".csv"):
            digest.update(name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return digest.hexdigest()


def files_hash(folder: Path) -> str:
    """``content_hash`` of the CSV files in a folder."""
    return content_hash({path.name: path.read_bytes() for path in folder.glob("*.csv") if path.is_file()})


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _release(folder: Path, manifest: dict[str, Any]) -> Release:
    return Release(name=folder.name, date=str(manifest.get("date") or folder.name[:10]),
                   date_from=str(manifest.get("date_from") or "date of the folder"),
                   source=str(manifest.get("source") or ""), sha256=str(manifest.get("sha256") or ""),
                   projects=manifest.get("projects"), downloaded=manifest.get("downloaded"), folder=folder)


def _order(release: Release) -> tuple[str, int]:
    match = _NAME.match(release.name)
    return (release.date, int(match.group(2) or 1) if match else 0)


def held(problems: list[str] | None = None) -> list[Release]:
    """Every held release, oldest first (the legacy single copy moved in first). A folder without a
    readable manifest is skipped and named in ``problems``."""
    migrate_legacy()
    return _scan(problems)


def _scan(problems: list[str] | None = None) -> list[Release]:
    root = releases_dir()
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if not folder.is_dir() or not _NAME.match(folder.name):
            continue  # staging folders (``.new-...``) and anything else
        manifest = _read_manifest(folder)
        if manifest is None or not (folder / "projects.csv").is_file():
            if problems is not None:
                problems.append(f"{folder}: no readable {MANIFEST} or projects.csv; not a release, skipped")
            continue
        found.append(_release(folder, manifest))
    return sorted(found, key=_order)


def names_in_words(releases: Iterable[Release]) -> str:
    names = [r.name for r in releases]
    return ", ".join(names) if names else "none (run `sibkit data download`)"


def resolve(spec: str | None, releases: list[Release] | None = None) -> Release:
    """The held release ``spec`` names: ``latest`` (or None), ``indigo@latest``, ``indigo@2025-05-20``
    (the release of that name, else the last held of that date) or ``indigo@2025-05-20.2``, with or
    without ``indigo@``: the names the command line, a study file and the web's What changed page take.
    ``releases``: those to choose from (default: those held now)."""
    if releases is None:
        releases = held()
    wanted = LATEST if spec is None else spec.removeprefix(PREFIX)
    if not releases:
        raise SibkitError(f"no INDIGO release held in {releases_dir()}; run `sibkit data download` "
                          "(or `--from FOLDER_OR_ZIP`), or pass --data SOURCE")
    if wanted == LATEST:
        return releases[-1]
    exact = [r for r in releases if r.name == wanted]
    same_day = [r for r in releases if r.date == wanted]
    if exact or same_day:
        return (exact or same_day)[-1]
    if not _NAME.match(wanted):
        raise SibkitError(f"{spec!r}: expected indigo@YYYY-MM-DD or latest")
    raise SibkitError(f"no INDIGO release {wanted} is held; held: {names_in_words(releases)}")


def describe_source(source: str | Path | None) -> str:
    """The data a study file or ``--data`` names, in words, without loading it: a held release by its name
    (``latest`` says which release that is now), else the folder, zip or URL itself."""
    text = None if source is None else str(source)
    if text is None or is_release_spec(text):
        try:
            release = resolve(text)
        except SibkitError as exc:
            return f"{text or LATEST}: {exc}"
        if (text or LATEST).removeprefix(PREFIX) == LATEST:
            return f"{release.named} (latest: the newest release held now)"
        return f"{release.named} (held)"
    if text.startswith(("http://", "https://")):
        return f"{text} (the INDIGO API, read live: not a held release)"
    if not Path(text).exists():
        return f"{text}: no such file or folder (nor a held release)"
    return f"{text} (a CSV export {'.zip' if text.lower().endswith('.zip') else 'folder'}: not a held release)"


# ---------------------------------------------------------------------------------------------
# the date of an export


def date_in_name(text: str) -> str | None:
    """The last valid ISO date in a file or folder name (``impact-bond-dataset-2025-05-20``)."""
    for year, month, day in reversed(_DATE_IN_NAME.findall(text)):
        try:
            return dt.date(int(year), int(month), int(day)).isoformat()
        except ValueError:
            continue
    return None


def export_date(source: str | Path) -> tuple[str, str] | None:
    """(date, how it was found) from the export itself, or None: a ``manifest.json`` in the folder (a
    release written by sibkit), a date in the folder's or zip's name (GO Lab's own naming), else the
    newest member date of a zip (when GO Lab's server wrote it)."""
    text = str(source)
    if text.startswith(("http://", "https://")):
        return None  # the API publishes no release date: the download date stands
    path = Path(text)
    if path.is_dir():
        manifest = _read_manifest(path)
        if manifest and manifest.get("date"):
            return str(manifest["date"]), str(manifest.get("date_from") or "the export's manifest")
    for part in (path.name, path.parent.name):
        if found := date_in_name(part.removesuffix(".zip")):
            return found, f"date in the export's name ({part})"
    if path.is_file() and path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                stamps = [info.date_time for info in archive.infolist() if info.filename.endswith(".csv")]
        except (zipfile.BadZipFile, OSError):
            return None
        if stamps and max(stamps)[0] > 1980:
            year, month, day = max(stamps)[:3]
            return dt.date(year, month, day).isoformat(), "newest file date in the zip"
    return None


# ---------------------------------------------------------------------------------------------
# adding, migrating and pruning


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def store(write: Callable[[Path], None], manifest: dict[str, Any]) -> tuple[Release, bool]:
    """Write a release with ``write(folder)`` into a staging folder, then keep it under its date unless an
    identical export is already held. ``manifest`` needs ``date``; ``sha256`` and the folder are added.
    Returns the release and whether it is new. Nothing held is ever replaced."""
    migrate_legacy()
    return _store(write, manifest)


def _store(write: Callable[[Path], None], manifest: dict[str, Any]) -> tuple[Release, bool]:
    root = releases_dir()
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".new-{os.getpid()}-{dt.datetime.now().timestamp():.0f}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        write(staging)
        digest = files_hash(staging)
        for existing in _scan():
            if existing.sha256 == digest:
                return existing, False
        manifest = {**manifest, "sha256": digest}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        date = str(manifest["date"])
        for number in range(1, 1000):
            name = date if number == 1 else f"{date}.{number}"
            target = root / name
            if target.exists():
                continue
            try:
                staging.rename(target)  # atomic; refuses a target another process created meanwhile
            except OSError:
                continue
            return _release(target, manifest), True
        raise SibkitError(f"{root}: too many releases dated {date}")
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _legacy_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file() and (p.suffix == ".csv" or p.name == MANIFEST)]


def migrate_legacy() -> Release | None:
    """Move the single copy an older sibkit kept in ``$SIBKIT_DATA/indigo/`` into the layout (dated by
    its source's name, else its download date). A data folder that cannot be written is left as it is."""
    legacy = paths.indigo_cache_dir()
    if not (legacy / "projects.csv").is_file():
        return None
    old = _read_manifest(legacy) or {}
    source = str(old.get("source") or legacy)
    found = export_date(source) if old.get("source") else None
    downloaded = str(old.get("downloaded") or "")
    if found is None:
        found = (downloaded[:10], "download date") if downloaded else (
            dt.date.fromtimestamp((legacy / "projects.csv").stat().st_mtime).isoformat(), "date of the local copy")
    manifest = {"date": found[0], "date_from": found[1], "source": source, "downloaded": downloaded or None,
                "projects": old.get("projects"), "issues": old.get("issues", []),
                "migrated_from": str(legacy)}
    files = _legacy_files(legacy)

    def copy(folder: Path) -> None:
        for path in files:
            if path.suffix == ".csv":
                shutil.copyfile(path, folder / path.name)

    try:
        releases_dir().mkdir(parents=True, exist_ok=True)
        release, _new = _store(copy, manifest)
        for path in files:
            path.unlink(missing_ok=True)
    except OSError:
        return None
    return release


def remove(releases: Iterable[Release]) -> list[Release]:
    """Delete these held releases (``sibkit data prune``); returns those removed."""
    removed = []
    for release in releases:
        if release.folder is None:
            continue
        trash = release.folder.with_name(f".removing-{release.name}")
        release.folder.rename(trash)  # out of sight at once, then deleted
        shutil.rmtree(trash, ignore_errors=True)
        removed.append(release)
    return removed


def as_source(text: str) -> str:
    """A command-line release argument as a loader source: a bare held date (``2025-05-20``) becomes
    ``indigo@2025-05-20``; paths, URLs and ``indigo@...`` pass unchanged."""
    if _NAME.match(text) and not Path(text).exists():
        return PREFIX + text
    return text
