"""The study database: documents, their cases, fetch attempts, coded references, review decisions.

Text offsets are Unicode code-point offsets into ``Document.text`` (REFI-QDA's unit).
Review decisions are append-only: a person's decision is never updated or deleted.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from sibkit.kinds import IDS as KIND_IDS

DOCUMENT_TYPES = KIND_IDS  # the kinds of sibkit.kinds, one vocabulary
STATUSES = ("ok", "empty", "failed", "too_large", "unsupported")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    doc_type: Mapped[str] = mapped_column(String(20), default="other")
    date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    origin: Mapped[str] = mapped_column(Text, default="")
    media_type: Mapped[str] = mapped_column(String(80), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    pages: Mapped[list[int]] = mapped_column(JSON, default=list)
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="ok")
    message: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    guid: Mapped[str | None] = mapped_column(String(38), nullable=True)  # REFI-QDA source GUID, when imported

    cases: Mapped[list[DocumentCase]] = relationship(back_populates="document", cascade="all, delete-orphan")


class DocumentCase(Base):
    __tablename__ = "document_cases"

    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(40), primary_key=True)

    document: Mapped[Document] = relationship(back_populates="cases")


class FetchAttempt(Base):
    __tablename__ = "fetch_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    case_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: how the URL was reached: ``listed`` (INDIGO's reading list), ``attachment`` (linked from the
    #: landing page ``source_url``) or ``archive`` (the web archive copy of the live ``source_url``)
    relation: Mapped[str] = mapped_column(String(12), default="listed", server_default="listed")
    source_url: Mapped[str | None] = mapped_column(Text, nullable=True)


class Reference(Base):
    __tablename__ = "references"
    __table_args__ = (
        UniqueConstraint("document_id", "theme", "term", "start", "end", "origin", name="uq_reference_span"),
        Index("ix_references_theme", "theme"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    theme: Mapped[str] = mapped_column(String(80))
    term: Mapped[str] = mapped_column(Text, default="")
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    page: Mapped[int | None] = mapped_column(Integer, nullable=True)
    origin: Mapped[str] = mapped_column(String(10), default="auto")
    codebook_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # the hit lies in a negated clause ("no evidence of co-production"): stored, not counted by default
    negated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # where the hit lies (sibkit.text.structure.ZONES): "body" counts; a reference list, table of contents,
    # running header or repeated sentence is stored and shown but does not count (unless overruled).
    # No Python-side default: inserts written for older schemas still work.
    zone: Mapped[str] = mapped_column(String(12), server_default="body")
    selection_guid: Mapped[str | None] = mapped_column(String(38), nullable=True)  # REFI-QDA, when imported
    coding_guid: Mapped[str | None] = mapped_column(String(38), nullable=True)

    suggestion: Mapped[Suggestion | None] = relationship(lazy="selectin", uselist=False, viewonly=True)

    @property
    def score(self) -> float | None:
        """A suggestion's score: the learned probability of acceptance where there is one, else the
        similarity; None for keyword hits and manual references."""
        if self.suggestion is None:
            return None
        return self.suggestion.rank_score if self.suggestion.rank_score is not None else self.suggestion.score


class ReviewDecision(Base):
    __tablename__ = "review_decisions"
    __table_args__ = (Index("ix_review_decisions_coder_reference", "coder", "reference_id"),
                      Index("uq_review_decisions_request_key", "coder", "request_key", unique=True))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference_id: Mapped[int] = mapped_column(ForeignKey("references.id", ondelete="RESTRICT"), index=True)
    coder: Mapped[str] = mapped_column(String(80))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    decision: Mapped[str] = mapped_column(String(10))
    new_theme: Mapped[str | None] = mapped_column(String(80), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    previous_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The same coder's decision on this reference that this one follows (None for the first)."""
    request_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The workbench form's key (migration ``decision_keys``): a retried POST finds its decision stored."""


class ReviewStanding(Base):
    """Each coder's standing decision on a reference: their latest ``ReviewDecision`` (by time, then id).

    Derived from the append-only log, never written by sibkit's code: a trigger on ``review_decisions``
    keeps it (migration ``review_standing``), so reading a coder's standing decision is an index lookup.
    """

    __tablename__ = "review_standing"
    __table_args__ = (Index("ix_review_standing_reference_id", "reference_id"),)

    coder: Mapped[str] = mapped_column(String(80), primary_key=True)
    reference_id: Mapped[int] = mapped_column(ForeignKey("references.id", ondelete="CASCADE"), primary_key=True)
    decision_id: Mapped[int] = mapped_column(Integer)
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime)
    decision: Mapped[str] = mapped_column(String(10))
    new_theme: Mapped[str | None] = mapped_column(String(80), nullable=True)


class CodingState(Base):
    """Which version (hash) of each theme a document was last coded with, so that re-coding after a
    codebook change touches only the changed themes."""

    __tablename__ = "coding_states"

    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(80), primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    coded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


MEMO_TARGETS = ("case", "document", "reference", "study")


class Memo(Base):
    """A researcher's note on a case, a document, a reference or the whole study (append-only edits:
    a changed memo is a new row that ``replaces`` the old one)."""

    __tablename__ = "memos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[str] = mapped_column(String(80), default="")
    author: Mapped[str] = mapped_column(String(80), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    replaces: Mapped[int | None] = mapped_column(ForeignKey("memos.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_memos_target", "target_kind", "target_id"),)


class SentenceEmbeddings(Base):
    """The sentence embeddings of one document under one model, keyed by the text's hash: a second
    ``sibkit suggest`` embeds only documents that are new or whose text changed."""

    __tablename__ = "sentence_embeddings"
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    text_sha256: Mapped[str] = mapped_column(String(64))
    spans: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    dimension: Mapped[int] = mapped_column(Integer)
    vectors: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Suggestion(Base):
    """Why a reference with origin ``semantic`` was suggested: model, score, what it was compared with,
    and the score of the classifier learned from review decisions (when the theme has enough)."""

    __tablename__ = "suggestions"
    reference_id: Mapped[int] = mapped_column(ForeignKey("references.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(80), default="")
    score: Mapped[float] = mapped_column(Float)
    compared_with: Mapped[str] = mapped_column(Text, default="")
    rank_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    paragraph_start: Mapped[int] = mapped_column(Integer)  # the sentence's paragraph: its context in review
    paragraph_end: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


ROLES = ("admin", "coder", "viewer")


class User(Base):
    """An account of the review workbench in team mode (``sibkit users add``); never deleted, only disabled."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(10), default="coder")
    password_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class WebSession(Base):
    """A signed-in browser: the SHA-256 of its cookie token (the token itself is never stored)."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class WorkbenchSetting(Base):
    """Study-wide settings of the review workbench (e.g. ``blind``: a round in progress)."""

    __tablename__ = "workbench_settings"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


# REFI-QDA exchange (``sibkit.interop``): what an imported project holds beyond documents, references and
# memos, with its GUIDs kept, so that exporting it again gives the other tool back its own identifiers.


class QdaUser(Base):
    __tablename__ = "qda_users"
    guid: Mapped[str] = mapped_column(String(38), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)


class QdaCode(Base):
    """A code of an imported project and the theme it became."""

    __tablename__ = "qda_codes"
    guid: Mapped[str] = mapped_column(String(38), primary_key=True)
    theme: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(Text, default="")
    parent_guid: Mapped[str | None] = mapped_column(String(38), nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    codable: Mapped[bool] = mapped_column(Boolean, default=True)
    color: Mapped[str | None] = mapped_column(String(7), nullable=True)


class QdaCase(Base):
    __tablename__ = "qda_cases"
    guid: Mapped[str] = mapped_column(String(38), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")


class QdaVariable(Base):
    __tablename__ = "qda_variables"
    guid: Mapped[str] = mapped_column(String(38), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(10), default="Text")
    description: Mapped[str] = mapped_column(Text, default="")


class QdaValue(Base):
    """A variable's value for a case (target_id: case id) or a document (target_id: document id)."""

    __tablename__ = "qda_values"
    __table_args__ = (UniqueConstraint("variable_guid", "target_kind", "target_id", name="uq_qda_value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    variable_guid: Mapped[str] = mapped_column(ForeignKey("qda_variables.guid", ondelete="CASCADE"))
    target_kind: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[str] = mapped_column(String(80))
    value: Mapped[str] = mapped_column(Text, default="")


class QdaSet(Base):
    """A named set of codes, sources and notes; members are ``{"kind": ..., "guid": ...}``."""

    __tablename__ = "qda_sets"
    guid: Mapped[str] = mapped_column(String(38), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    members: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)


class QdaSelection(Base):
    """Who created a selection of an imported project, and when (its codings may be another coder's)."""

    __tablename__ = "qda_selections"
    guid: Mapped[str] = mapped_column(String(38), primary_key=True)
    creator: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class QdaNote(Base):
    """The GUID an imported note had, for the memo it became; ``kind`` is ``description`` for a memo
    that was a source's or the project's Description (exported as one again)."""

    __tablename__ = "qda_notes"
    guid: Mapped[str] = mapped_column(String(38), primary_key=True)
    memo_id: Mapped[int] = mapped_column(ForeignKey("memos.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(12), default="note", server_default="note")


class Run(Base):
    """One ``sibkit run`` of the study: the INDIGO release it used and a snapshot of what it found
    (selection, classes, associations, findings), so that a run on a new release says what changed."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    release_name: Mapped[str] = mapped_column(String(40))
    release_date: Mapped[str] = mapped_column(String(10))
    release_label: Mapped[str] = mapped_column(Text)
    release_sha256: Mapped[str] = mapped_column(String(64))  # the export's files (sibkit.releases.store)
    tables_sha256: Mapped[str] = mapped_column(String(64), index=True)  # the typed tables (report inputs)
    study_sha256: Mapped[str] = mapped_column(String(64))
    sibkit_version: Mapped[str] = mapped_column(String(40))
    snapshot: Mapped[dict] = mapped_column(JSON)


# The learned second reader and the recall audit (``sibkit.secondreader``, ``sibkit.audit``; migration ``audit``)


class ReaderScore(Base):
    """The learned reader's score for a keyword hit's sentence (the probability it expresses the hit's theme):
    a hit scoring below the reader's ``flag_below`` is *flagged* as another sense. A flag is advice for the
    reviewer; it stops the hit counting before review only where the study says ``reader.count_unreviewed``."""

    __tablename__ = "reader_scores"
    reference_id: Mapped[int] = mapped_column(ForeignKey("references.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(80), default="")
    score: Mapped[float] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuditSample(Base):
    """One seeded draw of sentences that no counted hit touched, for a coder to mark (``sibkit review audit``)."""

    __tablename__ = "audit_samples"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drawn_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    seed: Mapped[int] = mapped_column(Integer)
    requested: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)  # sentences with no counted hit when it was drawn
    codebook_hash: Mapped[str] = mapped_column(String(64), default="")


class AuditSentence(Base):
    """A sentence of an audit sample: a span of a document's text (code points)."""

    __tablename__ = "audit_sentences"
    __table_args__ = (UniqueConstraint("document_id", "start", "end", name="uq_audit_sentence_span"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("audit_samples.id", ondelete="RESTRICT"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # its place in the sample's random order
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="RESTRICT"), index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text_sha256: Mapped[str] = mapped_column(String(64))


class AuditMark(Base):
    """A coder's reading of an audit sentence: the themes it expresses (an empty list: none). Append-only like
    review decisions: a changed mind is a new row naming the one it follows; each coder's latest row stands."""

    __tablename__ = "audit_marks"
    __table_args__ = (Index("ix_audit_marks_coder_sentence", "coder", "sentence_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sentence_id: Mapped[int] = mapped_column(ForeignKey("audit_sentences.id", ondelete="RESTRICT"), index=True)
    coder: Mapped[str] = mapped_column(String(80))
    marked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    previous_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
