"""What the workbench reads and writes: the review queue, a hit in its sentence and paragraph, decisions,
undo, manual references, memos and the study-wide settings.

Every decision is an appended ``ReviewDecision`` row naming the same coder's decision it follows
(``previous_id``); undo appends too (the decision it restores, or ``clear``, noted ``undo``). A coder's
standing decision on a reference is their latest row (by time, then id), as in the XLSX loop; the workbench
reads it from ``review_standing``, which a database trigger keeps from that log (an index lookup).

The queue page reads everything it shows in one transaction: the functions taking a ``Session`` are the
page's parts, those taking a ``Store`` open a transaction of their own.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sibkit.errors import NotFound, SibkitError
from sibkit.shown import visible_controls
from sibkit.store import (
    Document,
    DocumentCase,
    Memo,
    Reference,
    ReviewDecision,
    ReviewStanding,
    Store,
    WorkbenchSetting,
)
from sibkit.store.models import MEMO_TARGETS, Suggestion, utcnow

STATUSES = ("unreviewed", "accepted", "rejected", "recoded", "all")
ORIGINS = ("auto", "semantic", "manual")
#: ``overrule``: accept, and count the hit although it is negated or lies outside the document's body
DECISIONS = ("accept", "reject", "recode", "overrule")
CONTEXT = 1500  # characters read either side of a hit for its paragraph
MAX_MEMO = 20_000  # characters in a memo
MAX_SELECTED = 200_000  # characters of a span coded by hand, as the browser sends them
_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"[.!?][\"')\]\u201d\u2019]*\s+")
_STATUS_DECISION = {"accepted": ("accept", "overrule"), "rejected": ("reject",), "recoded": ("recode",)}


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
    """Subquery: each coder's standing (latest) decision per reference (reference_id, coder, id, decision,
    new_theme), from ``review_standing``."""
    query = select(ReviewStanding.reference_id, ReviewStanding.coder, ReviewStanding.decision_id.label("id"),
                   ReviewStanding.decision, ReviewStanding.new_theme)
    if coder is not None:
        query = query.where(ReviewStanding.coder == coder)
    return query.subquery()


# The queue page's statements are built once per shape of the filters (which of them are set) with bound
# parameters, and run on the transaction's connection: building a statement costs more than running it.
Shape = tuple[bool, bool, bool, str]


def _shape(filters: Filters) -> Shape:
    return bool(filters.theme), bool(filters.origin), bool(filters.case), filters.status


def _params(filters: Filters, **more: Any) -> dict[str, Any]:
    return {"theme": filters.theme, "origin": filters.origin, "case": filters.case, "coder": filters.coder, **more}


def _narrowed(query: Any, shape: Shape) -> Any:
    """``query`` over references narrowed by theme, origin and case (not status)."""
    theme, origin, in_case, _ = shape
    if theme:
        query = query.where(Reference.theme == bindparam("theme"))
    if origin:
        query = query.where(Reference.origin == bindparam("origin"))
    if in_case:
        query = query.where(Reference.document_id.in_(
            select(DocumentCase.document_id).where(DocumentCase.case_id == bindparam("case"))))
    return query


def _filtered(query: Any, shape: Shape) -> Any:
    """``query`` over references narrowed by the filters (status: by the ``coder`` parameter's standing
    decisions, one primary-key lookup per reference)."""
    query = _narrowed(query, shape)
    status = shape[3]
    if status != "all":
        mine = (ReviewStanding.coder == bindparam("coder"), ReviewStanding.reference_id == Reference.id)
        if status == "unreviewed":
            query = query.where(~exists().where(*mine, ReviewStanding.decision != "clear"))
        else:
            query = query.where(exists().where(*mine, ReviewStanding.decision.in_(_STATUS_DECISION[status])))
    return query


def _suggestion_rank() -> Any:
    """A suggestion's place in the queue: the score learned from review where its theme has one, else
    the similarity score (higher first)."""
    return func.coalesce(Suggestion.rank_score, Suggestion.score, 0.0)


@functools.cache
def _next_statements(shape: Shape) -> tuple[Any, Any, Any]:
    """(the first keyword hit after ``after``; the best suggestion; the best suggestion after the one at
    ``score``, ``after``) under these filters."""
    rank = _suggestion_rank()
    after = bindparam("after")
    keyword = (select(Reference.id).where(Reference.origin != "semantic", Reference.id > after)
               .order_by(Reference.id).limit(1))
    suggestions = (select(Reference.id).outerjoin(Suggestion, Suggestion.reference_id == Reference.id)
                   .where(Reference.origin == "semantic").order_by(rank.desc(), Reference.id).limit(1))
    score = bindparam("score")
    later = suggestions.where(or_(rank < score, and_(rank == score, Reference.id > after)))
    return _filtered(keyword, shape), _filtered(suggestions, shape), _filtered(later, shape)


_POSITION = (select(Reference.origin, _suggestion_rank()).select_from(Reference)
             .outerjoin(Suggestion, Suggestion.reference_id == Reference.id).where(Reference.id == bindparam("after")))


def next_reference(store: Store, filters: Filters, after: int = 0) -> int | None:
    """The first reference of the queue after reference ``after`` (0: from the start).

    Queue order: keyword and manual hits by id (an index scan), then suggestions best first, ties by id.
    """
    with store.session() as session:
        return next_in(session, filters, after)


def next_in(session: Session, filters: Filters, after: int = 0) -> int | None:
    """:func:`next_reference` within a transaction."""
    connection = session.connection()
    keyword, suggestions, later = _next_statements(_shape(filters))
    position = connection.execute(_POSITION, {"after": after}).first() if after else None
    if position is None or position[0] != "semantic":
        found = connection.execute(keyword, _params(filters, after=after)).scalar()
        if found is not None:
            return int(found)
        return connection.execute(suggestions, _params(filters)).scalar()
    return connection.execute(later, _params(filters, after=after, score=position[1])).scalar()


def total_references(store: Store, filters: Filters) -> int:
    """References the filters select, whatever their status."""
    with store.session() as session:
        total = select(func.count(Reference.id))
        return int(session.connection().execute(_narrowed(total, _shape(filters)), _params(filters)).scalar() or 0)


@functools.cache
def _decided_statement(shape: Shape) -> Any:
    decided = select(func.count()).select_from(ReviewStanding).where(ReviewStanding.coder == bindparam("coder"),
                                                                     ReviewStanding.decision != "clear")
    if any(shape[:3]):
        decided = _narrowed(decided.join(Reference, Reference.id == ReviewStanding.reference_id), shape)
    return decided


def decided_count(store: Store, filters: Filters, coder: str) -> int:
    """How many of the references the filters select (whatever their status) ``coder`` has decided."""
    with store.session() as session:
        return decided_in(session, filters, coder)


def decided_in(session: Session, filters: Filters, coder: str) -> int:
    """:func:`decided_count` within a transaction: an index range over the coder's standing decisions."""
    shape = (*_shape(filters)[:3], "all")
    return int(session.connection().execute(_decided_statement(shape), {**_params(filters), "coder": coder})
               .scalar() or 0)


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
    negated: bool = False  # the hit lies in a negated clause: it does not count unless overruled
    zone: str = "body"  # where it lies (sibkit.text.structure.ZONES): outside the body it does not count

    @property
    def why_not(self) -> str:
        """Why the hit would not count as it stands, in words ("" when it would)."""
        from sibkit.coding.coder import why_not_counted

        return why_not_counted(self.negated, self.zone, overruled=False)


def _cut(before: str, after: str) -> tuple[int, int]:
    """Where the paragraph around the gap between ``before`` and ``after`` starts (in before) and ends (in after)."""
    starts = [m.end() for m in _PARAGRAPH.finditer(before)]
    end_match = _PARAGRAPH.search(after)
    return (starts[-1] if starts else 0), (end_match.start() if end_match else len(after))


def hit_in_context(store: Store, reference_id: int) -> Hit | None:
    """A reference with its sentence and paragraph (read with SQL substr: the document stays in the database)."""
    with store.session() as session:
        return hit_in(session, reference_id)


_FIRST = case((Reference.start > CONTEXT, Reference.start - CONTEXT), else_=0)  # where the window starts
_HIT = (select(Reference.id, Reference.document_id, Reference.theme, Reference.term, Reference.origin,
               Reference.start, Reference.end, Reference.page, Reference.negated, Reference.zone, Document.title,
               Document.doc_type,
               func.coalesce(Suggestion.rank_score, Suggestion.score).label("score"),
               func.substr(Document.text, _FIRST + 1, Reference.end + CONTEXT - _FIRST).label("window"))
        .join(Document, Document.id == Reference.document_id)
        .outerjoin(Suggestion, Suggestion.reference_id == Reference.id).where(Reference.id == bindparam("reference")))
_CASES = select(DocumentCase.case_id).where(DocumentCase.document_id == bindparam("document"))
_DECISIONS = (select(ReviewStanding.coder, ReviewStanding.decision, ReviewStanding.new_theme, ReviewStanding.decided_at)
              .where(ReviewStanding.reference_id == bindparam("reference"), ReviewStanding.decision != "clear")
              .order_by(ReviewStanding.coder))


def hit_in(session: Session, reference_id: int) -> Hit | None:
    """:func:`hit_in_context` within a transaction."""
    connection = session.connection()
    reference = connection.execute(_HIT, {"reference": reference_id}).first()
    if reference is None:
        return None
    title, doc_type, score, window = reference.title, reference.doc_type, reference.score, reference.window or ""
    first = max(0, reference.start - CONTEXT)
    case_ids = sorted(connection.execute(_CASES, {"document": reference.document_id}).scalars())
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
               score=score, negated=bool(reference.negated), zone=reference.zone or "body")


def _decisions_on(session: Session, reference_id: int) -> list[dict[str, Any]]:
    """Every coder's standing decision on a reference (withdrawn ones left out), by coder."""
    rows = session.connection().execute(_DECISIONS, {"reference": reference_id}).all()
    return [{"coder": c, "decision": d, "new_theme": n, "decided_at": t} for c, d, n, t in rows]


def document_segments(store: Store, document_id: int, focus: int | None) -> tuple[Document, list[dict[str, Any]]]:
    """The whole text cut at every reference boundary: [{text, themes, focus}] (themes empty: not coded)."""
    with store.session() as session:
        document = session.get(Document, document_id)
        if document is None:
            raise NotFound(f"no document {document_id} in this study")
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
# writing: decisions, undo, manual references, memos, settings; each within the caller's write
# transaction (``store.session(write=True)``; the workbench batches the writes that arrive together)


# the reference and the coder's standing decision on it (the latest, whatever it is, even ``clear``)
_STANDING_ON = (select(Reference.id, ReviewStanding.decision_id)
                .outerjoin(ReviewStanding, and_(ReviewStanding.reference_id == Reference.id,
                                                ReviewStanding.coder == bindparam("coder")))
                .where(Reference.id == bindparam("reference")))
_APPEND = insert(ReviewDecision)
_KEYED = (select(ReviewDecision.id, ReviewDecision.reference_id, ReviewDecision.decision, ReviewDecision.new_theme)
          .where(ReviewDecision.coder == bindparam("coder"), ReviewDecision.request_key == bindparam("key")))


class KeyReused(SibkitError):
    """A request key already stored with another decision: a stale page sent again with another choice."""


def decide(session: Session, coder: str, reference_id: int, decision: str, new_theme: str | None,
           themes: set[str], note: str = "", request_key: str | None = None) -> int:
    """Append a coder's decision; returns its id.

    ``request_key`` (one per form the workbench renders) makes a retried POST idempotent: a decision already
    stored under the coder's key is returned instead of appended again; the same key with another decision
    raises :class:`KeyReused`."""
    if decision not in DECISIONS:
        raise SibkitError(f"decision {decision[:40]!r}: expected accept, reject, recode or overrule")
    if decision == "recode" and new_theme not in themes:
        raise SibkitError(f"recode needs one of the codebook's themes (got {str(new_theme)[:80]!r})")
    stored_theme = new_theme if decision == "recode" else None
    connection = session.connection()
    if request_key is not None:
        earlier = connection.execute(_KEYED, {"coder": coder, "key": request_key}).first()
        if earlier is not None:
            if (earlier.reference_id, earlier.decision, earlier.new_theme) != (reference_id, decision, stored_theme):
                raise KeyReused(f"this form was already sent ({earlier.decision} on reference {earlier.reference_id});"
                                " reload the page to decide again")
            return int(earlier.id)
    found = connection.execute(_STANDING_ON, {"reference": reference_id, "coder": coder}).first()
    if found is None:
        raise NotFound(f"no reference {reference_id} in this study")
    row = {"reference_id": reference_id, "coder": coder, "decision": decision, "new_theme": stored_theme,
           "note": note, "previous_id": found[1], "decided_at": utcnow(), "request_key": request_key}
    if request_key is None:
        return int(connection.execute(_APPEND, row).inserted_primary_key[0])
    try:  # the same key from two requests at once (PostgreSQL): the unique index lets one in
        with session.begin_nested():
            return int(session.connection().execute(_APPEND, row).inserted_primary_key[0])
    except IntegrityError:
        earlier = connection.execute(_KEYED, {"coder": coder, "key": request_key}).first()
        if earlier is None:
            raise
        return int(earlier.id)


@dataclass(frozen=True)
class Undone:
    """What an undo withdrew and what it restored (``clear``: no decision)."""

    decision_id: int  # the appended row noted ``undo``
    reference_id: int
    decision: str
    new_theme: str | None
    restored: str
    restored_theme: str | None


def undo(session: Session, coder: str) -> int | None:
    """Withdraw the coder's latest decision not yet undone, appending the decision it followed (or
    ``clear``); returns the reference it concerned, or None when there is nothing to undo."""
    done = undo_decision(session, coder)
    return done.reference_id if done is not None else None


def undo_decision(session: Session, coder: str) -> Undone | None:
    """``undo``, saying what was withdrawn and restored (None when there is nothing to undo)."""
    rows = session.scalars(select(ReviewDecision).where(ReviewDecision.coder == coder)
                           .order_by(ReviewDecision.id.desc()).limit(500)).all()
    undone = {r.previous_id for r in rows if r.note == "undo"}
    target = next((r for r in rows if r.note != "undo" and r.id not in undone), None)
    if target is None:
        return None
    before = session.get(ReviewDecision, target.previous_id) if target.previous_id else None
    restored_decision = before.decision if before is not None else "clear"
    restored_theme = before.new_theme if before is not None else None
    row = ReviewDecision(reference_id=target.reference_id, coder=coder, decision=restored_decision,
                         new_theme=restored_theme, note="undo", previous_id=target.id)
    session.add(row)
    session.flush()
    return Undone(int(row.id), target.reference_id, target.decision, target.new_theme, restored_decision,
                  restored_theme)


def undone_in(session: Session, decision_id: int, coder: str) -> Undone | None:
    """The undo ``decision_id`` of ``coder`` read back (None when it is not one of theirs)."""
    row = session.get(ReviewDecision, decision_id)
    if row is None or row.coder != coder or row.note != "undo" or row.previous_id is None:
        return None
    target = session.get(ReviewDecision, row.previous_id)
    if target is None:
        return None
    return Undone(int(row.id), row.reference_id, target.decision, target.new_theme, row.decision, row.new_theme)


@dataclass(frozen=True)
class Decided:
    """A decision just stored, read back for the queue to confirm it."""

    reference_id: int
    decision: str
    theme: str
    new_theme: str | None


def decided_by(session: Session, decision_id: int, coder: str) -> Decided | None:
    """Decision ``decision_id`` of ``coder`` with its reference's theme (None when it is not one of theirs, or
    an undo: the queue says what an undo did on its own)."""
    row = session.get(ReviewDecision, decision_id)
    if row is None or row.coder != coder or row.note == "undo":
        return None
    reference = session.get(Reference, row.reference_id)
    return Decided(int(row.reference_id), row.decision, reference.theme if reference is not None else "",
                   row.new_theme)


_OVERLAPPING = (select(Reference.theme).distinct()
                .where(Reference.document_id == bindparam("document"), Reference.start < bindparam("end"),
                       Reference.end > bindparam("start"), Reference.id != bindparam("reference")))


def themes_also_on(session: Session, hit: Hit) -> list[str]:
    """The other themes coded on any part of the hit's span (the matcher, a suggestion or a coder)."""
    found = session.connection().execute(_OVERLAPPING, {"document": hit.document_id, "start": hit.start,
                                                        "end": hit.end, "reference": hit.reference_id})
    return sorted({theme for theme in found.scalars() if theme != hit.theme})


def code_span(session: Session, coder: str, document_id: int, start: int, end: int, theme: str, selected: str,
              themes: set[str]) -> int:
    """A manual reference (accepted by the coder who made it); ``selected`` must be the text at start-end."""
    from sibkit.corpus.normalise import page_of

    if theme not in themes:
        raise SibkitError(f"theme {theme[:80]!r} is not in the codebook")
    document = session.get(Document, document_id)
    if document is None or not 0 <= start < end <= len(document.text):
        raise SibkitError(f"document {document_id} has no characters {start}-{end}")
    stored = visible_controls(document.text[start:end])  # the page showed its bidi controls as U+FFFD
    if selected and " ".join(stored.split()) != " ".join(selected.split()):
        raise SibkitError("the selected text does not match the document at that place; select it again")
    reference = Reference(document_id=document_id, theme=theme, term="(manual)", start=start, end=end,
                          page=page_of(start, document.pages), origin="manual", codebook_hash="")
    session.add(reference)
    session.flush()
    session.add(ReviewDecision(reference_id=reference.id, coder=coder, decision="accept", note="coded by hand"))
    return reference.id


def _memo_target_exists(session: Session, kind: str, target: str) -> bool:
    """Whether a memo's target is in the study: a reference or document by id, a case with documents, or
    the study itself (no id)."""
    if kind == "study":
        return target == ""
    if kind == "case":
        return session.scalar(select(DocumentCase.case_id).where(DocumentCase.case_id == target).limit(1)) is not None
    if not (target.isascii() and target.isdigit()) or len(target) > 10 or int(target) > 2**31 - 1:
        return False
    model = Reference if kind == "reference" else Document
    return session.get(model, int(target)) is not None


def add_memo(session: Session, author: str, target_kind: str, target_id: str, text: str) -> int:
    """A memo on something the study holds (a memo on nothing is refused, naming the target)."""
    if target_kind not in MEMO_TARGETS:
        raise SibkitError(f"a memo is on a {', '.join(MEMO_TARGETS)}; not {target_kind[:20]!r}")
    text = text.strip()
    target_id = str(target_id).strip()
    if not text:
        raise SibkitError("the memo is empty")
    if len(text) > MAX_MEMO:
        raise SibkitError(f"a memo holds at most {MAX_MEMO:,} characters")
    if "\x00" in text:
        raise SibkitError("the memo contains a NUL character; remove it")
    if len(target_id) > 80 or not _memo_target_exists(session, target_kind, target_id):
        raise SibkitError(f"no {target_kind} {target_id[:80]!r} in this study: the memo was not stored")
    memo = Memo(target_kind=target_kind, target_id=str(target_id), author=author, text=text)
    session.add(memo)
    session.flush()
    return memo.id


def memos_on(store: Store, targets: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Current memos (not replaced by a newer version) on these (kind, id) targets, oldest first."""
    with store.session() as session:
        return memos_in(session, targets)


_MEMOS = (select(Memo.target_kind, Memo.target_id, Memo.author, Memo.text, Memo.created_at)
          .where(or_(*(and_(Memo.target_kind == kind, Memo.target_id.in_(bindparam(kind, expanding=True)))
                       for kind in MEMO_TARGETS)),
                 Memo.id.not_in(select(Memo.replaces).where(Memo.replaces.is_not(None))))
          .order_by(Memo.id))


def memos_in(session: Session, targets: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """:func:`memos_on` within a transaction."""
    if not targets:
        return []
    wanted: dict[str, list[str]] = {kind: [] for kind in MEMO_TARGETS}
    for kind, target in targets:
        if kind in wanted:
            wanted[kind].append(str(target))
    rows = session.connection().execute(_MEMOS, wanted).all()
    return [{"kind": k, "target": i, "author": a, "text": t, "at": c} for k, i, a, t, c in rows]


_DOCUMENT_CASES = select(DocumentCase.case_id).where(DocumentCase.document_id == bindparam("document_id"))
_HIT_MEMOS = (select(Memo.target_kind, Memo.target_id, Memo.author, Memo.text, Memo.created_at)
              .where(or_(and_(Memo.target_kind == "reference", Memo.target_id == bindparam("reference")),
                         and_(Memo.target_kind == "document", Memo.target_id == bindparam("document")),
                         and_(Memo.target_kind == "case", Memo.target_id.in_(_DOCUMENT_CASES))),
                     Memo.id.not_in(select(Memo.replaces).where(Memo.replaces.is_not(None))))
              .order_by(Memo.id))


def memos_on_hit(session: Session, hit: Hit) -> list[dict[str, Any]]:
    """:func:`memos_in` on a hit's reference, its document and the document's cases (one fixed statement)."""
    rows = session.connection().execute(_HIT_MEMOS, {"reference": str(hit.reference_id),
                                                     "document": str(hit.document_id),
                                                     "document_id": hit.document_id}).all()
    return [{"kind": k, "target": i, "author": a, "text": t, "at": c} for k, i, a, t, c in rows]


_SETTING = select(WorkbenchSetting.value).where(WorkbenchSetting.key == bindparam("key"))


def setting(store: Store, key: str, default: str = "") -> str:
    with store.session() as session:
        return setting_in(session, key, default)


def setting_in(session: Session, key: str, default: str = "") -> str:
    """:func:`setting` within a transaction."""
    value = session.connection().execute(_SETTING, {"key": key}).scalar()
    return value if value is not None else default


def set_setting(session: Session, key: str, value: str) -> None:
    row = session.get(WorkbenchSetting, key)
    if row is None:
        session.add(WorkbenchSetting(key=key, value=value))
    else:
        row.value = value
