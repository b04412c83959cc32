"""What a study's corpus holds per case, and which cases still lack documents."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import select

from sibkit.store import DOCUMENT_TYPES, Document, DocumentCase, FetchAttempt, Store
from sibkit.study.selection import document_key


def linked_documents(store: Store) -> pd.DataFrame:
    """One row per (document, case) link: document_id, case_id, title, doc_type, origin, status, words."""
    with store.session() as session:
        rows = session.execute(
            select(DocumentCase.case_id, Document.id, Document.title, Document.doc_type, Document.origin,
                   Document.status, Document.word_count, Document.date)
            .join(Document, Document.id == DocumentCase.document_id)
            .order_by(DocumentCase.case_id, Document.id)).all()
    return pd.DataFrame(rows, columns=["case_id", "document_id", "title", "doc_type", "origin", "status", "words",
                                       "date"])


def held_document_keys(store: Store) -> dict[str, set[str]]:
    """Per case, the de-duplication keys of its readable documents (INDIGO records not counted),
    for ``sibkit.study.select(..., extra_documents=...)``."""
    frame = linked_documents(store)
    keys: dict[str, set[str]] = {}
    for row in frame.itertuples(index=False):
        if row.status != "ok" or row.doc_type == "indigo_record":
            continue
        url = row.origin if str(row.origin).startswith(("http://", "https://")) else None
        key = document_key(url, row.title) or f"document:{row.document_id}"
        keys.setdefault(row.case_id, set()).add(key)
    return keys


def corpus_status(store: Store, case_ids: Sequence[str], min_documents: int = 0) -> pd.DataFrame:
    """Per case: readable documents by type, documents with problems, failed downloads, and
    whether the case still lacks the minimum (INDIGO records are not counted toward it)."""
    links = linked_documents(store)
    with store.session() as session:
        attempts = session.execute(select(FetchAttempt.url, FetchAttempt.case_id, FetchAttempt.status,
                                          FetchAttempt.id)).all()
    latest: dict[str, tuple[str | None, str]] = {}
    for url, case_id, status, _id in sorted(attempts, key=lambda a: a[3]):
        latest[url] = (case_id, status)
    by_case: dict[object, list[tuple[object, object]]] = {}  # (status, doc_type) per link, grouped once
    for case, status, doc_type in zip(links["case_id"], links["status"], links["doc_type"], strict=True):
        by_case.setdefault(case, []).append((status, doc_type))
    failed: dict[object, int] = {}
    for case, status in latest.values():
        if status == "failed":
            failed[case] = failed.get(case, 0) + 1
    rows = []
    for case_id in case_ids:
        own = by_case.get(case_id, [])
        readable = [doc_type for status, doc_type in own if status == "ok"]
        entry: dict[str, object] = {"case_id": case_id}
        for doc_type in DOCUMENT_TYPES:
            entry[doc_type] = sum(1 for kind in readable if kind == doc_type)
        entry["documents"] = sum(1 for kind in readable if kind != "indigo_record")
        entry["problem_documents"] = sum(1 for status, _ in own if status != "ok")
        entry["failed_downloads"] = failed.get(case_id, 0)
        entry["lacking"] = max(0, min_documents - int(entry["documents"]))  # type: ignore[call-overload]
        rows.append(entry)
    return pd.DataFrame(rows)
