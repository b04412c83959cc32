"""A learned reader trained on one set of labelled passages, measured on another it never saw.

    python benchmarks/eval_transfer.py --train A.csv [--train B.csv] --test C.csv [--codebook NAME] [--minilm]

`codebook evaluate --reader` scores passages a reader was trained on by cross-validation; this asks the
question a study asks of its own decisions: trained on *these* documents' labels, what does the reader
add on *other* documents? For each candidate the two thresholds (propose a theme the keywords missed at
score >= propose_at; drop a keyword hit whose sense score is below flag_below) are chosen by seeded 5-fold
cross-validation on the training passages alone, as `sibkit codebook train` chooses them; the reader is
then trained on every training passage and scores the test passages once. Nothing is tuned on the test
file. Printed: micro precision / recall / F1 on the test file of the codebook alone and with each reader.

Candidates: sibkit's reader (hashed word 1-2-grams and character 3-5-grams, logistic regression, C=4), and
with --minilm (the `semantic` extra) logistic regressions over the packaged MiniLM's sentence embeddings
(C = 1 and 4; one head per theme, which both proposes and judges senses).
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import argparse  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sibkit.coding import compile_codebook, load_codebook, read_labelled  # noqa: E402
from sibkit.secondreader.model import fit  # noqa: E402
from sibkit.secondreader.training import choose_thresholds, combine, fired_matrix  # noqa: E402

SEED = 12345
FOLDS = 5

#: (train texts, train labels, train fired, test texts) -> (out-of-fold propose, sense; test propose, sense)
Candidate = Callable[[list[str], np.ndarray, np.ndarray, list[str]],
                     tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def figures(predicted: np.ndarray, labels: np.ndarray) -> str:
    truth = labels == 1
    tp, fp, fn = int((predicted & truth).sum()), int((predicted & ~truth).sum()), int((~predicted & truth).sum())
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return f"{precision:.3f} / {recall:.3f} / {2 * tp / max(1, 2 * tp + fp + fn):.3f}"


def load(paths: list[Path], splits: list[str], themes: list[str]) -> tuple[list[str], np.ndarray]:
    frames = [read_labelled(path) for path in paths]
    frame = pd.concat(frames, ignore_index=True)
    if splits:
        frame = frame[frame["split"].isin([s.lower() for s in splits])]
    if frame.empty:
        raise SystemExit(f"no passages in {', '.join(map(str, paths))}" + (f" of splits {splits}" if splits else ""))
    labels = np.array([[t in row for t in themes] for row in frame["themes"]], dtype=np.int8)
    return list(frame["text"]), labels


def hashed(texts: list[str], labels: np.ndarray, fired: np.ndarray, test: list[str]):  # type: ignore[no-untyped-def]
    from sklearn.model_selection import KFold

    themes = [str(i) for i in range(labels.shape[1])]
    propose, sense = np.zeros(labels.shape), np.zeros(labels.shape)
    for train, held in KFold(FOLDS, shuffle=True, random_state=SEED).split(texts):
        reader = fit([texts[i] for i in train], labels[train], themes, seed=SEED, fired=fired[train])
        propose[held], sense[held] = reader.both([texts[i] for i in held])
    reader = fit(texts, labels, themes, seed=SEED, fired=fired)
    return (propose, sense, *reader.both(test))


def minilm(costs: tuple[float, ...]) -> list[tuple[str, Candidate]]:
    """One candidate per regularisation cost, all over one load of the model and one embedding of each set."""
    from sibkit.errors import SibkitError
    from sibkit.suggest.embedders import load_embedder

    try:
        embedder = load_embedder("packaged", threads=1)
    except SibkitError as missing:  # the semantic extra is optional: the other candidates still run
        print(f"MiniLM: not measured ({missing})")
        return []
    cache: dict[tuple[str, ...], np.ndarray] = {}

    def embed(texts: list[str]) -> np.ndarray:
        key = tuple(texts)
        if key not in cache:
            cache[key] = embedder.embed(texts)
        return cache[key]

    def candidate(c: float) -> Candidate:
        def run(texts: list[str], labels: np.ndarray, fired: np.ndarray, test: list[str]):  # type: ignore[no-untyped-def]
            from sklearn.linear_model import LogisticRegression
            from sklearn.model_selection import KFold

            vectors, test_vectors = embed(texts), embed(test)
            scores, test_scores = np.zeros(labels.shape), np.zeros((len(test), labels.shape[1]))
            for column in range(labels.shape[1]):
                target = labels[:, column]
                if target.min() == target.max():
                    scores[:, column] = test_scores[:, column] = float(target.max())
                    continue
                for train, held in KFold(FOLDS, shuffle=True, random_state=SEED).split(texts):
                    if target[train].min() == target[train].max():
                        scores[held, column] = float(target[train].max())
                        continue
                    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=SEED)
                    scores[held, column] = model.fit(vectors[train], target[train]).predict_proba(vectors[held])[:, 1]
                model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=SEED)
                test_scores[:, column] = model.fit(vectors, target).predict_proba(test_vectors)[:, 1]
            return scores, scores, test_scores, test_scores

        return run

    return [(f"codebook + MiniLM embeddings, C={c:g}", candidate(c)) for c in costs]


def train_test_parser(description: str) -> argparse.ArgumentParser:
    """The arguments every train-on-one-set, measure-on-another script takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--train", type=Path, action="append", required=True, help="Labelled passages to train on.")
    parser.add_argument("--train-split", action="append", default=[], help="Only these splits of --train.")
    parser.add_argument("--test", type=Path, required=True, help="Labelled passages to measure on.")
    parser.add_argument("--codebook", default="relational-sib")
    return parser


def main() -> None:
    parser = train_test_parser(__doc__.splitlines()[0])
    parser.add_argument("--minilm", action="store_true", help="Also the packaged MiniLM (the semantic extra).")
    args = parser.parse_args()
    codebook = load_codebook(args.codebook)
    themes = [t.id for t in codebook.themes if t.terms]
    compiled = compile_codebook(codebook)
    train_texts, train_labels = load(args.train, args.train_split, themes)
    test_texts, test_labels = load([args.test], [], themes)
    train_fired = fired_matrix(compiled, train_texts, themes)
    test_fired = fired_matrix(compiled, test_texts, themes)
    print(f"Trained on {len(train_texts)} passages ({', '.join(p.name for p in args.train)}"
          + (f", splits {', '.join(args.train_split)}" if args.train_split else "") + f"); measured on "
          f"{len(test_texts)} passages of {args.test.name}; codebook {codebook.name} {codebook.version}.")
    print(f"{'':44} {'micro P / R / F1 on the test file':>34}  thresholds (from the training passages)")
    print(f"{'codebook alone':44} {figures(test_fired, test_labels):>34}")
    candidates: list[tuple[str, Candidate]] = [("codebook + sibkit reader (words+chars, C=4)", hashed)]
    if args.minilm:
        candidates += minilm((1.0, 4.0))
    for name, run in candidates:
        propose, sense, test_propose, test_sense = run(train_texts, train_labels, train_fired, test_texts)
        propose_at, flag_below, _ = choose_thresholds(train_labels, train_fired, propose, sense)
        together = combine(test_fired, test_propose, test_sense, propose_at, flag_below)
        print(f"{name:44} {figures(together, test_labels):>34}  propose at {propose_at:g}, flag below "
              f"{flag_below:g}", flush=True)


if __name__ == "__main__":
    main()
