"""Suggested passages: sentences that mean what a theme means, found by sentence embeddings offline,
stored as references with origin ``semantic`` for a person to accept or reject, re-ranked by what
reviewers decided.

Names are imported from their modules on first use (PEP 562): the command line stays quick.
"""

from __future__ import annotations

from sibkit.lazy import lazy_exports

_EXPORTS = {
    "Sentence": "sentences",
    "split_sentences": "sentences",
    "Embedder": "embedders",
    "HashingEmbedder": "embedders",
    "SentenceTransformerEmbedder": "embedders",
    "load_embedder": "embedders",
    "SuggestReport": "engine",
    "embed_documents": "engine",
    "learn_reranker": "engine",
    "suggest": "engine",
    "suggestions": "engine",
    "summary": "engine",
    "suggest_study": "study",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
