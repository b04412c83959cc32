"""A study's corpus: documents imported, extracted, fetched, de-duplicated and linked to cases."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from sibkit.corpus.extract import Extracted, extract
from sibkit.corpus.fetch import FetchSettings, fetch_reading_list
from sibkit.corpus.importer import ImportOutcome, ImportReport, add_file, add_paths, check_type, read_manifest
from sibkit.corpus.indigo_records import add_indigo_records, record_text
from sibkit.corpus.status import corpus_status, held_document_keys, linked_documents
from sibkit.store import Store, open_store
from sibkit.study import Study, distinct_documents, select


def open_study_store(study: Study) -> Store:
    """The study's database, created and migrated on first use."""
    return open_store(study.database_url())


def min_documents(study: Study) -> int:
    """The study's ``min_documents`` selection threshold (0 when it has none)."""
    return max([step.min_documents for step in study.selection if step.min_documents is not None], default=0)


def selected_cases(study: Study, store: Store) -> list[str]:
    """The study's selected cases, counting the documents its corpus already holds."""
    return select(study, extra_documents=held_document_keys(store)).selected


def candidate_cases(study: Study) -> set[str]:
    return set(study.dataset().projects["id"])


def reading_list_items(study: Study, case_ids: Sequence[str]) -> list[dict[str, object]]:
    """One item per distinct URL on the selected cases' reading lists, with every case it serves."""
    items: dict[str, dict[str, object]] = {}
    for case_id in case_ids:
        for row in distinct_documents(study.dataset(), case_id).to_dict("records"):
            url = row["url"]
            if not url or not str(url).startswith(("http://", "https://")):
                continue
            item = items.setdefault(row["key"], {"url": url, "title": row["title"] or "", "case_ids": []})
            item["case_ids"].append(case_id)  # type: ignore[union-attr]
    return list(items.values())


def fetch(study: Study, store: Store, *, settings: FetchSettings | None = None, cache_dir: Path | None = None,
          progress: Callable[[], None] | None = None) -> list[ImportOutcome]:
    items = reading_list_items(study, selected_cases(study, store))
    from sibkit import paths

    cache = cache_dir or paths.data_dir() / "fetch-cache"
    return fetch_reading_list(store, items, cache, settings, progress)


def status(study: Study, store: Store) -> pd.DataFrame:
    return corpus_status(store, selected_cases(study, store), min_documents(study))


__all__ = ["Extracted", "FetchSettings", "ImportOutcome", "ImportReport", "add_file", "add_indigo_records",
           "add_paths", "candidate_cases", "check_type", "corpus_status", "extract", "fetch", "fetch_reading_list",
           "held_document_keys", "linked_documents", "min_documents", "open_study_store", "read_manifest",
           "reading_list_items", "record_text", "selected_cases", "status"]
