"""The learned reader over a study's documents: scores each keyword hit's sentence (a flag where it reads
as another sense) and proposes sentences no keyword found, for review in the workbench queue.

Each readable document linked to a case is split into sentences (``text.sentences``) and every
sentence scored once (both heads). A keyword hit (origin ``auto``) of a theme the reader knows gets a
``ReaderScore``: its sentence's sense score, ``flagged`` below ``flag_below``. A sentence of four words
or more scoring at least ``propose_at`` for a theme that no reference of that theme touches becomes a
reference with origin ``semantic``, term ``(learned reader)``, and a ``Suggestion`` naming the reader
(the queue and review export the embedding suggestions use). A new read replaces the scores and the
proposals nobody has decided on; decided ones stay.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import delete, insert, select

from sibkit.coding.codebook import Codebook
from sibkit.corpus.normalise import page_of
from sibkit.secondreader.counting import READER_MODEL, READER_TERM
from sibkit.secondreader.model import LearnedReader
from sibkit.store import Document, DocumentCase, ReaderScore, Reference, ReviewDecision, Store, Suggestion
from sibkit.text.sentences import split_sentences

MIN_WORDS = 4  # a proposal is a sentence of at least this many words
PAGE = 200  # documents read per page


@dataclass
class ReadReport:
    reader: str
    documents: int = 0
    sentences: int = 0
    scored_hits: int = 0
    flagged: dict[str, int] = field(default_factory=dict)
    proposed: dict[str, int] = field(default_factory=dict)
    replaced: int = 0
    propose_at: float = 0.0
    flag_below: float = 0.0


def _readable_documents(store: Store) -> list[int]:
    with store.session() as session:
        return list(session.scalars(select(Document.id).where(Document.status == "ok", Document.id.in_(
            select(DocumentCase.document_id))).order_by(Document.id)))


def read_documents(store: Store, codebook: Codebook, reader: LearnedReader, *, propose_at: float | None = None,
                   flag_below: float | None = None, limit: int | None = None,
                   progress: Callable[[int, int], None] | None = None) -> ReadReport:
    """Score the keyword hits and propose sentences in every readable document of ``store``."""
    propose_at = reader.propose_at if propose_at is None else propose_at
    flag_below = reader.flag_below if flag_below is None else flag_below
    report = ReadReport(reader=reader.name, propose_at=propose_at, flag_below=flag_below)
    index = {t: i for i, t in enumerate(reader.themes)}
    document_ids = _readable_documents(store)
    with store.session() as session:
        decided = set(session.scalars(select(ReviewDecision.reference_id).distinct()))
        mine = set(session.scalars(select(Suggestion.reference_id).where(Suggestion.model.startswith(READER_MODEL))))
        rows = session.execute(select(Reference.id, Reference.document_id, Reference.theme, Reference.start,
                                      Reference.end, Reference.origin)).all()
    by_document: dict[int, list[tuple[int, str, int, int, str]]] = {}
    for reference_id, document_id, theme, start, end, origin in rows:
        if reference_id in mine and reference_id not in decided:
            continue  # an undecided proposal of an earlier read: replaced
        by_document.setdefault(document_id, []).append((reference_id, theme, start, end, origin))
    scores: list[dict[str, object]] = []
    candidates: dict[str, list[tuple[float, int, int, int, int, int]]] = {}
    for first in range(0, len(document_ids), PAGE):
        page = document_ids[first:first + PAGE]
        with store.session() as session:
            texts = dict(session.execute(select(Document.id, Document.text).where(Document.id.in_(page))).all())
        for done, document_id in enumerate(page, start=first + 1):
            text = texts[document_id]
            sentences = split_sentences(text)
            report.documents += 1
            report.sentences += len(sentences)
            if sentences:
                propose, sense = reader.both([text[s.start:s.end] for s in sentences])
                starts = [s.start for s in sentences]
                refs = by_document.get(document_id, [])
                for reference_id, theme, start, _end, origin in refs:
                    column = index.get(theme)
                    if origin != "auto" or column is None:
                        continue
                    at = bisect.bisect_right(starts, start) - 1
                    if at < 0 or start >= sentences[at].end:
                        continue
                    score = float(sense[at, column])
                    scores.append({"reference_id": reference_id, "model": reader.name[:200],
                                   "model_version": reader.version, "score": score, "flagged": score < flag_below})
                    if score < flag_below:
                        report.flagged[theme] = report.flagged.get(theme, 0) + 1
                for theme, column in index.items():
                    for at in np.flatnonzero(propose[:, column] >= propose_at):
                        s = sentences[at]
                        if len(text[s.start:s.end].split()) < MIN_WORDS:
                            continue
                        if any(t == theme and a < s.end and s.start < b for _, t, a, b, _ in refs):
                            continue
                        candidates.setdefault(theme, []).append((float(propose[at, column]), document_id, s.start,
                                                                 s.end, s.paragraph_start, s.paragraph_end))
            if progress:
                progress(done, len(document_ids))
    with store.session() as session:
        pages = dict(session.execute(select(Document.id, Document.pages).where(Document.id.in_(
            {c[1] for found in candidates.values() for c in found}))).all())
    with store.session(write=True) as session:
        session.execute(delete(ReaderScore))
        stale = list(session.scalars(select(Reference.id).where(
            Reference.id.in_(select(Suggestion.reference_id).where(Suggestion.model.startswith(READER_MODEL))),
            Reference.id.not_in(select(ReviewDecision.reference_id)))))
        for chunk in range(0, len(stale), 500):
            part = stale[chunk:chunk + 500]
            session.execute(delete(Suggestion).where(Suggestion.reference_id.in_(part)))
            session.execute(delete(Reference).where(Reference.id.in_(part)))
        report.replaced = len(stale)
        if scores:
            session.execute(insert(ReaderScore), scores)
        report.scored_hits = len(scores)
        described = f"learned reader ({reader.meta.get('trained_on') or 'see the reader file'})"[:500]
        for theme, found in candidates.items():
            found.sort(key=lambda c: (-c[0], c[1], c[2]))
            if limit is not None:
                found = found[:limit]
            for score, document_id, start, end, paragraph_start, paragraph_end in found:
                reference = Reference(document_id=document_id, theme=theme, term=READER_TERM, start=start, end=end,
                                      page=page_of(start, pages[document_id]), origin="semantic",
                                      codebook_hash=codebook.hash())
                session.add(reference)
                session.flush()
                session.add(Suggestion(reference_id=reference.id, model=reader.name[:200],
                                       model_version=reader.version, score=score, compared_with=described,
                                       rank_score=None, paragraph_start=paragraph_start, paragraph_end=paragraph_end))
            report.proposed[theme] = len(found)
    return report


def read_study(study: object, *, reader: LearnedReader | None = None,
               progress: Callable[[int, int], None] | None = None) -> tuple[ReadReport | None, str, list[str]]:
    """Run the study's learned reader (``reader.model``) over its documents. Returns the report (None
    when there is no reader), where the reader came from, and warnings."""
    from sibkit.coding import study_codebook
    from sibkit.corpus import open_study_store
    from sibkit.secondreader.files import reader_for_study, staleness

    codebook = study_codebook(study)  # type: ignore[arg-type]
    source = "the reader given"
    if reader is None:
        reader, source = reader_for_study(study, codebook)
    if reader is None:
        return None, source, []
    warnings = [w for w in (staleness(reader, codebook),) if w]
    settings = study.reader  # type: ignore[attr-defined]
    store = open_study_store(study)  # type: ignore[arg-type]
    report = read_documents(store, codebook, reader, propose_at=settings.propose_at,
                            flag_below=settings.flag_below, limit=settings.limit, progress=progress)
    return report, source, warnings


def reader_summary(store: Store, settings: object) -> dict[str, object]:
    """What the report says about the learned reader: keyword hits scored and flagged, proposals by review
    state, the reader's name, and whether they count before review."""
    from sibkit.coding.coder import review_outcomes

    with store.session() as session:
        scored = session.execute(select(ReaderScore.flagged, ReaderScore.model)).all()
        proposals = list(session.scalars(select(Suggestion.reference_id).where(
            Suggestion.model.startswith(READER_MODEL))))
    outcomes = review_outcomes(store).set_index("reference_id")["outcome_theme"].to_dict()
    decided = [outcomes[r] for r in proposals if r in outcomes]
    return {"scored": len(scored), "flagged": sum(bool(f) for f, _ in scored),
            "models": sorted({m for _, m in scored}), "proposed": len(proposals),
            "accepted": sum(o is not None for o in decided), "rejected": sum(o is None for o in decided),
            "unreviewed": len(proposals) - len(decided),
            "count_unreviewed": bool(getattr(settings, "count_unreviewed", False))}


def flagged_hits(store: Store, width: int = 60) -> list[dict[str, object]]:
    """Every keyword hit the learned reader flagged, lowest sense score first: reference id, theme, term, score,
    the hit with ``width`` characters either side, document title."""
    with store.session() as session:
        rows = session.execute(select(ReaderScore.reference_id, ReaderScore.score, Reference.theme, Reference.term,
                                      Reference.start, Reference.end, Document.title, Document.text)
                               .join(Reference, Reference.id == ReaderScore.reference_id)
                               .join(Document, Document.id == Reference.document_id)
                               .where(ReaderScore.flagged).order_by(ReaderScore.score, ReaderScore.reference_id)).all()
    return [{"reference_id": r[0], "score": r[1], "theme": r[2], "term": r[3], "title": r[6],
             "left": " ".join(r[7][max(0, r[4] - width):r[4]].split()), "text": r[7][r[4]:r[5]],
             "right": " ".join(r[7][r[5]:r[5] + width].split())} for r in rows]
