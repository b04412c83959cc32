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


def test_a_figure_measured_on_few_passages_is_drawn_from_its_jeffreys_posterior() -> None:
    from scipy.stats import beta

    counts, classes = _counts({"A": HITS["A"]})
    # precision 1 of 2 hits judged right; recall taken as exact (no counts)
    error = error_table({"A": {"precision": 0.5, "recall": 0.5, "precision_right": 1, "precision_judged": 2}}, "t")
    row = carry_error(counts, classes, error, ONE, draws=20000, seed=7).themes.iloc[0]
    assert row["figures_drawn"]
    # Jeffreys: Beta(1.5, 1.5); its 2.5% and 97.5% quantiles, within the error of 20,000 draws
    assert row["precision_low"] == pytest.approx(beta.ppf(0.025, 1.5, 1.5), abs=0.01)
    assert row["precision_high"] == pytest.approx(beta.ppf(0.975, 1.5, 1.5), abs=0.01)
    assert (row["recall_low"], row["recall_high"]) == (0.5, 0.5)
    # gain per draw = E[TP] (1 - R) / R / 6 = 2p / 6; its mean p / 3 = 1/6 as with p fixed at 0.5 (sd of p is
    # 0.25, of the mean over 20,000 draws 0.0006); the mean difference is the same 16.7 pp as with exact figures
    assert row["gain_probability"] == pytest.approx(1 / 6, abs=0.003)
    assert row["mean_difference_pp"] == pytest.approx(100 / 6, abs=0.8)
    exact = carry_error(counts, classes, error[["theme", "precision", "recall", "source", "on"]], ONE, draws=20000,
                        seed=7).themes.iloc[0]
    assert not exact["figures_drawn"] and exact["precision_low"] == exact["precision_high"] == 0.5


def test_many_passages_leave_the_draws_close_to_the_exact_figures() -> None:
    counts, classes = _counts(HITS)
    figures = {"precision": 0.75, "recall": 0.6}
    many = {**figures, "precision_right": 7500, "precision_judged": 10000, "recall_found": 6000,
            "recall_true": 10000}
    drawn = carry_error(counts, classes, error_table({"B": many}, "t"), ONE, draws=4000, seed=3).themes.iloc[1]
    exact = carry_error(counts, classes, error_table({"B": figures}, "t"), ONE, draws=4000, seed=3).themes.iloc[1]
    assert drawn["theme"] == exact["theme"] == "B"
    # Beta(7500.5, 2500.5) has sd 0.0043: every draw of precision within 0.02 of 0.75, of recall within 0.02 of 0.6
    assert 0.73 < drawn["precision_low"] < 0.75 < drawn["precision_high"] < 0.77
    assert 0.58 < drawn["recall_low"] < 0.6 < drawn["recall_high"] < 0.62
    assert drawn["mean_difference_pp"] == pytest.approx(exact["mean_difference_pp"], abs=1.5)
    assert drawn["gain_probability"] == pytest.approx(exact["gain_probability"], rel=0.02)


def test_recall_from_an_audit_is_drawn_through_the_miss_rate() -> None:
    counts, classes = _counts({"A": HITS["A"]})
    # the worked example above: 100 hit sentences, 60 of 100 reviewed right, 4 of 400 audited sentences missed,
    # 2,000 sentences without a hit: recall 60 / (60 + 20) = 0.75
    audit = {"precision": 0.6, "recall": 0.75, "precision_right": 60, "precision_judged": 100, "audit_hits": 4,
             "audited_sentences": 400, "hit_sentences": 100, "unhit_sentences": 2000}
    row = carry_error(counts, classes, error_table({"A": audit}, "t"), ONE, draws=20000, seed=5).themes.iloc[0]
    assert row["figures_drawn"] and row["recall_low"] < 0.75 < row["recall_high"]
    # the miss rate's Jeffreys range Beta(4.5, 396.5) at 2.5% / 97.5%, with precision at 0.6, bounds the recall
    from scipy.stats import beta

    low_miss, high_miss = beta.ppf([0.025, 0.975], 4.5, 396.5)
    assert row["recall_high"] == pytest.approx(recall_from_audit(100, 0.6, low_miss, 2000), abs=0.03)
    assert row["recall_low"] == pytest.approx(recall_from_audit(100, 0.6, high_miss, 2000), abs=0.03)


def test_a_codebook_measured_block_gives_the_counts_behind_its_figures() -> None:
    codebook = SimpleNamespace(name="c", version="1", measured={"on": "x", "themes": {
        "A": {"precision": 0.8, "recall": 0.6, "passages": 40, "fired": 30},
        "B": {"precision": 0.7, "recall": 0.6, "passages": 40}}})
    table = measured_error(codebook).set_index("theme")
    # A: 0.6 x 40 = 24 found of 40; 24 right of the 30 passages it fired on
    assert table.loc["A", ["recall_found", "recall_true", "precision_right", "precision_judged"]].tolist() == \
        [24, 40, 24, 30]
    # B gives no `fired`: 24 found at precision 0.7 is 24 / 0.7 = 34.3, so 34 fired
    assert table.loc["B", ["precision_right", "precision_judged"]].tolist() == [24, 34]


def test_the_study_review_and_audit_counts_are_carried() -> None:
    columns = ["theme", "reviewed", "accepted", "precision", "audited_sentences", "audit_hits", "hit_sentences",
               "unhit_sentences", "recall"]
    own = pd.DataFrame([["A", 10, 7, 0.7, 400, 4, 30, 2000, 0.51]], columns=columns).astype(object)
    table = measured_error(SimpleNamespace(name="x", version="1"), lambda: own)
    assert table.iloc[0][["precision_right", "precision_judged", "audit_hits", "audited_sentences",
                          "hit_sentences", "unhit_sentences"]].tolist() == [7, 10, 4, 400, 30, 2000]


def test_the_report_section_shows_the_drawn_ranges_or_why_it_did_not_run() -> None:
    from sibkit.analysis.instrument import ASSUMPTIONS, MODEL
    from sibkit.report.render import environment
    from sibkit.report.wording import instrument_sentences

    counts, classes = _counts(HITS)
    error = error_table({"A": {"precision": 0.5, "recall": 0.5, "precision_right": 1, "precision_judged": 2,
                               "recall_found": 1, "recall_true": 2},
                         "B": {"precision": 0.6, "recall": 0.6}}, "c 1 as measured")
    found = carry_error(counts, classes, error, ONE, draws=200, seed=1)
    results = SimpleNamespace(carried_error=found, themes=pd.DataFrame({"theme": ["A", "B"], "name": ["Aa", "Bb"]}))
    text = instrument_sentences(results)
    assert any("For 1 of them the figures' own sampling error is drawn" in s for s in text)
    assert found.on == [] and not any(s.startswith("Measured on") for s in text)  # the table says on nothing
    named = carry_error(counts, classes, error.assign(on="40 passages labelled blind"), ONE, draws=20, seed=1)
    assert "Measured on 40 passages labelled blind." in instrument_sentences(
        SimpleNamespace(carried_error=named, themes=results.themes))
    template = environment().get_template("_carried_error.html.j2")
    html = template.render(carried=found, carried_text=text, model=MODEL, assumptions=ASSUMPTIONS,
                           names={"A": "Aa", "B": "Bb"}, r=None)
    row_a = found.themes.iloc[0]
    assert f"{row_a['precision_low']:.2f} to {row_a['precision_high']:.2f}" in html
    assert 'id="carried-error-table"' in html and "Jeffreys" in html
    none_struggling = classes.replace("struggling", "successful")
    empty = carry_error(counts, none_struggling, error, ONE, draws=20, seed=1)
    assert empty.empty_group == "struggling"
    html = template.render(carried=empty, carried_text=[], model=MODEL, assumptions=ASSUMPTIONS, names={}, r=None)
    assert "Not run: no case is struggling" in html and "8 successful" in html


def test_each_figure_comes_from_the_study_where_it_measured_it_else_from_the_codebook() -> None:
    """A study reviewed by its coders but not (or only partly) audited: its own precision where it reviewed
    hits, its audit's recall where it audited, the built-in codebook's measured figure for the rest."""
    from sibkit.coding.codebook import load_codebook

    codebook = load_codebook("relational-sib")  # capabilities 0.33 / 0.50 (9 fired, 6 passages), prevention 0.87 / 0.79
    columns = ["theme", "reviewed", "accepted", "precision", "audited_sentences", "audit_hits", "hit_sentences",
               "unhit_sentences", "miss_rate", "recall"]
    own = pd.DataFrame([
        ["capabilities", 22, 8, 8 / 22, 0, 0, 5, 2000, None, None],        # reviewed, no audit
        ["prevention", 0, 0, None, 400, 4, 30, 2000, 0.01, 30 / 50],      # audited, nothing reviewed
        ["innovation", 10, 7, 0.7, 400, 0, 12, 2000, 0.0, 1.0],           # both
        ["relational-working", 0, 0, None, 0, 0, 3, 2000, None, None],    # neither
    ], columns=columns).astype(object)
    table = measured_error(codebook, lambda: own).set_index("theme")
    assert len(table) == 14  # every theme the codebook measured stays measured
    capabilities = table.loc["capabilities"]
    assert capabilities["precision"] == pytest.approx(8 / 22) and capabilities["recall"] == 0.5
    assert capabilities[["precision_right", "precision_judged", "recall_found", "recall_true"]].tolist() == \
        [8, 22, 3, 6]
    assert capabilities["source"] == "precision: the study's own review; recall: relational-sib 6 as measured"
    # the audit's recall rests on a precision: 30 hit sentences x 0.87 = 26.1 true, 0.01 x 2,000 = 20 missed
    prevention = table.loc["prevention"]
    assert (prevention["precision"], prevention["recall"]) == (0.87, pytest.approx(26.1 / 46.1))
    assert prevention[["precision_right", "precision_judged", "audit_hits", "audited_sentences"]].tolist() == \
        [59, 68, 4, 400]
    assert prevention["source"] == "precision: relational-sib 6 as measured; recall: the study's own recall audit"
    assert (table.loc["innovation", "precision"], table.loc["innovation", "recall"]) == (0.7, 1.0)
    assert table.loc["innovation", "source"] == "the study's own review and recall audit"
    assert (table.loc["relational-working", "precision"], table.loc["relational-working", "recall"]) == (0.71, 0.29)
    assert table.loc["relational-working", "source"] == "relational-sib 6 as measured"
    # what the figures were measured on, once per source
    counts, classes = _counts({"capabilities": ([1, 0, 0, 0], [0, 0, 0, 0])})
    found = carry_error(counts, classes, table.reset_index(), ONE, draws=20, seed=1)
    assert "this study's documents" in found.on and len(found.on) == 2
    from sibkit.report.wording import _figure_sources_words

    assert _figure_sources_words(list(zip(table["precision_source"], table["recall_source"], strict=True))) == (
        ": precision from relational-sib 6 as measured for 12 themes, the study's own review for 2 themes; "
        "recall from relational-sib 6 as measured for 12 themes, the study's own recall audit for 2 themes")
    assert _figure_sources_words([("relational-sib 6 as measured",) * 2] * 3) == " (relational-sib 6 as measured)"
