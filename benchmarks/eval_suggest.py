"""How much suggestions add to keywords, on labelled passages (the codebook's development set).

For each passage and theme with terms: the keywords *fire* when the codebook finds a hit (not in a
negated clause); a *suggestion* is made when the keywords do not fire and some sentence of the
passage scores at or above the threshold against the theme's anchors (as `sibkit suggest` does,
counter-examples included). The threshold is chosen on the dev half (the lowest whose suggestion
precision is at least --precision) and measured on the test half. Two anchor sets: the codebook's
definition and examples; and those plus the dev half's labelled passages standing in for
passages reviewers accepted (on the dev half each passage's own anchor is left out).

    python benchmarks/eval_suggest.py [--labelled tests/data/relational-sib-labelled.csv]
        [--codebook relational-sib] [--model packaged|hashing|NAME] [--threshold 0.45]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sibkit.coding import compile_codebook, load_codebook
from sibkit.errors import SibkitError
from sibkit.suggest import load_embedder, split_sentences
from sibkit.suggest.anchors import anchor_texts

ROOT = Path(__file__).resolve().parents[1]


class CachedEmbedder:
    """Embeds each distinct text once (the four measurements share the sentences)."""

    def __init__(self, embedder) -> None:  # type: ignore[no-untyped-def]
        self.embedder, self.name, self.version = embedder, embedder.name, embedder.version
        self.cache: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            self.cache.update(zip(missing, self.embedder.embed(missing), strict=True))
        return np.vstack([self.cache[t] for t in texts]) if texts else np.zeros((0, self.embedder.dimension))


def read_labelled(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["labels"] = frame["themes"].map(lambda v: {p.strip() for p in v.split(";") if p.strip()})
    return frame


def keyword_fires(codebook, texts: list[str]) -> list[set[str]]:  # type: ignore[no-untyped-def]
    compiled = compile_codebook(codebook)
    return [{h.theme for h in compiled.match(text) if not getattr(h, "negated", False)} for text in texts]


def scores(frame: pd.DataFrame, codebook, embedder, themes: list[str], with_dev: bool,  # type: ignore[no-untyped-def]
           best_theme_only: bool) -> np.ndarray:
    """passages x themes: the best sentence's similarity, or -inf where a counter-example is nearer
    (and, with ``best_theme_only``, where another theme scores higher for that sentence)."""
    sentence_rows, sentences = [], []
    for row, text in enumerate(frame["text"]):
        for sentence in split_sentences(text):
            sentence_rows.append(row)
            sentences.append(text[sentence.start:sentence.end])
    vectors = embedder.embed(sentences)
    passage_vectors = embedder.embed(list(frame["text"]))
    sentence_rows_array = np.array(sentence_rows)
    per_sentence = np.full((len(sentences), len(themes)), -np.inf, dtype=np.float32)
    for column, theme_id in enumerate(themes):
        theme = codebook.theme(theme_id)
        fixed = anchor_texts(theme)
        anchors = embedder.embed([text for _, text in fixed])
        owners = np.full(len(fixed), -1)
        if with_dev:
            dev = np.flatnonzero((frame["split"] == "dev").to_numpy() & frame["labels"].map(
                lambda labels, t=theme_id: t in labels).to_numpy())
            anchors = np.vstack([anchors, passage_vectors[dev]])
            owners = np.concatenate([owners, dev])
        similarity = vectors @ anchors.T
        similarity[sentence_rows_array[:, None] == owners[None, :]] = -np.inf  # never compare a passage with itself
        best = similarity.max(axis=1)
        if theme.counter_examples:
            nearest_counter = (vectors @ embedder.embed(list(theme.counter_examples)).T).max(axis=1)
            best = np.where(nearest_counter > best, -np.inf, best)
        per_sentence[:, column] = best
    if best_theme_only:
        per_sentence = np.where(per_sentence == per_sentence.max(axis=1, keepdims=True), per_sentence, -np.inf)
    out = np.full((len(frame), len(themes)), -np.inf, dtype=np.float32)
    for column in range(len(themes)):
        np.maximum.at(out[:, column], sentence_rows_array, per_sentence[:, column])
    return out


def measure(frame: pd.DataFrame, fired: list[set[str]], score: np.ndarray, themes: list[str],
            threshold: float) -> pd.DataFrame:
    rows = []
    for column, theme in enumerate(themes):
        labelled = frame["labels"].map(lambda labels, t=theme: t in labels).to_numpy()
        keyword = np.array([theme in f for f in fired])
        suggested = ~keyword & (score[:, column] >= threshold)
        rows.append((theme, int(labelled.sum()), int((keyword & labelled).sum()), int(suggested.sum()),
                     int((suggested & labelled).sum())))
    table = pd.DataFrame(rows, columns=["theme", "passages", "keyword_found", "suggested", "suggested_right"])
    total = table.drop(columns="theme").sum()
    table.loc[len(table)] = ["(all themes)", *total.tolist()]
    table["recall_keywords"] = table["keyword_found"] / table["passages"]
    table["recall_together"] = (table["keyword_found"] + table["suggested_right"]) / table["passages"]
    table["suggestion_precision"] = table["suggested_right"] / table["suggested"].where(table["suggested"] > 0)
    return table


def choose_threshold(frame, fired, score, themes, precision: float) -> float:  # type: ignore[no-untyped-def]
    for threshold in np.arange(0.05, 0.95, 0.01):
        total = measure(frame, fired, score, themes, float(threshold)).iloc[-1]
        if total["suggested"] and total["suggestion_precision"] >= precision:
            return round(float(threshold), 2)
    return 0.95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labelled", type=Path, default=ROOT / "tests" / "data" / "relational-sib-labelled.csv")
    parser.add_argument("--codebook", default="relational-sib")
    parser.add_argument("--model", default="packaged")
    parser.add_argument("--precision", type=float, default=0.6, help="suggestion precision to reach on dev")
    parser.add_argument("--threshold", type=float, default=None, help="use this threshold instead of choosing one")
    args = parser.parse_args()
    if not args.labelled.exists():
        raise SystemExit(f"{args.labelled}: no such file (the labelled passages come with the codebook's development "
                         "set; pass --labelled)")
    codebook = load_codebook(args.codebook, Path.cwd())
    frame = read_labelled(args.labelled)
    themes = [t.id for t in codebook.themes if t.terms]
    started = time.perf_counter()
    try:
        model = load_embedder(args.model)
    except SibkitError as missing:  # the semantic extra is optional: measure the hashing stand-in instead
        print(f"model {args.model}: not measured ({missing}); the figures below are the hashing stand-in's")
        model = load_embedder("hashing")
    embedder = CachedEmbedder(model)
    fired = keyword_fires(codebook, list(frame["text"]))
    dev, test = (frame["split"] == "dev").to_numpy(), (frame["split"] == "test").to_numpy()
    print(f"{args.labelled.name}: {int(dev.sum())} dev and {int(test.sum())} test passages; codebook "
          f"{codebook.name} {codebook.version} ({len(themes)} themes with terms); model {embedder.name} "
          f"{embedder.version}".rstrip())
    pd.set_option("display.width", 200)
    for with_dev, best_theme_only in ((False, False), (False, True), (True, False), (True, True)):
        score = scores(frame, codebook, embedder, themes, with_dev, best_theme_only)
        dev_frame, test_frame = frame[dev].reset_index(drop=True), frame[test].reset_index(drop=True)
        dev_fired, test_fired = [f for f, d in zip(fired, dev, strict=True) if d], \
            [f for f, t in zip(fired, test, strict=True) if t]
        threshold = args.threshold if args.threshold is not None else \
            choose_threshold(dev_frame, dev_fired, score[dev], themes, args.precision)
        anchors = "definition + examples + dev passages (as accepted)" if with_dev else "definition + examples"
        anchors += "; only a sentence's best theme" if best_theme_only else "; every theme over the threshold"
        print(f"\nanchors: {anchors}; threshold {threshold:.2f} "
              f"({'given' if args.threshold is not None else f'chosen on dev for precision >= {args.precision}'})")
        table = measure(test_frame, test_fired, score[test], themes, threshold)
        print("test half:")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        frontier = []
        for other in np.arange(0.25, 0.75, 0.05):
            total = measure(test_frame, test_fired, score[test], themes, float(other)).iloc[-1]
            frontier.append(f"{other:.2f}: recall {total['recall_together']:.2f}, precision "
                            f"{total['suggestion_precision']:.2f} ({int(total['suggested'])})")
        print("test half at other thresholds (all themes): " + "; ".join(frontier))
        frontier = []
        for other in np.arange(0.45, 0.7, 0.05):
            total = measure(dev_frame, dev_fired, score[dev], themes, float(other)).iloc[-1]
            frontier.append(f"{other:.2f}: recall {total['recall_together']:.2f}, precision "
                            f"{total['suggestion_precision']:.2f} ({int(total['suggested'])})")
        print("dev half (all themes): " + "; ".join(frontier))
    learned(frame, fired, embedder, themes, dev, test)
    print(f"\n({time.perf_counter() - started:.0f} s)")


def learned(frame, fired, embedder, themes, dev, test) -> None:  # type: ignore[no-untyped-def]
    """Learning from review, simulated: per theme a logistic regression (as `sibkit suggest` re-ranks with)
    trained on the dev passages' embeddings (labelled with the theme or not), suggesting test passages
    the keywords missed whose probability is at least 0.5."""
    from sklearn.linear_model import LogisticRegression

    vectors = embedder.embed(list(frame["text"]))
    score = np.full((len(frame), len(themes)), -np.inf, dtype=np.float32)
    for column, theme in enumerate(themes):
        labels = frame["labels"].map(lambda labels, t=theme: t in labels).to_numpy()
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000, random_state=12345)
        model.fit(vectors[dev], labels[dev].astype(int))
        score[test, column] = model.predict_proba(vectors[test])[:, 1]
    test_frame = frame[test].reset_index(drop=True)
    test_fired = [f for f, t in zip(fired, test, strict=True) if t]
    print("\nlearned from the dev half's labels (logistic regression per theme, probability >= 0.5); test half:")
    print(measure(test_frame, test_fired, score[test], themes, 0.5).to_string(
        index=False, float_format=lambda v: f"{v:.2f}"))
    frontier = []
    for cut in (0.6, 0.7, 0.8, 0.9):
        total = measure(test_frame, test_fired, score[test], themes, cut).iloc[-1]
        frontier.append(f"{cut:.1f}: recall {total['recall_together']:.2f}, precision "
                        f"{total['suggestion_precision']:.2f} ({int(total['suggested'])})")
    print("at other probabilities (all themes): " + "; ".join(frontier))


if __name__ == "__main__":
    main()
