"""Where sibkit keeps its data and caches (platform data dir, overridable by SIBKIT_DATA), and the rule for
paths given to it: a file named in a folder must really be in that folder."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from sibkit.errors import SibkitError


def data_dir() -> Path:
    """The user's sibkit data folder: ``$SIBKIT_DATA`` or the platform's user data dir."""
    override = os.environ.get("SIBKIT_DATA")
    return Path(override) if override else Path(platformdirs.user_data_dir("sibkit"))


def indigo_cache_dir() -> Path:
    """Folder holding the downloaded INDIGO dataset as a CSV export."""
    return data_dir() / "indigo"


def http_cache_dir() -> Path:
    """Folder holding cached HTTP responses (API pages)."""
    return data_dir() / "http-cache"


def inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (both already resolved)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def link_target_outside(path: Path) -> str | None:
    """Where ``path`` really leads when a symlink takes it out of the folder it is named in, else None.

    Links in the folders above are fine (``corpus/`` itself may be a link to another disk): only the last
    step is judged, the file against its own folder, both with every link resolved."""
    folder = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    real = os.path.realpath(path)
    return None if inside(real, folder) else real


def check_link(path: Path, option: str = "--follow-links") -> None:
    """Refuse a file named directly (on the command line, in a study file) that a symlink leads out of its
    folder, with one line saying where it leads and how to allow it (``option``)."""
    target = link_target_outside(path)
    if target is not None:
        raise SibkitError(f"{path}: a link to {target}, outside the folder it is named in; not read "
                          f"({option} reads it)")
