"""Results kept on disk under a fingerprint of everything they depend on, so that a step whose inputs did
not change is read back instead of computed again (``sibkit run`` twice: the analysis, charts and
workbook of the second run come from here).

A key is the SHA-256 of the inputs in a canonical form (a DataFrame as its columns, dtypes and every cell
written out with a marker for missing values), sibkit's version, the source of the modules doing the work
and the installed files of the libraries they use. Changed inputs or code give another key: nothing is
ever invalidated, old entries are simply pruned (newest ``KEEP`` kept). Entries are pickles sibkit wrote
into the user's own data folder (``$SIBKIT_DATA``); one is read only after its header and key match,
and anything unreadable counts as absent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from sibkit import __version__, paths

MAGIC = b"sibkit memo 1\n"
KEEP = 64
_MISSING = "\x00NA\x00"
T = TypeVar("T")


def memo_dir() -> Path:
    return paths.data_dir() / "memo"


def _canonical(value: Any, digest: Any) -> None:
    """Feed ``value`` to ``digest`` so that equal inputs give equal bytes (and unequal ones differ)."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        digest.update(b"F" + repr((list(map(str, value.columns)), [str(t) for t in value.dtypes],
                                   str(value.index.dtype), value.index.names)).encode())
        digest.update(value.to_csv(index=True, na_rep=_MISSING, lineterminator="\n").encode())
    elif isinstance(value, pd.Series):
        digest.update(b"S" + repr((value.name, str(value.dtype))).encode())
        _canonical(value.to_frame(), digest)
    elif hasattr(value, "model_dump_json"):  # pydantic models (the study's settings)
        digest.update(b"M" + type(value).__name__.encode() + value.model_dump_json().encode())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        digest.update(b"D" + type(value).__name__.encode())
        _canonical(dataclasses.asdict(value), digest)
    elif isinstance(value, dict):
        digest.update(b"{%d" % len(value))
        for key in sorted(value, key=repr):
            _canonical(key, digest)
            _canonical(value[key], digest)
    elif isinstance(value, list | tuple):
        digest.update(b"[%d" % len(value))
        for item in value:
            _canonical(item, digest)
    elif isinstance(value, set | frozenset):
        _canonical(sorted(value, key=repr), digest)
    elif value is None or isinstance(value, str | int | float | bool | bytes):
        digest.update(b"V" + repr((type(value).__name__, value)).encode() + b"\0")
    else:
        raise TypeError(f"memo: no canonical form for {type(value).__name__}")


def stamp(modules: Iterable[str], libraries: Iterable[str], digest: Any) -> None:
    """sibkit's version, the source of ``modules`` and the installed files of ``libraries`` (found
    without importing them: a new release is a new file)."""
    digest.update(__version__.encode() + b"\0")
    for name in modules:
        spec = importlib.util.find_spec(name)
        digest.update(name.encode() + b"\0" + (Path(spec.origin).read_bytes() if spec and spec.origin else b"-"))
    for name in libraries:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            digest.update(name.encode() + b"\0-")
            continue
        stat = os.stat(spec.origin)
        digest.update(f"{name}:{spec.origin}:{stat.st_size}:{stat.st_mtime_ns}".encode())


def key(inputs: Any, *, modules: Iterable[str] = (), libraries: Iterable[str] = ()) -> str:
    """The fingerprint of ``inputs`` computed by ``modules`` with ``libraries``."""
    digest = hashlib.sha256()
    stamp(modules, libraries, digest)
    _canonical(inputs, digest)
    return digest.hexdigest()


def fetch(name: str, folder: Path | None = None) -> tuple[bool, Any]:
    """(True, value) stored under ``name``; (False, None) when absent or unreadable."""
    path = (folder or memo_dir()) / f"{name}.pickle"
    try:
        with path.open("rb") as handle:
            if handle.readline() != MAGIC or handle.readline() != name.encode() + b"\n":
                return False, None
            return True, pickle.load(handle)  # our own file, its header checked above
    except Exception:  # missing, truncated, or pickled by another library version
        return False, None


def store(name: str, value: Any, folder: Path | None = None, keep: int = KEEP) -> None:
    """Write an entry atomically and prune the oldest; a folder that cannot be written means no memo."""
    folder = folder or memo_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=folder, suffix=".part", delete=False) as handle:
            part = Path(handle.name)
            try:
                handle.write(MAGIC + name.encode() + b"\n")
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:
                handle.close()
                part.unlink(missing_ok=True)
                raise
        os.replace(part, folder / f"{name}.pickle")
        entries = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[keep:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


def memoised(name: str, compute: Callable[[], T], folder: Path | None = None, keep: int = KEEP) -> T:
    """The value stored under ``name`` (a :func:`key`) in ``folder`` (default :func:`memo_dir`), else
    ``compute()``, stored there."""
    found, value = fetch(name, folder)
    if found:
        return value  # type: ignore[no-any-return]
    value = compute()
    store(name, value, folder, keep)
    return value
