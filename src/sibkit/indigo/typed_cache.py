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
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sibkit import memo, paths

if TYPE_CHECKING:
    import pandas as pd

    from sibkit.indigo.dataset import LoadIssue

KEEP = 4  # entries kept; older ones are removed when a new one is written
_TYPING_MODULES = tuple(f"sibkit.indigo.{name}" for name in ("dataset", "values", "_fields", "typed_cache"))

Typed = tuple[dict[str, "pd.DataFrame"], list["LoadIssue"]]


def cache_dir() -> Path:
    return paths.data_dir() / "typed-cache"


def _code_fingerprint() -> hashlib._Hash:
    import pandas

    digest = hashlib.sha256()
    digest.update(repr((sys.version, pandas.__version__)).encode())
    # pycountry's country list types the country columns (its installed files stand for its version)
    memo.stamp(_TYPING_MODULES, ("pycountry",), digest)
    return digest


def fingerprint(kind: str, files: dict[str, bytes | None]) -> str:
    """The entry name for an export of ``kind`` (``folder``, ``zip``) holding ``files`` (name → bytes)."""
    digest = _code_fingerprint()
    digest.update(kind.encode() + b"\0")
    for name in sorted(files):
        data = files[name]
        digest.update(name.encode() + b"\0" + (b"-" if data is None else b"+%d\0" % len(data) + data))
    return digest.hexdigest()


def typed_tables(key: str, build: Callable[[], Typed]) -> Typed:
    """The typed tables of the export whose :func:`fingerprint` is ``key``, else ``build()`` (then stored;
    a folder that cannot be written just means no cache)."""
    return memo.memoised(key, build, cache_dir(), KEEP)


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
