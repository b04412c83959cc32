"""The corpus of one study: its database, its selected cases, their reading lists."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sibkit.corpus.importer import ImportOutcome
from sibkit.corpus.status import corpus_status, held_document_keys
from sibkit.errors import SibkitError
from sibkit.store import Store, open_store
from sibkit.study import Study, distinct_documents, select

if TYPE_CHECKING:  # the network client (httpx) loads only when a study fetches
    from sibkit.corpus.fetch import FetchSettings
    from sibkit.corpus.gather import Item


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


def check_case_ids(study: Study, case_ids: Iterable[str], option: str = "--case") -> set[str]:
    """The dataset's project ids, once every one of ``case_ids`` is among them; else, before anything is
    imported, one clear error naming the first it lacks."""
    known = candidate_cases(study)
    unknown = [case_id for case_id in case_ids if case_id not in known]
    if unknown:
        raise SibkitError(f"{option} {unknown[0]!r} is not a project in the study's dataset; nothing imported")
    return known


def check_case_id(study: Study, case_id: str, option: str = "--case") -> str:
    """``case_id`` when the dataset has that project; else one clear error naming it."""
    if case_id not in candidate_cases(study):
        raise SibkitError(f"{option} {case_id!r}: no such project in the dataset "
                          "(project ids look like INDIGO-POJ-0001; see `sibkit select STUDY`)")
    return case_id


def reading_list_items(study: Study, case_ids: Sequence[str]) -> list[dict[str, object]]:
    """One item per distinct URL on the selected cases' reading lists, with every case it serves
    (url, title, case_ids, archive_url, kind: a ``sibkit.kinds`` id)."""
    items: dict[str, dict[str, object]] = {}
    for case_id in case_ids:
        for row in distinct_documents(study.dataset(), case_id).to_dict("records"):
            url = row["url"]
            if not url or not str(url).startswith(("http://", "https://")):
                continue
            archive = row.get("archive_url")
            item = items.setdefault(row["key"], {
                "url": url, "title": row["title"] or "", "case_ids": [],
                "archive_url": archive if isinstance(archive, str) and archive.startswith(("http://", "https://"))
                else None,
                "kind": row["kind"]})
            item["case_ids"].append(case_id)  # type: ignore[union-attr]
    return list(items.values())


def study_items(study: Study, store: Store) -> list[Item]:
    """The selected cases' reading list as items to gather."""
    from sibkit.corpus.gather import Item

    return [Item(url=str(i["url"]), title=str(i["title"]), case_ids=list(i["case_ids"]),  # type: ignore[call-overload]
                 archive_url=i["archive_url"], kind=str(i["kind"]))  # type: ignore[arg-type]
            for i in reading_list_items(study, selected_cases(study, store))]


def fetch_study(study: Study, store: Store, *, settings: FetchSettings | None = None, cache_dir: Path | None = None,
                refresh: bool = False, progress: Callable[[int, int], None] | None = None) -> list[ImportOutcome]:
    """Gather the selected cases' reading list (landing pages followed, archive copies, login walls,
    robots.txt; see :mod:`sibkit.corpus.gather`), resuming where an earlier run stopped."""
    from sibkit import paths
    from sibkit.corpus.gather import gather_items

    cache = cache_dir or paths.data_dir() / "fetch-cache"
    return gather_items(store, study_items(study, store), cache, study.corpus.fetch, settings=settings,
                        refresh=refresh, progress=progress)


def fetch_plan(study: Study, store: Store) -> pd.DataFrame:
    """What ``fetch_study`` would do with each listed URL, and why (no network)."""
    from sibkit.corpus.gather import plan

    return plan(store, study_items(study, store), study.corpus.fetch)


def study_status(study: Study, store: Store) -> pd.DataFrame:
    """``corpus_status`` of the selected cases: listed (INDIGO) and held (the corpus), and what counts."""
    selection = select(study, extra_documents=held_document_keys(store))
    return corpus_status(store, selection.selected, min_documents(study), selection.items)
