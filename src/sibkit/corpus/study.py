"""The corpus of one study: its database, its selected cases, their reading lists."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from sibkit.corpus.fetch import FetchSettings, fetch_reading_list
from sibkit.corpus.importer import ImportOutcome
from sibkit.corpus.status import corpus_status, held_document_keys
from sibkit.errors import SibkitError
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


def check_case_id(study: Study, case_id: str, option: str = "--case") -> str:
    """``case_id`` when the dataset has that project; else one clear error naming it."""
    if case_id not in candidate_cases(study):
        raise SibkitError(f"{option} {case_id!r}: no such project in the dataset "
                          "(project ids look like INDIGO-POJ-0001; see `sibkit select STUDY`)")
    return case_id


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


def fetch_study(study: Study, store: Store, *, settings: FetchSettings | None = None, cache_dir: Path | None = None,
          progress: Callable[[int, int], None] | None = None) -> list[ImportOutcome]:
    items = reading_list_items(study, selected_cases(study, store))
    from sibkit import paths

    cache = cache_dir or paths.data_dir() / "fetch-cache"
    return fetch_reading_list(store, items, cache, settings, progress)


def study_status(study: Study, store: Store) -> pd.DataFrame:
    return corpus_status(store, selected_cases(study, store), min_documents(study))
