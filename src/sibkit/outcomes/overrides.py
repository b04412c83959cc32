"""The passages of corpus documents that manual overrides point to (document and page)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from sibkit.store import Store
from sibkit.store.models import Document, DocumentCase

PASSAGE_LIMIT = 1200


def _find(session: Session, reference: str) -> Document | None:
    """A document by id, SHA-256 (or a prefix of at least 8 characters) or exact title (case ignored)."""
    if reference.isdigit():
        found = session.get(Document, int(reference))
        if found is not None:
            return found
    lowered = reference.lower()
    if len(lowered) >= 8 and all(c in "0123456789abcdef" for c in lowered):
        matches = session.scalars(select(Document).where(Document.sha256.startswith(lowered))).all()
        if len(matches) == 1:
            return matches[0]
    matches = [d for d in session.scalars(select(Document)).all() if d.title.strip().lower() == lowered]
    return matches[0] if len(matches) == 1 else None


def page_text(document: Document, page: int) -> str | None:
    """The text of a 1-based page (None when the document has no such page)."""
    starts = list(document.pages or [])
    if not starts:
        return document.text if page == 1 else None
    if not 1 <= page <= len(starts):
        return None
    end = starts[page] if page < len(starts) else len(document.text)
    return document.text[starts[page - 1]:end]


def override_passages(store: Store, cases: pd.DataFrame) -> tuple[list[dict[str, object]], list[str]]:
    """For each override naming a document: the document, page and passage; problems as warnings."""
    passages, warnings = [], []
    wanted = cases[cases["overridden"].astype(bool)] if "override_document" in cases.columns else cases.iloc[0:0]
    with store.session() as session:
        for row in wanted.to_dict("records"):
            reference = row.get("override_document")
            if not isinstance(reference, str) or not reference.strip():
                continue
            document = _find(session, reference.strip())
            if document is None:
                warnings.append(f"override for {row['case_id']}: document {reference!r} is not held in the corpus "
                                "(give its id, SHA-256 or exact title)")
                continue
            linked = session.scalar(select(DocumentCase).where(DocumentCase.document_id == document.id,
                                                               DocumentCase.case_id == row["case_id"]))
            if linked is None:
                warnings.append(f"override for {row['case_id']}: document {document.id} ({document.title}) is not "
                                "linked to that case")
            page = row.get("override_page")
            page = int(page) if page is not None and page == page else None
            text = page_text(document, page) if page is not None else None
            if page is not None and text is None:
                warnings.append(f"override for {row['case_id']}: document {document.id} has no page {page}")
            text = " ".join((text or "").split())
            quote = row.get("override_quote")
            quote = " ".join(quote.split()) if isinstance(quote, str) and quote.strip() else None
            if quote and text and quote.casefold() not in text.casefold():
                warnings.append(f"override for {row['case_id']}: the quote is not on page {page} of document "
                                f"{document.id} ({quote[:60]}{'…' if len(quote) > 60 else ''})")
            passages.append({"case_id": row["case_id"], "class": row["class"], "reason": row.get("override_reason"),
                             "document_id": document.id, "title": document.title, "page": page, "quote": quote,
                             "passage": text[:PASSAGE_LIMIT] + ("…" if len(text) > PASSAGE_LIMIT else "")})
    return passages, warnings
