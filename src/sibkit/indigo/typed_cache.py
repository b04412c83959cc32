"""The typed tables of a local CSV export (folder or ``.zip``), kept in the user's data folder so that
loading the same export again skips parsing and typing (about a second for GO Lab's 319 projects).

An entry is named by a fingerprint of everything the typed tables depend on: the export's bytes (every
file the loader reads), sibkit's version, the source of the modules that parse and type them, and the
versions of Python, pandas and pycountry. A changed export or a changed loader therefore finds no entry;
nothing ever has to be invalidated. Entries are stored by ``sibkit.memo`` (pickles in the user's own data
folder, read back only after their header and fingerprint match; anything unreadable is rebuilt); the
newest few are kept.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sibkit import __version__, memo, paths

if TYPE_CHECKING:
    import pandas as pd

    from sibkit.indigo.dataset import LoadIssue

KEEP = 4  # entries kept; older ones are removed when a new one is written
_TYPING_MODULES = ("dataset.py", "values.py", "_fields.py", "typed_cache.py")

Typed = tuple[dict[str, "pd.DataFrame"], list["LoadIssue"]]


def cache_dir() -> Path:
    return paths.data_dir() / "typed-cache"


def _code_fingerprint() -> hashlib._Hash:
    import importlib.util

    import pandas

    digest = hashlib.sha256()
    digest.update(repr((__version__, sys.version, pandas.__version__)).encode())
    # pycountry's country list types the country columns; importing it just for its version is slow, so
    # its installed files stand for it (a new release is a new file)
    countries = importlib.util.find_spec("pycountry")
    if countries is not None and countries.origin:
        stat = os.stat(countries.origin)
        digest.update(f"{countries.origin}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    here = Path(__file__).parent
    for name in _TYPING_MODULES:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes())
    return digest


def fingerprint(kind: str, files: dict[str, bytes | None]) -> str:
    """The entry name for an export of ``kind`` (``folder``, ``zip``) holding ``files`` (name → bytes)."""
    digest = _code_fingerprint()
    digest.update(kind.encode() + b"\0")
    for name in sorted(files):
        data = files[name]
        digest.update(name.encode() + b"\0" + (b"-" if data is None else b"+%d\0" % len(data) + data))
    return digest.hexdigest()


def read(key: str) -> Typed | None:
    """The typed tables and load issues stored under ``key``, or None (absent, damaged, another format)."""
    found, value = memo.fetch(key, cache_dir())
    return value if found else None


def write(key: str, typed: Typed) -> None:
    """Store an entry atomically; a folder that cannot be written just means no cache."""
    memo.store(key, typed, cache_dir(), keep=KEEP)


def typed_tables(key: str, build: Callable[[], Typed]) -> Typed:
    """The typed tables of the export whose :func:`fingerprint` is ``key``, else ``build()`` (then stored)."""
    cached = read(key)
    if cached is not None:
        return cached
    typed = build()
    write(key, typed)
    return typed


def content_key(dataset: Any) -> str | None:
    """The fingerprint of the export ``dataset`` was loaded from, while its tables are still the ones
    loaded (None for a dataset from the API or put together otherwise): results computed from it alone
    may be memoised under it."""
    entry = dataset._cache.get("content_key")
    if entry is None:
        return None
    key, frames = entry
    tables = dataset.tables
    if tables.keys() != frames.keys() or any(tables[name] is not frame for name, frame in frames.items()):
        return None
    return key  # type: ignore[no-any-return]
