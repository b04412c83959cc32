"""``load(source)``: the one way in to the INDIGO dataset, whatever the source."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sibkit import paths
from sibkit.errors import DataSourceError, SibkitError
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
    zip_files,
)
from sibkit.releases import store as releases

if TYPE_CHECKING:
    from sibkit.releases.store import Release


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def load(source: str | Path | None = None, *, refresh: bool = False, progress: bool = False,
         cache_dir: Path | None = None, allow_private: bool = False) -> Dataset:
    """Load the INDIGO dataset from a CSV export folder, a ``.zip`` of it, or the API's base URL.

    With no source (or ``latest``), the newest release held in the user's data folder (filled by
    ``sibkit data download``); ``indigo@2025-05-20`` names a held release by its date.
    API responses are cached on disk (``cache_dir``, default the user's HTTP cache) so a second
    load makes no request; ``refresh`` ignores that cache. An API on a loopback, private or
    link-local address is refused unless ``allow_private``.
    """
    issues: list[LoadIssue] = []
    if source is None or releases.is_release_spec(source):
        try:
            release = releases.resolve(source)  # type: ignore[arg-type]
        except SibkitError as exc:
            raise DataSourceError(str(exc)) from None
        return load_held(release)
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


def load_held(release: Release) -> Dataset:
    """A held release (``sibkit.releases.store.held()``), whatever ``$SIBKIT_DATA`` says now."""
    if release.folder is None:
        raise DataSourceError(f"{release.label} is not a held release")
    dataset = _from_folder(release.folder, release.label)
    dataset._cache["release"] = release  # see sibkit.releases.release_of
    return dataset


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
             allow_private: bool = False, date: str | None = None) -> Path:
    """Keep a new INDIGO release from the live API (default) or a local folder/zip; its folder.

    See ``download_release``."""
    release, _new = download_release(source, progress=progress, refresh=refresh, allow_private=allow_private,
                                     date=date)
    assert release.folder is not None
    return release.folder


def download_release(source: str | Path | None = None, *, progress: bool = True, refresh: bool = True,
                     allow_private: bool = False, date: str | None = None) -> tuple[Release, bool]:
    """Keep the INDIGO dataset from ``source`` as a release in the user's data folder (``sibkit.releases``).

    The release is dated by ``date`` when given, else by the export itself (a date in its name, a zip's
    file dates), else by today's date (the API publishes no release date). An identical export already
    held is not stored twice; a release is never overwritten. Returns the release and whether it is new.
    """
    import datetime as dt

    from sibkit.indigo.api import DEFAULT_API

    if date is not None:
        try:
            date = dt.date.fromisoformat(date).isoformat()
        except ValueError:
            raise SibkitError(f"--date {date!r}: expected a date as YYYY-MM-DD") from None
    origin = source if source is not None else DEFAULT_API
    dataset = load(origin, refresh=refresh, progress=progress, allow_private=allow_private)
    found = (date, "given when downloaded") if date else releases.export_date(origin)
    downloaded = releases.now()
    if found is None:
        found = (downloaded[:10], "download date")
    where = str(origin) if is_url(str(origin)) else str(Path(origin).resolve())
    manifest = {"date": found[0], "date_from": found[1], "source": where, "downloaded": downloaded,
                "projects": len(dataset.projects), "issues": [str(issue) for issue in dataset.issues]}

    def write(folder: Path) -> None:
        if not _copy_original(origin, folder):
            write_export(dataset, folder)

    return releases.store(write, manifest)


def _copy_original(origin: str | Path, folder: Path) -> bool:
    """A local export kept byte for byte (GO Lab's own files, the ones the loader reads); False for the API."""
    if is_url(str(origin)):
        return False
    path = Path(origin)
    files = export_files(export_folder(path)) if path.is_dir() else zip_files(path)
    for name, data in files.items():
        if data is not None:
            (folder / name).write_bytes(data)
    return True
