"""The learned reader's candidates against each other: accuracy by 5-fold cross-validation and scoring speed.

    python benchmarks/eval_reader.py [--minilm]

Training pool: the dev and hard-dev splits of tests/data/relational-sib-labelled.csv (the test splits are
never used). For each candidate, one seeded 5-fold split: a model per theme trained on four folds scores the
fifth; reported are micro precision / recall / F1 of the reader alone (score >= 0.5), and of the codebook
with the reader (a keyword hit stands unless its score is below flag_below; a theme the keywords missed is
added at score >= propose_at; both thresholds the best on the grid, so this figure is optimistic for every
candidate alike), on all passages and on hard-dev alone. Speed: sentences/s scoring the pool on one core.
Candidates: hashed word 1-2-grams, character 3-5-grams and both (logistic regression, C = 1, 4, 16); the
sibkit HashingEmbedder's vectors; with --minilm (the `semantic` extra), the packaged MiniLM's embeddings.
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from sibkit.coding import compile_codebook, load_codebook, read_labelled  # noqa: E402
from sibkit.secondreader.model import fit  # noqa: E402
from sibkit.secondreader.training import FLAG_GRID, PROPOSE_GRID, combine, fired_matrix  # noqa: E402

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "relational-sib-labelled.csv"
SEED = 12345


def shown(values: tuple[float, float, float]) -> str:
    return f"{values[0]:.2f}/{values[1]:.2f}/{values[2]:.3f}"


def figures(predicted: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    tp = int((predicted & (labels == 1)).sum())
    fp = int((predicted & (labels == 0)).sum())
    fn = int((~predicted & (labels == 1)).sum())
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return precision, recall, 2 * precision * recall / max(1e-9, precision + recall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minilm", action="store_true", help="Also the packaged MiniLM (the semantic extra).")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold

    codebook = load_codebook("relational-sib")
    themes = [t.id for t in codebook.themes if t.terms]
    frame = read_labelled(LABELLED)
    pool = frame[frame["split"].isin(["dev", "hard-dev"])].reset_index(drop=True)
    texts = list(pool["text"])
    labels = np.array([[t in row for t in themes] for row in pool["themes"]], dtype=np.int8)
    fired = fired_matrix(compile_codebook(codebook), texts, themes)
    hard = (pool["split"] == "hard-dev").to_numpy()
    folds = list(KFold(5, shuffle=True, random_state=SEED).split(texts))
    everything = np.ones(len(texts), dtype=bool)
    print(f"{len(texts)} passages (dev {int((~hard).sum())}, hard-dev {int(hard.sum())}); codebook "
          f"{codebook.name} {codebook.version} alone: all P/R/F1 {shown(figures(fired, labels))}, "
          f"hard-dev {shown(figures(fired[hard], labels[hard]))}")

    def hashed(features: str, c: float):  # type: ignore[no-untyped-def]
        def scores() -> tuple[np.ndarray, np.ndarray, float]:
            propose, sense = np.zeros(labels.shape), np.zeros(labels.shape)
            for train, held in folds:
                reader = fit([texts[i] for i in train], labels[train], themes, seed=SEED, fired=fired[train],
                             features=features, c=c)
                propose[held], sense[held] = reader.both([texts[i] for i in held])
            started = time.process_time()
            reader.both(texts)
            return propose, sense, len(texts) / (time.process_time() - started)
        return scores

    def embedded(embed, c: float):  # type: ignore[no-untyped-def]
        def scores() -> tuple[np.ndarray, np.ndarray, float]:
            started = time.process_time()
            vectors = embed(texts)
            speed = len(texts) / (time.process_time() - started)
            propose = np.zeros(labels.shape)
            for train, held in folds:
                for column in range(len(themes)):
                    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=SEED)
                    model.fit(vectors[train], labels[train, column])
                    propose[held, column] = model.predict_proba(vectors[held])[:, 1]
            return propose, propose, speed
        return scores

    candidates = [(f"hashed {f} n-grams, C={c:g}", hashed(f, c)) for f in ("words", "chars", "words+chars")
                  for c in (1.0, 4.0, 16.0)]
    from sibkit.suggest.embedders import HashingEmbedder

    candidates += [(f"sibkit HashingEmbedder, C={c:g}", embedded(HashingEmbedder().embed, c)) for c in (1.0, 4.0)]
    minilm = None
    if args.minilm:
        from sibkit.errors import SibkitError
        from sibkit.suggest.embedders import load_embedder

        try:
            minilm = load_embedder("packaged", threads=1)
        except SibkitError as missing:  # the semantic extra is optional: the other candidates still run
            print(f"MiniLM: not measured ({missing})")
    if minilm is not None:
        cache: dict[str, np.ndarray] = {}

        def embed(batch: list[str]) -> np.ndarray:
            if "v" not in cache:
                cache["v"] = minilm.embed(batch)
            return cache["v"]

        candidates += [(f"MiniLM embeddings, C={c:g}", embedded(embed, c)) for c in (1.0, 4.0, 16.0)]
    print(f"{'candidate':36} {'alone P/R/F1':>18} {'+codebook P/R/F1 (all)':>24} {'(hard-dev)':>18} "
          f"{'at':>10} {'sent/s':>8}")
    for name, run in candidates:
        propose, sense, speed = run()
        best = max(((figures(combine(fired, propose, sense, a, b), labels)[2], a, b)
                    for a in PROPOSE_GRID for b in FLAG_GRID), key=lambda x: (x[0], x[1], -x[2]))
        _, propose_at, flag_below = best
        together = combine(fired, propose, sense, propose_at, flag_below)
        print(f"{name:36} {shown(figures(propose >= 0.5, labels)):>18} "
              f"{shown(figures(together[everything], labels[everything])):>24} "
              f"{shown(figures(together[hard], labels[hard])):>18} "
              f"{f'{propose_at:g}/{flag_below:g}':>10} {speed:8,.0f}", flush=True)


if __name__ == "__main__":
    main()
