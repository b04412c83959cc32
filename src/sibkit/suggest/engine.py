"""Suggesting sentences that mean what a theme means, and re-ranking them from review decisions.

Each readable document linked to a case is split into sentences (``sentences.py``) and embedded
once per model (cached in ``sentence_embeddings`` by the text's SHA-256). A theme's *anchors* are
its definition, its example sentences and the sentences of references reviewers accepted for it;
a sentence's score is its highest cosine similarity to an anchor. Sentences scoring at or above
the theme's threshold, of four words or more, nearer an anchor than any counter-example, scoring
higher for this theme than for any other (``best_theme_only``, the default), that no reference of
the theme already covers become references with origin ``semantic`` and a
``Suggestion`` row (model, version, score, the anchor it was compared with). A re-run replaces
the suggestions nobody has decided on and keeps the decided ones.

Once a theme has ``min_decisions`` accepted and as many rejected references, a logistic regression
(scikit-learn, seeded) over the sentence embeddings of those references scores each suggestion
(``rank_score``, the probability of acceptance); the review export orders suggestions by it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import delete, select

from sibkit.coding.codebook import Codebook, Theme
from sibkit.coding.coder import references
from sibkit.corpus.normalise import page_of
from sibkit.secondreader.counting import READER_MODEL, READER_TERM
from sibkit.store import (
    Document,
    DocumentCase,
    Reference,
    ReviewDecision,
    SentenceEmbeddings,
    Store,
    Suggestion,
    among,
)
from sibkit.study.model import Suggest
from sibkit.suggest.anchors import anchor_texts
from sibkit.suggest.embedders import Embedder
from sibkit.text.sentences import split_sentences

SEMANTIC = "semantic"
SUGGESTED_TERM = "(suggested)"
MIN_WORDS = 4
MAX_ACCEPTED_ANCHORS = 200


def model_key(embedder: Embedder) -> str:
    """How the cache and the suggestions name a model: its name, and its version when it has one."""
    return f"{embedder.name} {embedder.version}".strip()[:200]


@dataclass
class DocumentSentences:
    spans: np.ndarray  # n x 4: sentence start, end; its paragraph's start, end
    vectors: np.ndarray  # n x dimension, normalised

    def containing(self, offset: int) -> int | None:
        """Index of the sentence that holds ``offset`` (None when it falls between sentences)."""
        if not len(self.spans):
            return None
        index = int(np.searchsorted(self.spans[:, 0], offset, side="right")) - 1
        if index >= 0 and self.spans[index, 0] <= offset < self.spans[index, 1]:
            return index
        return None


@dataclass
class SuggestReport:
    model: str
    documents_embedded: int = 0
    documents_cached: int = 0
    sentences: int = 0
    suggestions: dict[str, int] = field(default_factory=dict)
    removed: int = 0
    reranked: list[str] = field(default_factory=list)


def embed_documents(store: Store, embedder: Embedder, document_ids: Sequence[int],
                    progress: Callable[[int, int], None] | None = None,
                    report: SuggestReport | None = None) -> dict[int, DocumentSentences]:
    """Sentences and embeddings of each document, from the cache when its text has not changed;
    each newly embedded document is stored in its own transaction. ``progress(done, total)`` after each."""
    key = model_key(embedder)
    out: dict[int, DocumentSentences] = {}
    with store.session() as session:
        cached = {row.document_id: row for row in session.scalars(select(SentenceEmbeddings).where(
            SentenceEmbeddings.model == key, among(SentenceEmbeddings.document_id, document_ids)))}
    for done, document_id in enumerate(document_ids, start=1):
        with store.session() as session:
            document = session.get(Document, document_id)
            assert document is not None
            digest = hashlib.sha256(document.text.encode("utf-8")).hexdigest()
            row = cached.get(document_id)
            if row is not None and row.text_sha256 == digest and row.dimension == embedder.dimension:
                spans = np.array(row.spans, dtype=np.int64).reshape(-1, 4)
                vectors = np.frombuffer(row.vectors, dtype=np.float32).reshape(len(spans), row.dimension)
                if report:
                    report.documents_cached += 1
            else:
                sentences = split_sentences(document.text)
                spans = np.array([(s.start, s.end, s.paragraph_start, s.paragraph_end) for s in sentences],
                                 dtype=np.int64).reshape(-1, 4)
                vectors = embedder.embed([document.text[s.start:s.end] for s in sentences]).astype(np.float32)
                session.execute(delete(SentenceEmbeddings).where(SentenceEmbeddings.document_id == document_id,
                                                                 SentenceEmbeddings.model == key))
                session.add(SentenceEmbeddings(document_id=document_id, model=key, text_sha256=digest,
                                               spans=spans.tolist(), dimension=embedder.dimension,
                                               vectors=vectors.tobytes()))
                if report:
                    report.documents_embedded += 1
        out[document_id] = DocumentSentences(spans, vectors)
        if progress:
            progress(done, len(document_ids))
    return out


def _sentence_vector(document_sentences: DocumentSentences | None, start: int, end: int, text: str,
                     embedder: Embedder) -> np.ndarray:
    if document_sentences is not None:
        index = document_sentences.containing(start)
        if index is not None:
            return document_sentences.vectors[index]
    return embedder.embed([text])[0]


def anchors(theme: Theme, accepted: pd.DataFrame, corpus: dict[int, DocumentSentences],
            texts: dict[int, str], embedder: Embedder) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Labels and vectors of a theme's anchors (definition, examples, accepted references' sentences)
    and the vectors of its counter-examples."""
    fixed = anchor_texts(theme)
    labels = [label for label, _ in fixed]
    parts = [embedder.embed([text for _, text in fixed])] if fixed else []
    for row in accepted.head(MAX_ACCEPTED_ANCHORS).itertuples(index=False):
        labels.append(f"accepted reference {row.reference_id}")
        text = texts[row.document_id][row.start:row.end]
        parts.append(_sentence_vector(corpus.get(row.document_id), row.start, row.end, text, embedder)[None, :])
    vectors = np.vstack(parts) if parts else np.zeros((0, embedder.dimension), dtype=np.float32)
    counter = embedder.embed(list(theme.counter_examples)) if theme.counter_examples else \
        np.zeros((0, embedder.dimension), dtype=np.float32)
    return labels, vectors, counter


def learn_reranker(decided: pd.DataFrame, corpus: dict[int, DocumentSentences], texts: dict[int, str],
                   embedder: Embedder, min_decisions: int, seed: int):  # type: ignore[no-untyped-def]
    """A seeded logistic regression over the sentences of decided references (``accepted`` column),
    or None while either class has fewer than ``min_decisions`` references."""
    accepted = int(decided["accepted"].sum())
    if accepted < min_decisions or len(decided) - accepted < min_decisions:
        return None
    from sklearn import linear_model  # a core dependency (the learned second reader's too)

    features = np.vstack([_sentence_vector(corpus.get(r.document_id), r.start, r.end,
                                           texts[r.document_id][r.start:r.end], embedder)
                          for r in decided.itertuples(index=False)])
    model = linear_model.LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000, random_state=seed)
    model.fit(features, decided["accepted"].astype(int).to_numpy())
    return model


def _theme_scores(sentences: DocumentSentences,
                  anchor_sets: list[tuple[list[str], np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """sentences x themes: the best anchor's cosine (-inf where a counter-example is nearer), and
    which anchor it was."""
    scores = np.full((len(sentences.spans), len(anchor_sets)), -np.inf, dtype=np.float32)
    best_anchor = np.zeros(scores.shape, dtype=np.int64)
    for column, (_labels, anchor_vectors, counter) in enumerate(anchor_sets):
        similarity = sentences.vectors @ anchor_vectors.T
        best_anchor[:, column] = similarity.argmax(axis=1)
        best = similarity.max(axis=1)
        if len(counter):
            best = np.where((sentences.vectors @ counter.T).max(axis=1) > best, -np.inf, best)
        scores[:, column] = best
    return scores, best_anchor


def suggest(store: Store, codebook: Codebook, embedder: Embedder, settings: Suggest, *,
            themes: Sequence[str] | None = None, limit: int | None = None, seed: int = 12345,
            progress: Callable[[int, int], None] | None = None) -> SuggestReport:
    """Suggest sentences for each theme (by default every theme with terms or examples)."""
    key = model_key(embedder)
    report = SuggestReport(model=key)
    chosen = [codebook.theme(t) for t in themes] if themes else \
        [t for t in codebook.themes if t.terms or t.examples]
    with store.session() as session:
        document_ids = list(session.scalars(select(Document.id).where(Document.status == "ok", Document.id.in_(
            select(DocumentCase.document_id))).order_by(Document.id)))
        texts = dict(session.execute(select(Document.id, Document.text).where(among(Document.id, document_ids))).all())
        pages = dict(session.execute(select(Document.id, Document.pages).where(among(Document.id, document_ids))).all())
    corpus = embed_documents(store, embedder, document_ids, progress, report)
    report.sentences = sum(len(d.spans) for d in corpus.values())
    refs = references(store)
    compared = [t for t in codebook.themes if t.terms or t.examples or t in chosen]
    anchor_sets = {}
    for theme in compared:
        accepted = refs[(refs["counts_for"] == theme.id) & refs["reviewed"]].sort_values("reference_id")
        labels, anchor_vectors, counter = anchors(theme, accepted, corpus, texts, embedder)
        if labels:
            anchor_sets[theme.id] = (labels, anchor_vectors, counter)
    order = list(anchor_sets)
    scored = {document_id: _theme_scores(sentences, [anchor_sets[t] for t in order])
              for document_id, sentences in corpus.items() if len(sentences.spans)}
    for theme in chosen:
        if theme.id not in anchor_sets:
            continue
        column = order.index(theme.id)
        labels = anchor_sets[theme.id][0]
        own = refs[refs["theme"] == theme.id]
        decided = refs[((refs["theme"] == theme.id) | (refs["counts_for"] == theme.id)) & refs["reviewed"]]
        decided = decided.assign(accepted=decided["counts_for"] == theme.id).sort_values("reference_id")
        reranker = learn_reranker(decided, corpus, texts, embedder, settings.min_decisions, seed)
        if reranker is not None:
            report.reranked.append(theme.id)
        kept = own[(own["origin"] != SEMANTIC) | own["reviewed"] | (own["term"] == READER_TERM)]
        covered: dict[int, list[tuple[int, int]]] = {}
        for document_id, start, end in zip(kept["document_id"], kept["start"], kept["end"], strict=True):
            covered.setdefault(int(document_id), []).append((int(start), int(end)))
        threshold = settings.threshold_for(theme.id)
        candidates = []
        for document_id, (scores, best_anchor) in scored.items():
            sentences, text = corpus[document_id], texts[document_id]
            eligible = scores[:, column] >= threshold
            if settings.best_theme_only:
                eligible &= scores.argmax(axis=1) == column
            for index in np.flatnonzero(eligible):
                start, end, paragraph_start, paragraph_end = (int(v) for v in sentences.spans[index])
                if len(text[start:end].split()) < MIN_WORDS:
                    continue
                if any(start < b and a < end for a, b in covered.get(document_id, ())):
                    continue
                rank = float(reranker.predict_proba(sentences.vectors[index][None, :])[0, 1]) \
                    if reranker is not None else None
                candidates.append((document_id, start, end, float(scores[index, column]),
                                   labels[best_anchor[index, column]], rank, paragraph_start, paragraph_end))
        candidates.sort(key=lambda c: (-(c[5] if c[5] is not None else c[3]), c[0], c[1]))
        if limit is not None:
            candidates = candidates[:limit]
        with store.session() as session:
            undecided = select(Reference.id).where(Reference.theme == theme.id, Reference.origin == SEMANTIC,
                                                   Reference.id.not_in(select(ReviewDecision.reference_id)),
                                                   Reference.id.not_in(select(Suggestion.reference_id).where(
                                                       Suggestion.model.startswith(READER_MODEL))))
            stale = list(session.scalars(undecided))
            unsynchronised = {"synchronize_session": False}  # nothing of them is loaded in this session
            session.execute(delete(Suggestion).where(among(Suggestion.reference_id, stale)),
                            execution_options=unsynchronised)
            session.execute(delete(Reference).where(among(Reference.id, stale)), execution_options=unsynchronised)
            report.removed += len(stale)
            for document_id, start, end, score, compared_with, rank, paragraph_start, paragraph_end in candidates:
                reference = Reference(document_id=document_id, theme=theme.id, term=SUGGESTED_TERM, start=start,
                                      end=end, page=page_of(start, pages[document_id]), origin=SEMANTIC,
                                      codebook_hash=codebook.hash())
                session.add(reference)
                session.flush()
                session.add(Suggestion(reference_id=reference.id, model=key, model_version=embedder.version,
                                       score=score, compared_with=compared_with, rank_score=rank,
                                       paragraph_start=paragraph_start, paragraph_end=paragraph_end))
        report.suggestions[theme.id] = len(candidates)
    return report


def suggestions(store: Store) -> pd.DataFrame:
    """Every reference suggested by sentence embeddings (the learned reader's proposals are its own:
    ``sibkit.secondreader``): reference_id, theme, model, model_version, score, compared_with,
    rank_score (None until the theme's re-ranker is learned)."""
    with store.session() as session:
        rows = session.execute(select(Suggestion.reference_id, Reference.theme, Suggestion.model,
                                      Suggestion.model_version, Suggestion.score, Suggestion.compared_with,
                                      Suggestion.rank_score)
                               .join(Reference, Reference.id == Suggestion.reference_id)
                               .where(~Suggestion.model.startswith(READER_MODEL))
                               .order_by(Suggestion.reference_id)).all()
    return pd.DataFrame(rows, columns=["reference_id", "theme", "model", "model_version", "score", "compared_with",
                                       "rank_score"])


def summary(store: Store, settings: Suggest) -> dict[str, object]:
    """What the report's method section says about suggestions: models, thresholds, counts by outcome."""
    table = suggestions(store)
    if table.empty:
        return {"suggested": 0}
    refs = references(store, count_suggestions=settings.count_unreviewed)
    refs = refs[refs["origin"] == SEMANTIC].set_index("reference_id")
    reviewed = refs["reviewed"].reindex(table["reference_id"]).fillna(False).to_numpy(dtype=bool)
    counted = refs["counts_for"].reindex(table["reference_id"]).notna().to_numpy(dtype=bool)
    return {
        "suggested": len(table), "models": sorted(table["model"].unique()),
        "threshold": settings.threshold, "thresholds": dict(settings.thresholds),
        "accepted": int((reviewed & counted).sum()), "rejected": int((reviewed & ~counted).sum()),
        "unreviewed": int((~reviewed).sum()), "count_unreviewed": settings.count_unreviewed,
        "reranked_themes": sorted(table.loc[table["rank_score"].notna(), "theme"].unique()),
    }
