"""Candidate terms from labelled passages: the phrases of the passages a codebook missed.

For each theme, every phrase of one to ``max_words`` words (lower-cased; not starting or ending with
an English stop word, scikit-learn's list) is counted over the labelled passages: how many passages
hold it, how many of those carry the theme (its *precision* as a term, were it added bare), and how
many of the theme's *misses* (passages labelled with the theme on which the codebook does not fire)
it would find. Candidates are ranked by misses found times the lower end of the Wilson 95% interval
of that precision, so a phrase seen twice is not taken for a rule; a phrase whose lower end is not
above the theme's share of all passages (no better than a passage drawn at random) is left out.

A candidate is not a term. It was found on these passages and flatters them: read the passages it
comes from, write the term in the codebook's own syntax, and measure the change on passages you did
not mine (``sibkit codebook evaluate``, another split or another file).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pandas as pd

from sibkit.coding.codebook import Codebook
from sibkit.coding.evaluate import evaluate_codebook, only_split, read_labelled
from sibkit.errors import SibkitError

COLUMNS = ["theme", "phrase", "misses_found", "misses", "passages", "with_theme", "precision", "precision_low",
           "score", "ids"]
_WORD = re.compile(r"[a-z][a-z'’-]*[a-z]|[a-z]")


def phrases(text: str, max_words: int = 3) -> set[str]:
    """The distinct phrases of one to ``max_words`` words of ``text`` that neither start nor end with a stop
    word (words: letters with inner apostrophes or hyphens, lower-cased)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = _WORD.findall(text.lower().replace("’", "'"))
    found: set[str] = set()
    for start, first in enumerate(words):
        if first in ENGLISH_STOP_WORDS or len(first) < 3:
            continue
        for size in range(1, max_words + 1):
            end = start + size
            if end > len(words):
                break
            last = words[end - 1]
            if last in ENGLISH_STOP_WORDS or len(last) < 3:
                continue
            found.add(" ".join(words[start:end]))
    return found


def mine_terms(codebook: Codebook, labelled: pd.DataFrame | Path | str, *, theme: str | None = None,
               split: str | None = None, max_words: int = 3, min_misses: int = 2, top: int = 15) -> pd.DataFrame:
    """Per theme, the ``top`` phrases that would find at least ``min_misses`` of the codebook's misses
    (columns ``COLUMNS``; ``ids``: the missed passages holding the phrase)."""
    frame = only_split(labelled if isinstance(labelled, pd.DataFrame) else read_labelled(Path(labelled)), split)
    measured = [t.id for t in codebook.themes if t.terms]
    if theme is not None and theme not in measured:
        raise SibkitError(f"{codebook.name} has no theme {theme!r} with terms (themes: {', '.join(measured)})")
    if max_words < 1 or min_misses < 1 or top < 1:
        raise SibkitError("--max-words, --min-misses and --top must be at least 1")
    evaluation = evaluate_codebook(codebook, frame)
    misses: dict[str, set[str]] = defaultdict(set)
    for row in evaluation.details.itertuples(index=False):
        if row.kind == "miss":
            misses[row.theme].add(row.id)
    holders: dict[str, set[str]] = defaultdict(set)
    labels_of: dict[str, tuple[str, ...]] = {}
    for passage_id, text, labels in zip(frame["id"], frame["text"], frame["themes"], strict=True):
        labels_of[passage_id] = labels
        for phrase in phrases(text, max_words):
            holders[phrase].add(passage_id)
    from statsmodels.stats.proportion import proportion_confint

    rows = []
    for current in [theme] if theme else measured:
        missed = misses.get(current, set())
        base_rate = sum(current in labels for labels in labels_of.values()) / max(1, len(labels_of))
        candidates = []
        for phrase, ids in holders.items():
            found = ids & missed
            if len(found) < min_misses:
                continue
            with_theme = sum(current in labels_of[i] for i in ids)
            precision = with_theme / len(ids)
            low = max(0.0, float(proportion_confint(with_theme, len(ids), alpha=0.05, method="wilson")[0]))
            if low <= base_rate:
                continue  # not shown to be more telling than a passage drawn at random
            candidates.append((current, phrase, len(found), len(missed), len(ids), with_theme, precision, low,
                               len(found) * low, " ".join(sorted(found)), frozenset(ids)))
        candidates.sort(key=lambda c: (-c[8], -c[2], -len(c[1]), c[1]))  # on a tie, the longer phrase
        rows.extend(candidate[:-1] for candidate in _without_redundant(candidates)[:top])
    return pd.DataFrame(rows, columns=COLUMNS)


def _without_redundant(candidates: list[tuple]) -> list[tuple]:
    """Drop a phrase held by exactly the passages of a better-ranked one (the other phrases of the same
    sentence), and one inside or around a better-ranked phrase that finds the same misses ("joint" when
    "joint working" finds the same misses and ranks higher)."""
    kept: list[tuple] = []
    for candidate in candidates:
        words = f" {candidate[1]} "
        if any(candidate[10] == other[10]
               or (candidate[9] == other[9] and (f" {other[1]} " in words or words in f" {other[1]} "))
               for other in kept):
            continue
        kept.append(candidate)
    return kept
