"""``load(source)``: the one way in to the INDIGO dataset, whatever the source."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

from sibkit import paths
from sibkit.errors import DataSourceError
from sibkit.indigo import typed_cache
from sibkit.indigo.dataset import (
    Dataset,
    LoadIssue,
    export_files,
    export_folder,
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
        return _from_folder(folder, str(folder))
    if isinstance(source, str) and is_url(source):
        from sibkit.indigo.api import ApiClient  # the network client only when a URL is given

        client = ApiClient(source, cache_dir if cache_dir is not None else paths.http_cache_dir(),
                           refresh=refresh, progress=progress, allow_private=allow_private)
        try:
            raw = raw_from_records(client.fetch_all(), issues)
        finally:
            client.close()
        return Dataset(tables=type_tables(raw, issues), source=source, issues=issues)
    path = Path(source)
    if path.is_dir():
        return _from_folder(path, str(path))
    if path.is_file() and path.suffix.lower() == ".zip":
        return _from_zip(path)
    if path.exists():
        raise DataSourceError(f"{path}: expected a folder of CSV files, a .zip of them, or an http(s) URL")
    raise DataSourceError(f"{path}: no such file or folder")


def _from_folder(path: Path, label: str) -> Dataset:
    """A CSV export folder, typed once per content (``typed_cache``)."""
    folder = export_folder(path)
    files = export_files(folder)

    def build() -> typed_cache.Typed:
        issues: list[LoadIssue] = []
        return type_tables(raw_from_folder(folder, issues, files), issues), issues

    return _typed(typed_cache.fingerprint("folder", files), build, label)


def _from_zip(path: Path) -> Dataset:
    """A zipped CSV export, typed once per content (``typed_cache``, keyed by the zip's SHA-256)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)

    def build() -> typed_cache.Typed:
        issues: list[LoadIssue] = []
        return type_tables(raw_from_zip(path, issues), issues), issues

    return _typed(typed_cache.fingerprint("zip", {"sha256": digest.digest()}), build, str(path))


def _typed(key: str, build: Callable[[], typed_cache.Typed], label: str) -> Dataset:
    tables, issues = typed_cache.typed_tables(key, build)
    dataset = Dataset(tables=tables, source=label, issues=issues)
    dataset._cache["content_key"] = (key, dict(tables))  # see typed_cache.content_key
    return dataset


def download(source: str | Path | None = None, *, progress: bool = True, refresh: bool = True,
             allow_private: bool = False) -> Path:
    """Fill the user's data cache from the live API (default) or a local folder/zip.

    The cache is written as a CSV export beside a ``manifest.json`` naming the source and date;
    it replaces the previous cache only once complete.
    """
    from sibkit.indigo.api import DEFAULT_API

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
