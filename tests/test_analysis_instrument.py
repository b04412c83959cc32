"""Findings that carry the instrument's error: the seeded Monte Carlo over measured precision and recall,
with expectations worked out by hand (the edge cases reproduce or erase the observed findings exactly)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sibkit.analysis.instrument import (
    NOT_MEASURED,
    carry_error,
    error_table,
    measured_error,
    recall_from_audit,
)
from sibkit.study.model import Presence, parse_study

ONE = Presence(min_references=1)


def _counts(hits: dict[str, tuple[list[int], list[int]]], words: int = 1000) -> tuple[pd.DataFrame, pd.Series]:
    """theme -> (hits per successful case, hits per struggling case)."""
    rows, classes = [], {}
    for theme, (successful, struggling) in hits.items():
        for prefix, group in (("S", successful), ("T", struggling)):
            for i, k in enumerate(group):
                case = f"{prefix}{i}"
                classes[case] = "successful" if prefix == "S" else "struggling"
                rows.append({"case_id": case, "theme": theme, "effective_references": k, "words": words,
                             "rate_per_10k": 1e4 * k / words})
    return pd.DataFrame(rows), pd.Series(classes)


HITS = {"A": ([1, 1, 0, 0], [0, 0, 0, 0]), "B": ([3, 2, 1, 0], [1, 0, 0, 0])}
PUBLISHED = parse_study("analysis:\n  published:\n    - source: x\n      themes: [A, B]\n"
                        "      difference_pp: {low: 13, high: 23}\n").analysis.published


def test_precision_and_recall_of_one_reproduce_the_observed_findings() -> None:
    counts, classes = _counts(HITS)
    error = error_table({"A": {"precision": 1, "recall": 1}, "B": {"precision": 1, "recall": 1}}, "test")
    result = carry_error(counts, classes, error, ONE, published=PUBLISHED, primary=["A", "B"], draws=200, seed=3)
    table = result.themes.set_index("theme")
    # A: 2 of 4 against 0 of 4, +50 pp in every draw; B: 3 of 4 against 1 of 4, +50 pp
    for theme in ("A", "B"):
        row = table.loc[theme]
        assert row["observed_difference_pp"] == 50.0
        assert (row["mean_difference_pp"], row["low_pp"], row["high_pp"]) == (50.0, 50.0, 50.0)
        assert (row["same_sign"], row["verdict_holds"], row["gain_probability"]) == (1.0, 1.0, 0.0)
        assert bool(row["survives"])
    assert result.survivors == ["A", "B"] and result.measured
    # overall: successful 5 themes over 4 cases, struggling 1: 1 - 0.25 / 1.25 = 0.8 in every draw
    assert result.overall["observed"] == pytest.approx(0.8)
    assert (result.overall["low"], result.overall["high"], result.overall["same_sign"]) == pytest.approx((0.8, 0.8, 1))


def test_precision_zero_removes_every_theme() -> None:
    counts, classes = _counts(HITS)
    error = error_table({"A": {"precision": 0, "recall": 0.5}, "B": {"precision": 0, "recall": 0.5}}, "test")
    table = carry_error(counts, classes, error, ONE, draws=100, seed=3).themes.set_index("theme")
    for theme in ("A", "B"):
        # no hit is kept, so no case keeps the theme; E[TP] = 0, so no missed case is implied either
        assert table.loc[theme, "gain_probability"] == 0.0
        assert (table.loc[theme, "mean_difference_pp"], table.loc[theme, "low_pp"], table.loc[theme, "high_pp"]) \
            == (0.0, 0.0, 0.0)
        assert table.loc[theme, "same_sign"] == 0.0 and not table.loc[theme, "survives"]


def test_the_gain_probability_and_the_expected_difference_by_hand() -> None:
    counts, classes = _counts({"A": HITS["A"]})
    error = error_table({"A": {"precision": 0.5, "recall": 0.5}}, "test")
    row = carry_error(counts, classes, error, ONE, draws=20000, seed=7).themes.iloc[0]
    # E[TP] = 2 cases x 0.5 = 1; missed = 1 x (1 - 0.5) / 0.5 = 1, over the 6 cases without the theme: g = 1/6
    assert row["gain_probability"] == pytest.approx(1 / 6)
    # E[share successful] = (2 x 0.5 + 2 x 1/6) / 4 = 1/3; E[share struggling] = 1/6; difference +16.7 pp.
    # Draw-to-draw variance: successful (2 x 1/4 + 2 x 5/36) / 16, struggling (4 x 5/36) / 16, sd 28.9 pp; the
    # mean of 20,000 draws has a standard error of 0.20 pp: within 0.65 pp at 3 se.
    assert row["mean_difference_pp"] == pytest.approx(100 / 6, abs=0.65)
    assert 0 < row["same_sign"] < 1


def test_a_presence_rule_of_two_references_by_hand() -> None:
    counts, classes = _counts({"A": ([2, 2, 0, 0], [0, 0, 0, 0])})
    error = error_table({"A": {"precision": 0.5, "recall": 0.5}}, "test")
    row = carry_error(counts, classes, error, Presence(min_references=2), draws=50, seed=1).themes.iloc[0]
    # a case with 2 hits keeps both with probability 0.25: E[TP] = 0.5, missed 0.5 over 6 cases: g = 1/12
    assert row["gain_probability"] == pytest.approx(1 / 12)
    # a rate rule: 2 hits in 1,000 words is 20 per 10,000; at least 15 needs both hits kept, as above
    rate = carry_error(counts, classes, error, Presence(min_rate=15), draws=50, seed=1).themes.iloc[0]
    assert rate["gain_probability"] == pytest.approx(1 / 12)


def test_seeded_and_unmeasured_themes_are_left_as_observed() -> None:
    counts, classes = _counts(HITS)
    error = error_table({"B": {"precision": 0.6, "recall": 0.6}}, "codebook 3 as measured")
    first = carry_error(counts, classes, error, ONE, published=PUBLISHED, primary=["A", "B"], draws=300, seed=9)
    second = carry_error(counts, classes, error, ONE, published=PUBLISHED, primary=["A", "B"], draws=300, seed=9)
    pd.testing.assert_frame_equal(first.themes, second.themes)
    table = first.themes.set_index("theme")
    assert table.loc["A", "source"] == NOT_MEASURED and table.loc["A", "note"] == "not measured: left as observed"
    assert math.isnan(table.loc["A", "same_sign"]) and table.loc["A", "survives"] is None
    assert table.loc["B", "source"] == "codebook 3 as measured"
    # B's verdict on 3/4 vs 1/4 with Bonferroni over 2 themes: no evidence either way, in the draws too
    assert table.loc["B", "observed_verdict"] == "no evidence either way"
    assert 0 <= table.loc["B", "verdict_holds"] <= 1
    assert first.sources == ["codebook 3 as measured"]
    other = carry_error(counts, classes, error, ONE, primary=["A", "B"], draws=300, seed=10).themes
    assert not np.isclose(other.set_index("theme").loc["B", "mean_difference_pp"], table.loc["B", "mean_difference_pp"])


def test_where_the_figures_come_from() -> None:
    codebook = SimpleNamespace(name="relational-sib", version="3", measured={
        "on": "159 passages labelled blind", "themes": {"A": {"precision": 0.7, "recall": 0.6, "passages": 40},
                                                        "B": {"precision": None, "recall": 0.5}}})
    table = measured_error(codebook)
    assert list(table["theme"]) == ["A"]  # B has no precision: not measured
    assert (table["precision"].item(), table["recall"].item()) == (0.7, 0.6)
    assert table["source"].item() == "relational-sib 3 as measured"
    assert table["on"].item() == "159 passages labelled blind"
    own = pd.DataFrame({"theme": ["A"], "precision": [0.9], "recall": [0.8]})
    first = measured_error(codebook, lambda: own)
    assert first["source"].item() == "the study's own review and recall audit" and first["precision"].item() == 0.9
    assert measured_error(codebook, lambda: None)["source"].item() == "relational-sib 3 as measured"
    assert measured_error(SimpleNamespace(name="x", version="1")).empty


def test_recall_from_a_review_and_an_audit_by_hand() -> None:
    # 100 counted hits at precision 0.6: 60 true; a miss rate of 1% over 2,000 sentences without a hit: 20
    # missed; recall 60 / 80
    assert recall_from_audit(100, 0.6, 0.01, 2000) == pytest.approx(0.75)
    assert math.isnan(recall_from_audit(0, 0.6, 0.0, 2000))


def test_a_theme_no_case_has_a_hit_for_has_nothing_to_draw() -> None:
    counts, classes = _counts({"Z": ([0, 0, 0, 0], [0, 0, 0, 0])})
    row = carry_error(counts, classes, error_table({"Z": {"precision": 0.6, "recall": 0.6}}, "t"), ONE,
                      draws=50, seed=1).themes.iloc[0]
    # no hit: E[TP] = 0 implies no missed case, so every draw is the observed 0 against 0
    assert (row["gain_probability"], row["mean_difference_pp"], row["same_sign"]) == (0.0, 0.0, 1.0)
    assert row["survives"] is None and row["note"] == "no case has a hit: nothing to draw"


def test_the_study_table_of_the_reader_contract_is_read() -> None:
    # the columns the recall audit's instrument_error(study) gives (object dtype, None where not measured)
    columns = ["theme", "reviewed", "accepted", "precision", "audited_sentences", "audit_hits", "miss_rate",
               "miss_low", "miss_high", "recall"]
    own = pd.DataFrame([["A", 10, 7, 0.7, 400, 4, 0.01, 0.004, 0.025, 0.64],
                        ["B", 0, 0, None, 400, 0, 0.0, 0.0, 0.0095, 1.0]], columns=columns).astype(object)
    table = measured_error(SimpleNamespace(name="x", version="1"), lambda: own)
    assert table[["theme", "precision", "recall"]].values.tolist() == [["A", 0.7, 0.64]]  # B: no precision
    assert set(table["source"]) == {"the study's own review and recall audit"}
