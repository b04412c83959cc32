"""Which release a dataset is, and that release written on every output: ``release_of(dataset)``.

Report, CSV sidecars, XLSX workbooks, the web footer, figure cards and ``/api/stats`` all call
``release_of``; a held release (``indigo@2025-05-20``) answers from its manifest, any other source is
dated from the export itself (a date in its name, a zip's file dates) and hashed from its files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from sibkit import __version__
from sibkit.releases.store import Release, content_hash, export_date

#: what the web and the CSV sidecars say the figures rest on
DATASET_TITLE = "GO Lab INDIGO impact bond dataset (Government Outcomes Lab, University of Oxford)"


def release_of(dataset: Any) -> Release:
    """The release ``dataset`` (a ``sibkit.indigo.Dataset``) was loaded from: date, how the date was
    found, source, SHA-256; computed once per dataset."""
    cached = dataset._cache.get("release")
    if cached is None:
        cached = _infer(dataset)
        dataset._cache["release"] = cached
    return cached  # type: ignore[no-any-return]


def _infer(dataset: Any) -> Release:
    source = str(dataset.source)
    found = export_date(source)
    path = Path(source)
    if found is None and path.exists():
        newest = max((p.stat().st_mtime for p in ([path] if path.is_file() else path.glob("*.csv"))), default=None)
        if newest is not None:
            found = (dt.date.fromtimestamp(newest).isoformat(), "date of the newest file: the export states no date")
    if found is None:
        found = (dt.date.today().isoformat(), "date loaded: the source states no release date")
    if path.is_dir():
        from sibkit.indigo.dataset import export_files, export_folder

        digest = content_hash(export_files(export_folder(path)))
    elif path.is_file():
        from sibkit.indigo.dataset import zip_files

        digest = content_hash(zip_files(path))
    else:  # the API, or tables put together in memory: the tables themselves
        sha = hashlib.sha256()
        for name in sorted(dataset.tables):
            sha.update(name.encode() + b"\0" + dataset.tables[name].to_csv(index=False).encode())
        digest = sha.hexdigest()
    return Release(name=found[0], date=found[0], date_from=found[1], source=source, sha256=digest,
                   projects=len(dataset.tables["projects"]) if "projects" in dataset.tables else None)


def about(release: Release, what: str) -> dict[str, Any]:
    """What a written table rests on, as a JSON object (a CSV's sidecar, a workbook's ``about`` sheet)."""
    return {"what": what, "dataset": DATASET_TITLE, "release_date": release.date,
            "release_date_from": release.date_from, "release": release.label, "source": release.source,
            "sha256": release.sha256, "written_by": f"sibkit {__version__}"}


def about_rows(release: Release, what: str) -> list[tuple[str, str]]:
    """``about`` as (field, value) rows in words, for an XLSX sheet or a DOCX table."""
    words = {"what": "What", "dataset": "Dataset", "release_date": "Release date",
             "release_date_from": "Release date from", "release": "Release", "source": "Source",
             "sha256": "SHA-256 of the export", "written_by": "Written by"}
    return [(words[key], str(value)) for key, value in about(release, what).items()]


def csvw_sidecar(release: Release, csv_name: str, what: str, columns: list[str]) -> dict[str, Any]:
    """A CSV's sidecar in the W3C CSV on the Web metadata form (``<name>.csv-metadata.json``, found by
    CSVW tools beside the file): the table, its columns, and the release it rests on (Dublin Core terms)."""
    return {
        "@context": "http://www.w3.org/ns/csvw",
        "url": csv_name,
        "dc:title": what,
        "dc:source": f"{DATASET_TITLE}, release of {release.date}",
        "dc:date": release.date,
        "dc:creator": f"sibkit {__version__}",
        "notes": [about(release, what)],
        "tableSchema": {"columns": [{"name": column, "titles": column} for column in columns]},
    }
