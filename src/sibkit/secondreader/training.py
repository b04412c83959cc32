"""What the learned reader learns from, how it is trained, and how it joins the codebook.

Examples are texts with a label per theme (1, 0, or -1 for "not labelled for this theme"):
labelled passages (every theme labelled), a study's review decisions (the sentence of each reviewed
reference: accepted for its theme, rejected against it, recoded to another) and its recall audit
(each marked sentence, every theme labelled). Whether the codebook's keywords find each theme in an
example is computed again with the codebook being trained for (the sense heads learn from those).

A reader file carries its own training examples, so ``sibkit codebook train --study`` adds a study's
decisions to them and trains again; the same examples and seed give the same file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sibkit.coding.codebook import Codebook
from sibkit.coding.matcher import CompiledCodebook, compile_codebook
from sibkit.secondreader.model import DEFAULT_C, DEFAULT_FEATURES, UNLABELLED, LearnedReader, fit, text_digest

FOLDS = 5
PROPOSE_GRID = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
FLAG_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


@dataclass
class Examples:
    """Training texts, texts x themes labels (1 / 0 / -1), and where each text came from."""

    themes: list[str]
    texts: list[str] = field(default_factory=list)
    labels: list[list[int]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def add(self, text: str, labels: dict[str, int], source: str) -> None:
        self.texts.append(text)
        self.labels.append([labels.get(t, UNLABELLED) for t in self.themes])
        self.sources.append(source)

    def extend(self, other: Examples) -> None:
        for text, row, source in zip(other.texts, other.labels, other.sources, strict=True):
            by_theme = {t: v for t, v in zip(other.themes, row, strict=True) if v != UNLABELLED}
            self.add(text, by_theme, source)

    def matrix(self) -> np.ndarray:
        return np.array(self.labels, dtype=np.int8).reshape(len(self.texts), len(self.themes))

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for source in self.sources:
            out[source] = out.get(source, 0) + 1
        return out

    def to_json(self) -> list[dict[str, Any]]:
        return [{"text": text, "source": source,
                 "labels": {t: v for t, v in zip(self.themes, row, strict=True) if v != UNLABELLED}}
                for text, row, source in zip(self.texts, self.labels, self.sources, strict=True)]

    @classmethod
    def from_json(cls, themes: Sequence[str], rows: list[dict[str, Any]]) -> Examples:
        examples = cls(list(themes))
        for row in rows:
            examples.add(str(row["text"]), {str(k): int(v) for k, v in dict(row.get("labels", {})).items()},
                         str(row.get("source", "")))
        return examples

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode("utf-8")).hexdigest()


def labelled_examples(frame: pd.DataFrame, themes: Sequence[str], source: str = "labelled") -> Examples:
    """Labelled passages (``coding.evaluate.read_labelled``): every theme labelled, 1 where listed."""
    examples = Examples(list(themes))
    for text, labels, split in zip(frame["text"], frame["themes"], frame["split"], strict=True):
        examples.add(str(text), {t: int(t in labels) for t in themes}, f"{source} {split}".strip())
    return examples


def fired_matrix(compiled: CompiledCodebook, texts: Sequence[str], themes: Sequence[str],
                 count_negated: bool = False) -> np.ndarray:
    """texts x themes: whether the codebook finds a counted hit of the theme in the text."""
    index = {t: i for i, t in enumerate(themes)}
    out = np.zeros((len(texts), len(themes)), dtype=bool)
    for row, text in enumerate(texts):
        for hit in compiled.match(text):
            if (count_negated or not hit.negated) and hit.theme in index:
                out[row, index[hit.theme]] = True
    return out


def combine(fired: np.ndarray, propose: np.ndarray, sense: np.ndarray, propose_at: float,
            flag_below: float) -> np.ndarray:
    """Codebook + learned reader: a keyword hit stands unless its sense score is below ``flag_below``;
    a theme the keywords did not find is added where the proposing score reaches ``propose_at``."""
    return (fired & (sense >= flag_below)) | (~fired & (propose >= propose_at))


def _micro_f1(predicted: np.ndarray, labels: np.ndarray) -> float:
    known = labels != UNLABELLED
    truth = labels == 1
    tp = int((predicted & truth & known).sum())
    fp = int((predicted & ~truth & known).sum())
    fn = int((~predicted & truth & known).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def out_of_fold(examples: Examples, fired: np.ndarray, *, seed: int, features: str = DEFAULT_FEATURES,
                c: float = DEFAULT_C, folds: int = FOLDS) -> tuple[np.ndarray, np.ndarray]:
    """(proposing, sense) scores of every example from a reader trained on the other folds (seeded)."""
    from sklearn.model_selection import KFold

    labels = examples.matrix()
    propose = np.zeros(labels.shape)
    sense = np.zeros(labels.shape)
    for train, held in KFold(n_splits=folds, shuffle=True, random_state=seed).split(examples.texts):
        reader = fit([examples.texts[i] for i in train], labels[train], examples.themes, seed=seed,
                     fired=fired[train], features=features, c=c)
        propose[held], sense[held] = reader.both([examples.texts[i] for i in held])
    return propose, sense


def choose_thresholds(labels: np.ndarray, fired: np.ndarray, propose: np.ndarray,
                      sense: np.ndarray) -> tuple[float, float, float]:
    """(propose_at, flag_below, micro F1): the grid point where codebook + reader scores best on
    out-of-fold scores (ties: the higher propose_at, then the lower flag_below: fewer changes)."""
    best = (PROPOSE_GRID[-1], 0.0, -1.0)
    for propose_at in PROPOSE_GRID:
        for flag_below in FLAG_GRID:
            score = _micro_f1(combine(fired, propose, sense, propose_at, flag_below), labels)
            if score > best[2] + 1e-12 or (abs(score - best[2]) <= 1e-12 and
                                           (propose_at, -flag_below) > (best[0], -best[1])):
                best = (propose_at, flag_below, score)
    return best


def train(codebook: Codebook, examples: Examples, *, seed: int, features: str = DEFAULT_FEATURES,
          c: float = DEFAULT_C, count_negated: bool = False, described: str = "") -> LearnedReader:
    """A reader for ``codebook``'s themes: thresholds chosen by 5-fold cross-validation, then trained on
    every example. The file records the codebook, the examples (and their digest), seed and figures."""
    compiled = compile_codebook(codebook)
    labels = examples.matrix()
    fired = fired_matrix(compiled, examples.texts, examples.themes, count_negated)
    if len(examples.texts) >= 2 * FOLDS:
        propose, sense = out_of_fold(examples, fired, seed=seed, features=features, c=c)
        propose_at, flag_below, cv_f1 = choose_thresholds(labels, fired, propose, sense)
        codebook_f1 = _micro_f1(fired, labels)
    else:
        propose_at, flag_below, cv_f1, codebook_f1 = 0.9, 0.0, float("nan"), float("nan")
    meta = {"codebook": f"{codebook.name} {codebook.version}", "codebook_name": codebook.name,
            "codebook_version": codebook.version, "codebook_hash": codebook.hash(),
            "matching_hash": codebook.matching_hash(), "trained_on": described,
            "sources": examples.counts(), "examples_digest": examples.digest(),
            "cross_validation": {"folds": FOLDS, "micro_f1_codebook": codebook_f1,
                                 "micro_f1_with_reader": cv_f1},
            "thresholds": {"propose_at": propose_at, "flag_below": flag_below}}
    reader = fit(examples.texts, labels, examples.themes, seed=seed, fired=fired, features=features, c=c, meta=meta)
    reader.propose_at, reader.flag_below = propose_at, flag_below
    reader.examples = examples.to_json()
    return reader


def reader_examples(reader: LearnedReader, themes: Sequence[str]) -> Examples:
    """The examples a reader was trained on (carried in its file), labelled for ``themes``."""
    return Examples.from_json(themes, reader.examples)


def digests(reader: LearnedReader) -> set[str]:
    return {text_digest(row["text"]) for row in reader.examples}
