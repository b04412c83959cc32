"""Where sibkit keeps its data and caches (platform data dir, overridable by SIBKIT_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


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
