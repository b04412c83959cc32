"""The recall audit's sentences: those no counted hit touches, a seeded random sample of them, and coders'
append-only marks of the themes each expresses.

The population is every sentence of four words or more (``text.sentences``) of the readable documents
linked to a case that no counted reference overlaps (references as the study counts them: review
outcomes, negation, suggestions and the learned reader per the study file). A draw takes a simple
random sample without replacement (NumPy's ``default_rng(seed).choice``) from the population's sentences
not drawn before, listed in document and offset order, so the same corpus, codes and seed give the same
sample.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sibkit.errors import SibkitError
from sibkit.store import AuditMark, AuditSample, AuditSentence, Document, DocumentCase, Store
from sibkit.store.models import utcnow
from sibkit.text.sentences import split_sentences

MIN_WORDS = 4
MAX_SAMPLE = 10_000
NONE = "none"  # what a coder writes for a sentence that expresses no theme


@dataclass(frozen=True)
class Span:
    document_id: int
    start: int
    end: int


def sentence_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def counted_spans(source: object) -> dict[int, list[tuple[int, int, str]]]:
    """Per document, (start, end, theme) of every reference that counts (as the study counts them)."""
    from sibkit.coding.coder import _counted, references
    from sibkit.study import Study

    study = source if isinstance(source, Study) else None
    store = _store(source)
    refs = references(store, count_suggestions=study.suggest.count_unreviewed if study else False,
                      count_learned=study.reader.count_unreviewed if study else False)
    refs = _counted(refs, source, None)  # type: ignore[arg-type]
    refs = refs[refs["counts_for"].notna()]
    if study is not None and study.reader.count_unreviewed:
        refs = refs[~(refs["flagged"] & ~refs["reviewed"])]
    out: dict[int, list[tuple[int, int, str]]] = {}
    for document_id, start, end, theme in zip(refs["document_id"], refs["start"], refs["end"], refs["counts_for"],
                                              strict=True):
        out.setdefault(int(document_id), []).append((int(start), int(end), str(theme)))
    return out


def _store(source: object) -> Store:
    from sibkit.coding.coder import as_store

    return as_store(source)  # type: ignore[arg-type]


@dataclass
class Population:
    """The study's sentences, split into those a counted hit touches (per theme) and those none touches."""

    unhit: list[Span]
    hit_by_theme: dict[str, int]  # sentences holding a counted hit of each theme
    sentences: int
    digests: dict[Span, str]


def population(source: object) -> Population:
    store = _store(source)
    spans = counted_spans(source)
    with store.session() as session:
        document_ids = list(session.scalars(select(Document.id).where(Document.status == "ok", Document.id.in_(
            select(DocumentCase.document_id))).order_by(Document.id)))
    unhit: list[Span] = []
    hit_by_theme: dict[str, int] = {}
    digests: dict[Span, str] = {}
    total = 0
    for first in range(0, len(document_ids), 200):
        page = document_ids[first:first + 200]
        with store.session() as session:
            texts = dict(session.execute(select(Document.id, Document.text).where(Document.id.in_(page))).all())
        for document_id in page:
            text = texts[document_id]
            counted = sorted(spans.get(document_id, []))
            for sentence in split_sentences(text):
                piece = text[sentence.start:sentence.end]
                if len(piece.split()) < MIN_WORDS:
                    continue
                total += 1
                themes = {t for a, b, t in counted if a < sentence.end and sentence.start < b}
                if themes:
                    for theme in themes:
                        hit_by_theme[theme] = hit_by_theme.get(theme, 0) + 1
                    continue
                span = Span(document_id, sentence.start, sentence.end)
                unhit.append(span)
                digests[span] = sentence_digest(piece)
    return Population(unhit=unhit, hit_by_theme=hit_by_theme, sentences=total, digests=digests)


@dataclass
class Draw:
    sample_id: int
    drawn: int
    population: int
    available: int
    seed: int


def draw_sample(source: object, size: int, seed: int) -> Draw:
    """Draw ``size`` sentences (fewer when fewer are left) from the unhit sentences not drawn before, and
    store them as a new sample in one transaction."""
    if not 1 <= size <= MAX_SAMPLE:
        raise SibkitError(f"--sample {size}: draw between 1 and {MAX_SAMPLE:,} sentences")
    from sibkit.coding.codebook import load_codebook
    from sibkit.study import Study

    store = _store(source)
    found = population(source)
    with store.session() as session:
        drawn_before = {(d, s, e) for d, s, e in session.execute(select(
            AuditSentence.document_id, AuditSentence.start, AuditSentence.end)).all()}
    available = [span for span in found.unhit if (span.document_id, span.start, span.end) not in drawn_before]
    if not available:
        raise SibkitError("no sentence is left to draw: every sentence without a counted hit is in a sample already"
                          if found.unhit else "no sentence without a counted hit: code the study's documents first")
    chosen = np.random.default_rng(seed).choice(len(available), size=min(size, len(available)), replace=False)
    codebook_hash = ""
    if isinstance(source, Study):
        codebook_hash = load_codebook(source.codebook, source.base_dir).hash()
    with store.session(write=True) as session:
        sample = AuditSample(seed=seed, requested=size, population=len(found.unhit), codebook_hash=codebook_hash,
                             drawn_at=utcnow())
        session.add(sample)
        session.flush()
        for position, index in enumerate(chosen.tolist(), start=1):
            span = available[index]
            session.add(AuditSentence(sample_id=sample.id, position=position, document_id=span.document_id,
                                      start=span.start, end=span.end, text_sha256=found.digests[span]))
        sample_id = sample.id
    return Draw(sample_id=sample_id, drawn=len(chosen), population=len(found.unhit), available=len(available),
                seed=seed)


# -- marks -------------------------------------------------------------------------------------------


def check_themes(themes: list[str], known: set[str]) -> list[str]:
    """Theme ids as stored (sorted, distinct); ``none`` alone means the sentence expresses no theme."""
    cleaned = sorted({t.strip() for t in themes if t.strip()})
    if cleaned == [NONE]:
        return []
    if NONE in cleaned:
        raise SibkitError(f"'{NONE}' cannot go with theme ids")
    unknown = [t for t in cleaned if t not in known]
    if unknown:
        raise SibkitError(f"not a theme of the codebook: {', '.join(unknown)}")
    return cleaned


def latest_mark(session: Session, coder: str, sentence_id: int) -> AuditMark | None:
    return session.scalars(select(AuditMark).where(AuditMark.coder == coder, AuditMark.sentence_id == sentence_id)
                           .order_by(AuditMark.marked_at.desc(), AuditMark.id.desc()).limit(1)).first()


def mark(session: Session, coder: str, sentence_id: int, themes: list[str], known: set[str],
         note: str = "") -> int | None:
    """Append ``coder``'s mark of an audit sentence (in the caller's transaction); None when it repeats the
    coder's standing mark (nothing stored)."""
    from sibkit.coding.review import check_coder

    coder = check_coder(coder)
    cleaned = check_themes(themes, known)
    if session.get(AuditSentence, sentence_id) is None:
        raise SibkitError(f"audit sentence {sentence_id} does not exist")
    previous = latest_mark(session, coder, sentence_id)
    if previous is not None and list(previous.themes) == cleaned and previous.note == note:
        return None
    row = AuditMark(sentence_id=sentence_id, coder=coder, themes=cleaned, note=note[:2000], marked_at=utcnow(),
                    previous_id=previous.id if previous is not None else None)
    session.add(row)
    session.flush()
    return row.id


def standing_marks(store: Store) -> dict[int, dict[str, list[str]]]:
    """Per audit sentence, each coder's latest mark (themes)."""
    with store.session() as session:
        rows = session.execute(select(AuditMark.sentence_id, AuditMark.coder, AuditMark.themes)
                               .order_by(AuditMark.marked_at, AuditMark.id)).all()
    out: dict[int, dict[str, list[str]]] = {}
    for sentence_id, coder, themes in rows:
        out.setdefault(sentence_id, {})[coder] = list(themes)
    return out


def sampled_sentences(store: Store) -> list[dict[str, object]]:
    """Every drawn sentence in draw order: id, sample, position, document, offsets, text, title."""
    with store.session() as session:
        rows = session.execute(select(AuditSentence.id, AuditSentence.sample_id, AuditSentence.position,
                                      AuditSentence.document_id, AuditSentence.start, AuditSentence.end,
                                      AuditSentence.text_sha256, Document.title,
                                      func.substr(Document.text, AuditSentence.start + 1,
                                                  AuditSentence.end - AuditSentence.start))
                               .join(Document, Document.id == AuditSentence.document_id)
                               .order_by(AuditSentence.sample_id, AuditSentence.position)).all()
    return [{"sentence_id": r[0], "sample_id": r[1], "position": r[2], "document_id": r[3], "start": r[4],
             "end": r[5], "digest": r[6], "title": r[7], "text": r[8]} for r in rows]
