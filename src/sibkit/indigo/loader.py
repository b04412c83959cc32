"""``load(source)``: the one way in to the INDIGO dataset, whatever the source."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from sibkit import paths
from sibkit.errors import DataSourceError
from sibkit.indigo.api import DEFAULT_API, ApiClient
from sibkit.indigo.dataset import (
    Dataset,
    LoadIssue,
    raw_from_folder,
    raw_from_records,
    raw_from_zip,
    type_tables,
    write_export,
)


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def load(source: str | Path | None = None, *, refresh: bool = False, progress: bool = False,
         cache_dir: Path | None = None, allow_private: bool = False) -> Dataset:
    """Load the INDIGO dataset from a CSV export folder, a ``.zip`` of it, or the API's base URL.

    With no source, the user's data cache (filled by ``sibkit data download``) is used.
    API responses are cached on disk (``cache_dir``, default the user's HTTP cache) so a second
    load makes no request; ``refresh`` ignores that cache. An API on a loopback, private or
    link-local address is refused unless ``allow_private``.
    """
    issues: list[LoadIssue] = []
    if source is None:
        folder = paths.indigo_cache_dir()
        if not (folder / "projects.csv").exists():
            raise DataSourceError(f"no INDIGO data in {folder}; run `sibkit data download` "
                                  "(or `--from FOLDER_OR_ZIP`), or pass --data SOURCE")
        raw = raw_from_folder(folder, issues)
        label = str(folder)
    elif isinstance(source, str) and is_url(source):
        client = ApiClient(source, cache_dir if cache_dir is not None else paths.http_cache_dir(),
                           refresh=refresh, progress=progress, allow_private=allow_private)
        try:
            raw = raw_from_records(client.fetch_all(), issues)
        finally:
            client.close()
        label = source
    else:
        path = Path(source)
        if path.is_dir():
            raw = raw_from_folder(path, issues)
        elif path.is_file() and path.suffix.lower() == ".zip":
            raw = raw_from_zip(path, issues)
        elif path.exists():
            raise DataSourceError(f"{path}: expected a folder of CSV files, a .zip of them, or an http(s) URL")
        else:
            raise DataSourceError(f"{path}: no such file or folder")
        label = str(path)
    return Dataset(tables=type_tables(raw, issues), source=label, issues=issues)


def download(source: str | Path | None = None, *, progress: bool = True, refresh: bool = True,
             allow_private: bool = False) -> Path:
    """Fill the user's data cache from the live API (default) or a local folder/zip.

    The cache is written as a CSV export beside a ``manifest.json`` naming the source and date;
    it replaces the previous cache only once complete.
    """
    origin = source if source is not None else DEFAULT_API
    dataset = load(origin, refresh=refresh, progress=progress, allow_private=allow_private)
    target = paths.indigo_cache_dir()
    staging = target.with_name(target.name + ".new")
    if staging.exists():
        shutil.rmtree(staging)
    write_export(dataset, staging)
    manifest = {
        "source": str(origin),
        "downloaded": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "projects": len(dataset.projects),
        "issues": [str(issue) for issue in dataset.issues],
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    staging.replace(target)
    return target
