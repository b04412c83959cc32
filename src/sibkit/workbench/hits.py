"""What the workbench reads and writes: the review queue, a hit in its sentence and paragraph, decisions,
undo, manual references, memos and the study-wide settings.

Every decision is an appended ``ReviewDecision`` row naming the same coder's decision it follows
(``previous_id``); undo appends too (the decision it restores, or ``clear``, noted ``undo``). A coder's
standing decision on a reference is their latest row (by time, then id), as in the XLSX loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from sibkit.errors import SibkitError
from sibkit.store import Document, DocumentCase, Memo, Reference, ReviewDecision, Store, WorkbenchSetting
from sibkit.store.models import MEMO_TARGETS, Suggestion

STATUSES = ("unreviewed", "accepted", "rejected", "recoded", "all")
ORIGINS = ("auto", "semantic", "manual")
DECISIONS = ("accept", "reject", "recode")
CONTEXT = 1500  # characters read either side of a hit for its paragraph
_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"[.!?][\"')\]\u201d\u2019]*\s+")
_STATUS_DECISION = {"accepted": "accept", "rejected": "reject", "recoded": "recode"}


@dataclass(frozen=True)
class Filters:
    """The queue's filters; ``coder`` is whose decisions ``status`` reads."""

    theme: str = ""
    case: str = ""
    status: str = "unreviewed"
    origin: str = ""
    coder: str = ""

    def query(self) -> dict[str, str]:
        return {k: v for k, v in (("theme", self.theme), ("case", self.case), ("status", self.status),
                                  ("origin", self.origin), ("coder", self.coder)) if v}


def standing(coder: str | None = None) -> Any:
    """Subquery: each coder's latest decision per reference (reference_id, coder, id, decision, new_theme)."""
    rank = func.row_number().over(partition_by=(ReviewDecision.reference_id, ReviewDecision.coder),
                                  order_by=(ReviewDecision.decided_at.desc(), ReviewDecision.id.desc()))
    inner = select(ReviewDecision.reference_id, ReviewDecision.coder, ReviewDecision.id, ReviewDecision.decision,
                   ReviewDecision.new_theme, rank.label("rank"))
    if coder is not None:
        inner = inner.where(ReviewDecision.coder == coder)
    inner = inner.subquery()
    return select(inner.c.reference_id, inner.c.coder, inner.c.id, inner.c.decision,
                  inner.c.new_theme).where(inner.c.rank == 1).subquery()


def _filtered(query: Any, filters: Filters) -> Any:
    """``query`` over references narrowed by the filters (status: by ``filters.coder``'s standing decisions)."""
    if filters.theme:
        query = query.where(Reference.theme == filters.theme)
    if filters.origin:
        query = query.where(Reference.origin == filters.origin)
    if filters.case:
        query = query.where(Reference.document_id.in_(
            select(DocumentCase.document_id).where(DocumentCase.case_id == filters.case)))
    if filters.status != "all":
        mine = standing(filters.coder)
        if filters.status == "unreviewed":
            query = query.where(Reference.id.not_in(select(mine.c.reference_id).where(mine.c.decision != "clear")))
        else:
            query = query.where(Reference.id.in_(select(mine.c.reference_id).where(
                mine.c.decision == _STATUS_DECISION[filters.status])))
    return query


def _suggestion_rank() -> Any:
    """A suggestion's place in the queue: the score learned from review where its theme has one, else
    the similarity score (higher first)."""
    return func.coalesce(Suggestion.rank_score, Suggestion.score, 0.0)


def next_reference(store: Store, filters: Filters, after: int = 0) -> int | None:
    """The first reference of the queue after reference ``after`` (0: from the start).

    Queue order: keyword and manual hits by id (an index scan), then suggestions best first, ties by id.
    """
    rank = _suggestion_rank()
    with store.session() as session:
        position = session.execute(
            select(Reference.origin, rank).select_from(Reference)
            .outerjoin(Suggestion, Suggestion.reference_id == Reference.id).where(Reference.id == after)
        ).first() if after else None
        suggestions = (select(Reference.id).outerjoin(Suggestion, Suggestion.reference_id == Reference.id)
                       .where(Reference.origin == "semantic").order_by(rank.desc(), Reference.id).limit(1))
        if position is None or position[0] != "semantic":
            keyword = (select(Reference.id).where(Reference.origin != "semantic", Reference.id > after)
                       .order_by(Reference.id).limit(1))
            found = session.scalar(_filtered(keyword, filters))
            if found is not None:
                return found
        else:
            score = position[1]
            suggestions = suggestions.where(or_(rank < score, and_(rank == score, Reference.id > after)))
        return session.scalar(_filtered(suggestions, filters))


def total_references(store: Store, filters: Filters) -> int:
    """References the filters select, whatever their status."""
    overall = Filters(theme=filters.theme, case=filters.case, origin=filters.origin, status="all")
    with store.session() as session:
        return int(session.scalar(_filtered(select(func.count(Reference.id)), overall)) or 0)


def decided_count(store: Store, filters: Filters, coder: str) -> int:
    """How many of the references the filters select (whatever their status) ``coder`` has decided."""
    overall = Filters(theme=filters.theme, case=filters.case, origin=filters.origin, status="all")
    mine = standing(coder)
    decided = select(func.count()).select_from(mine).join(Reference, Reference.id == mine.c.reference_id).where(
        mine.c.decision != "clear")
    with store.session() as session:
        return int(session.scalar(_filtered(decided, overall)) or 0)


def progress(store: Store, filters: Filters, coder: str) -> tuple[int, int]:
    """(references the filters select, ignoring status; how many of them ``coder`` has decided)."""
    return total_references(store, filters), decided_count(store, filters, coder)


def progress_by(store: Store, coder: str, by: str) -> list[dict[str, Any]]:
    """Per theme (``by="theme"``) or per case: references, decided by ``coder``, decided by anyone."""
    mine = standing(coder)
    anyone = standing()
    key = Reference.theme if by == "theme" else DocumentCase.case_id

    def counted(query: Any) -> dict[str, int]:
        if by != "theme":
            query = query.join(DocumentCase, DocumentCase.document_id == Reference.document_id)
        with store.session() as session:
            return dict(session.execute(query.group_by(key)).all())  # type: ignore[arg-type]

    totals = counted(select(key, func.count(Reference.id)))
    own = counted(select(key, func.count(Reference.id)).join(mine, mine.c.reference_id == Reference.id)
                  .where(mine.c.decision != "clear"))
    decided = select(anyone.c.reference_id).where(anyone.c.decision != "clear").distinct().subquery()
    shared = counted(select(key, func.count(Reference.id)).join(decided, decided.c.reference_id == Reference.id))
    return [{"key": k, "total": totals[k], "mine": own.get(k, 0), "anyone": shared.get(k, 0)} for k in sorted(totals)]


# ---------------------------------------------------------------------------------------------
# one hit in context


@dataclass
class Hit:
    reference_id: int
    document_id: int
    title: str
    doc_type: str
    page: int | None
    theme: str
    term: str
    origin: str
    start: int
    end: int
    case_ids: list[str]
    paragraph_before: str = ""
    sentence_before: str = ""
    text: str = ""
    sentence_after: str = ""
    paragraph_after: str = ""
    decisions: list[dict[str, Any]] = field(default_factory=list)
    score: float | None = None  # a suggestion's score, where references carry one


def _cut(before: str, after: str) -> tuple[int, int]:
    """Where the paragraph around the gap between ``before`` and ``after`` starts (in before) and ends (in after)."""
    starts = [m.end() for m in _PARAGRAPH.finditer(before)]
    end_match = _PARAGRAPH.search(after)
    return (starts[-1] if starts else 0), (end_match.start() if end_match else len(after))


def hit_in_context(store: Store, reference_id: int) -> Hit | None:
    """A reference with its sentence and paragraph (read with SQL substr: the document stays in the database)."""
    with store.session() as session:
        row = session.execute(select(Reference, Document.title, Document.doc_type).join(
            Document, Document.id == Reference.document_id).where(Reference.id == reference_id)).first()
        if row is None:
            return None
        reference, title, doc_type = row
        first = max(0, reference.start - CONTEXT)
        window = session.scalar(select(func.substr(Document.text, first + 1, reference.end + CONTEXT - first))
                                .where(Document.id == reference.document_id)) or ""
        case_ids = sorted(session.scalars(select(DocumentCase.case_id).where(
            DocumentCase.document_id == reference.document_id)))
        decisions = _decisions_on(session, reference_id)
    before, text, after = (window[:reference.start - first], window[reference.start - first:reference.end - first],
                           window[reference.end - first:])
    paragraph_start, paragraph_end = _cut(before, after)
    before, after = before[paragraph_start:], after[:paragraph_end]
    sentence_starts = [m.end() for m in _SENTENCE_END.finditer(before)]
    sentence_start = sentence_starts[-1] if sentence_starts else 0
    sentence_match = _SENTENCE_END.search(after)
    sentence_end = sentence_match.end() if sentence_match else len(after)
    return Hit(reference.id, reference.document_id, title, doc_type, reference.page, reference.theme, reference.term,
               reference.origin, reference.start, reference.end, case_ids,
               paragraph_before=before[:sentence_start], sentence_before=before[sentence_start:], text=text,
               sentence_after=after[:sentence_end], paragraph_after=after[sentence_end:], decisions=decisions,
               score=getattr(reference, "score", None))


def _decisions_on(session: Session, reference_id: int) -> list[dict[str, Any]]:
    latest = standing()
    rows = session.execute(select(latest.c.coder, latest.c.decision, latest.c.new_theme, ReviewDecision.decided_at)
                           .join(ReviewDecision, ReviewDecision.id == latest.c.id)
                           .where(latest.c.reference_id == reference_id, latest.c.decision != "clear")
                           .order_by(latest.c.coder)).all()
    return [{"coder": c, "decision": d, "new_theme": n, "decided_at": t} for c, d, n, t in rows]


def document_segments(store: Store, document_id: int, focus: int | None) -> tuple[Document, list[dict[str, Any]]]:
    """The whole text cut at every reference boundary: [{text, themes, focus}] (themes empty: not coded)."""
    with store.session() as session:
        document = session.get(Document, document_id)
        if document is None:
            raise SibkitError(f"no document {document_id}")
        spans = session.execute(select(Reference.id, Reference.start, Reference.end, Reference.theme)
                                .where(Reference.document_id == document_id)).all()
        session.expunge(document)
    text = document.text
    cuts = sorted({0, len(text), *(s for _, s, _, _ in spans), *(e for _, _, e, _ in spans)})
    opening: dict[int, list[tuple[int, int, str]]] = {}
    for reference_id, start, end, theme in spans:
        opening.setdefault(start, []).append((end, reference_id, theme))
    segments: list[dict[str, Any]] = []
    active: list[tuple[int, int, str]] = []  # (end, reference id, theme) of the references covering a segment
    anchored = False
    for left, right in pairwise(cuts):
        active = [a for a in active if a[0] > left] + opening.get(left, [])
        is_focus = any(i == focus for _, i, _ in active)
        segments.append({"text": text[left:right], "themes": sorted({t for _, _, t in active}), "focus": is_focus,
                         "anchor": is_focus and not anchored})
        anchored = anchored or is_focus
    return document, segments


# ---------------------------------------------------------------------------------------------
# writing: decisions, undo, manual references, memos


def _latest_row(session: Session, reference_id: int, coder: str) -> ReviewDecision | None:
    return session.scalar(select(ReviewDecision).where(ReviewDecision.reference_id == reference_id,
                                                       ReviewDecision.coder == coder)
                          .order_by(ReviewDecision.decided_at.desc(), ReviewDecision.id.desc()).limit(1))


def decide(store: Store, coder: str, reference_id: int, decision: str, new_theme: str | None,
           themes: set[str], note: str = "") -> int:
    """Append a coder's decision; returns its id."""
    if decision not in DECISIONS:
        raise SibkitError(f"decision {decision!r}: expected accept, reject or recode")
    if decision == "recode" and new_theme not in themes:
        raise SibkitError(f"recode needs one of the codebook's themes (got {new_theme!r})")
    with store.session(write=True) as session:
        if session.get(Reference, reference_id) is None:
            raise SibkitError(f"no reference {reference_id}")
        previous = _latest_row(session, reference_id, coder)
        row = ReviewDecision(reference_id=reference_id, coder=coder, decision=decision,
                             new_theme=new_theme if decision == "recode" else None, note=note,
                             previous_id=previous.id if previous else None)
        session.add(row)
        session.flush()
        return row.id


def undo(store: Store, coder: str) -> int | None:
    """Withdraw the coder's latest decision not yet undone, appending the decision it followed (or
    ``clear``); returns the reference it concerned, or None when there is nothing to undo."""
    with store.session(write=True) as session:
        rows = session.scalars(select(ReviewDecision).where(ReviewDecision.coder == coder)
                               .order_by(ReviewDecision.id.desc()).limit(500)).all()
        undone = {r.previous_id for r in rows if r.note == "undo"}
        target = next((r for r in rows if r.note != "undo" and r.id not in undone), None)
        if target is None:
            return None
        before = session.get(ReviewDecision, target.previous_id) if target.previous_id else None
        restored_decision = before.decision if before is not None else "clear"
        session.add(ReviewDecision(reference_id=target.reference_id, coder=coder, decision=restored_decision,
                                   new_theme=before.new_theme if before is not None else None, note="undo",
                                   previous_id=target.id))
        return target.reference_id


def code_span(store: Store, coder: str, document_id: int, start: int, end: int, theme: str, selected: str,
              themes: set[str]) -> int:
    """A manual reference (accepted by the coder who made it); ``selected`` must be the text at start-end."""
    from sibkit.corpus.normalise import page_of

    if theme not in themes:
        raise SibkitError(f"theme {theme!r} is not in the codebook")
    with store.session(write=True) as session:
        document = session.get(Document, document_id)
        if document is None or not 0 <= start < end <= len(document.text):
            raise SibkitError(f"document {document_id} has no characters {start}-{end}")
        if selected and " ".join(document.text[start:end].split()) != " ".join(selected.split()):
            raise SibkitError("the selected text does not match the document at that place; select it again")
        reference = Reference(document_id=document_id, theme=theme, term="(manual)", start=start, end=end,
                              page=page_of(start, document.pages), origin="manual", codebook_hash="")
        session.add(reference)
        session.flush()
        session.add(ReviewDecision(reference_id=reference.id, coder=coder, decision="accept", note="coded by hand"))
        return reference.id


def add_memo(store: Store, author: str, target_kind: str, target_id: str, text: str) -> int:
    if target_kind not in MEMO_TARGETS:
        raise SibkitError(f"a memo is on a {', '.join(MEMO_TARGETS)}; not {target_kind!r}")
    text = text.strip()
    if not text:
        raise SibkitError("the memo is empty")
    if len(text) > 20000:
        raise SibkitError("a memo holds at most 20,000 characters")
    with store.session(write=True) as session:
        memo = Memo(target_kind=target_kind, target_id=str(target_id), author=author, text=text)
        session.add(memo)
        session.flush()
        return memo.id


def memos_on(store: Store, targets: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Current memos (not replaced by a newer version) on these (kind, id) targets, oldest first."""
    if not targets:
        return []
    replaced = select(Memo.replaces).where(Memo.replaces.is_not(None))
    with store.session() as session:
        rows = session.execute(select(Memo.target_kind, Memo.target_id, Memo.author, Memo.text, Memo.created_at)
                               .where(or_(*(and_(Memo.target_kind == k, Memo.target_id == str(i))
                                            for k, i in targets)), Memo.id.not_in(replaced))
                               .order_by(Memo.id)).all()
    return [{"kind": k, "target": i, "author": a, "text": t, "at": c} for k, i, a, t, c in rows]


def setting(store: Store, key: str, default: str = "") -> str:
    with store.session() as session:
        row = session.get(WorkbenchSetting, key)
        return row.value if row is not None else default


def set_setting(store: Store, key: str, value: str) -> None:
    with store.session(write=True) as session:
        row = session.get(WorkbenchSetting, key)
        if row is None:
            session.add(WorkbenchSetting(key=key, value=value))
        else:
            row.value = value
