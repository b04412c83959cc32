"""What a study's corpus holds per case (*held*: readable in its database) beside what INDIGO lists
for it (*listed*: its reading list), and which cases still lack the documents the study counts."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import select

from sibkit.kinds import IDS, INDIGO_RECORD, infer_kind
from sibkit.kinds import label as kind_label
from sibkit.store import Document, DocumentCase, FetchAttempt, Store
from sibkit.study.selection import HeldDocument, document_key


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


def held_document_keys(store: Store) -> dict[str, list[HeldDocument]]:
    """Per case, its readable documents (INDIGO records not counted) with their de-duplication keys
    and kinds (the declared type, else read from the title and address), for
    ``sibkit.study.select(..., extra_documents=...)``."""
    frame = linked_documents(store)
    keys: dict[str, list[HeldDocument]] = {}
    for row in frame.itertuples(index=False):
        if row.status != "ok" or row.doc_type == INDIGO_RECORD:
            continue
        url = row.origin if str(row.origin).startswith(("http://", "https://")) else None
        key = document_key(url, row.title) or f"document:{row.document_id}"
        kind = infer_kind(row.title, url, declared=row.doc_type)
        keys.setdefault(row.case_id, []).append(HeldDocument(key, kind, row.title or ""))
    return keys


#: ``documents``: held (readable in the study's corpus), INDIGO records not counted
STATUS_COLUMNS = ["case_id", "listed_in_indigo", "listed_counted", "documents", "held_counted", "counted", "minimum",
                  "lacking", "problem_documents", "failed_downloads", "held_by_kind"]


def corpus_status(store: Store, case_ids: Sequence[str], min_documents: int = 0,
                  items: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per case: documents *listed* on INDIGO's reading list and *held* (readable in the study's corpus,
    INDIGO records not counted), how many of each the study counts (``items``: the selection's
    ``items``, whose ``counted`` says so; without it every held document counts), documents with
    problems, failed downloads, the held documents by kind, and how many counted documents the case
    still lacks."""
    links = linked_documents(store)
    with store.session() as session:
        attempts = session.execute(select(FetchAttempt.url, FetchAttempt.case_id, FetchAttempt.status,
                                          FetchAttempt.id)).all()
    latest: dict[str, tuple[str | None, str]] = {}
    for url, case_id, status, _id in sorted(attempts, key=lambda a: a[3]):
        latest[url] = (case_id, status)
    by_case: dict[object, list[tuple[object, object, object, object]]] = {}  # per link, grouped once
    for case, status, doc_type, title, origin in zip(links["case_id"], links["status"], links["doc_type"],
                                                     links["title"], links["origin"], strict=True):
        by_case.setdefault(case, []).append((status, doc_type, title, origin))
    failed: dict[object, int] = {}
    for case, status in latest.values():
        if status == "failed":
            failed[case] = failed.get(case, 0) + 1
    listed: dict[object, tuple[int, int, int, int]] = {}
    if items is not None and len(items):
        for case, own in items.groupby("case_id", sort=False):
            is_listed, is_held, counted = own["listed"].astype(bool), own["held"].astype(bool), own["counted"]
            listed[case] = (int(is_listed.sum()), int((is_listed & counted).sum()), int((is_held & counted).sum()),
                            int(counted.sum()))
    rows = []
    for case_id in case_ids:
        own = by_case.get(case_id, [])
        readable = [(doc_type, title, origin) for status, doc_type, title, origin in own
                    if status == "ok" and doc_type != INDIGO_RECORD]
        kinds: dict[str, int] = {}
        for doc_type, title, origin in readable:
            url = str(origin) if str(origin).startswith(("http://", "https://")) else None
            kind = infer_kind(str(title or ""), url, declared=str(doc_type))
            kinds[kind] = kinds.get(kind, 0) + 1
        listed_all, listed_counted, held_counted, counted = listed.get(case_id, (0, 0, len(readable), len(readable)))
        by_kind = sorted(kinds.items(), key=lambda item: IDS.index(item[0]) if item[0] in IDS else len(IDS))
        rows.append({
            "case_id": case_id, "listed_in_indigo": listed_all, "listed_counted": listed_counted,
            "documents": len(readable),
            "held_counted": held_counted, "counted": counted, "minimum": min_documents,
            "lacking": max(0, min_documents - counted),
            "problem_documents": sum(1 for status, *_ in own if status != "ok"),
            "failed_downloads": failed.get(case_id, 0),
            "held_by_kind": "; ".join(f"{kind_label(k)} {n}" for k, n in by_kind),
        })
    return pd.DataFrame(rows, columns=STATUS_COLUMNS)
