"""The codebook measured alone and with the learned reader, on the same labelled passages.

A passage is read whole (the unit the labels and the training examples have). Where a passage is
among the reader's own training examples, its scores come from 5-fold cross-validation over those
examples (each fold's reader trained on the other four, with the same seed, features and
thresholds), so no passage is scored by a reader that saw it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sibkit.coding.codebook import Codebook
from sibkit.coding.evaluate import Evaluation, evaluate_codebook, only_split, read_labelled
from sibkit.coding.matcher import compile_codebook
from sibkit.secondreader.counting import READER_TERM
from sibkit.secondreader.model import LearnedReader, fit, text_digest
from sibkit.secondreader.training import FOLDS, fired_matrix, reader_examples


@dataclass
class ReaderEvaluation:
    """Codebook alone and codebook + reader on the same passages, and what the reader changed."""

    alone: Evaluation
    combined: Evaluation
    reader: str
    cross_validated: int  # passages scored out of fold (they were training examples)
    flagged: dict[str, int] = field(default_factory=dict)  # per theme: keyword hits the reader overruled
    proposed: dict[str, int] = field(default_factory=dict)  # per theme: themes it added

    def table(self) -> pd.DataFrame:
        """One row per theme: passages, P / R / F1 alone and with the reader, flagged, proposed."""
        a = self.alone.themes.set_index("theme")
        b = self.combined.themes.set_index("theme")
        out = pd.DataFrame({"passages": a["passages"], "precision": a["precision"], "recall": a["recall"],
                            "f1": a["f1"], "precision_with_reader": b["precision"], "recall_with_reader": b["recall"],
                            "f1_with_reader": b["f1"]})
        out["flagged"] = [self.flagged.get(t, 0) for t in out.index]
        out["proposed"] = [self.proposed.get(t, 0) for t in out.index]
        return out.reset_index()

    def averages(self) -> pd.DataFrame:
        a, b = self.alone.averages.set_index("average"), self.combined.averages.set_index("average")
        return pd.DataFrame({"precision": a["precision"], "recall": a["recall"], "f1": a["f1"],
                             "precision_with_reader": b["precision"], "recall_with_reader": b["recall"],
                             "f1_with_reader": b["f1"]}).reset_index()


def passage_scores(reader: LearnedReader, codebook: Codebook, texts: list[str], *,
                   count_negated: bool = False) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], int]:
    """{text digest: (proposing, sense) scores} for ``texts``; those among the reader's training examples
    scored out of fold. Returns the scores and how many texts were cross-validated."""
    themes = reader.themes
    trained = reader_examples(reader, themes)
    trained_digests = [text_digest(t) for t in trained.texts]
    wanted = {text_digest(t): t for t in texts}
    overlap = set(wanted) & set(trained_digests)
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if overlap:
        from sklearn.model_selection import KFold

        labels = trained.matrix()
        fired = fired_matrix(compile_codebook(codebook), trained.texts, themes, count_negated)
        seed = int(reader.meta.get("seed", 0))
        c = float(reader.meta.get("C", 4.0))
        for train, held in KFold(n_splits=FOLDS, shuffle=True, random_state=seed).split(trained.texts):
            held = [i for i in held if trained_digests[i] in overlap]
            if not held:
                continue
            fold = fit([trained.texts[i] for i in train], labels[train], themes, seed=seed, fired=fired[train],
                       features=reader.features, c=c, n_features=reader.n_features)
            propose, sense = fold.both([trained.texts[i] for i in held])
            for row, i in enumerate(held):
                scores[trained_digests[i]] = (propose[row], sense[row])
    rest = [d for d in wanted if d not in scores]
    propose, sense = reader.both([wanted[d] for d in rest])
    for row, digest in enumerate(rest):
        scores[digest] = (propose[row], sense[row])
    return scores, len(overlap)


def evaluate_with_reader(codebook: Codebook, labelled: pd.DataFrame | Path | str, reader: LearnedReader, *,
                         split: str | None = None, count_negated: bool = False) -> ReaderEvaluation:
    """The codebook alone and with ``reader`` taking its own judgements as they are (every flag drops a
    keyword hit, every proposal adds a theme): what the reader would change if nobody reviewed it."""
    frame = only_split(labelled if isinstance(labelled, pd.DataFrame) else read_labelled(Path(labelled)), split)
    alone = evaluate_codebook(codebook, frame, count_negated=count_negated)
    scores, cross_validated = passage_scores(reader, codebook, list(frame["text"]), count_negated=count_negated)
    index = {t: i for i, t in enumerate(reader.themes)}
    flagged: dict[str, int] = {}
    proposed: dict[str, int] = {}

    def adjust(passage_id: str, text: str, fired: dict[str, list[str]]) -> dict[str, list[str]]:
        propose, sense = scores[text_digest(text)]
        out: dict[str, list[str]] = {}
        for theme, terms in fired.items():
            if theme in index and sense[index[theme]] < reader.flag_below:
                flagged[theme] = flagged.get(theme, 0) + 1
            else:
                out[theme] = terms
        for theme, column in index.items():
            if theme not in fired and propose[column] >= reader.propose_at:
                proposed[theme] = proposed.get(theme, 0) + 1
                out[theme] = [f"{READER_TERM} {propose[column]:.2f}"]
        return out

    combined = evaluate_codebook(codebook, frame, count_negated=count_negated, adjust=adjust)
    return ReaderEvaluation(alone=alone, combined=combined, reader=reader.name, cross_validated=cross_validated,
                            flagged=flagged, proposed=proposed)
