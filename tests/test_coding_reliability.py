"""Agreement between coders: published worked examples, independent implementations, a real study database."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from fractions import Fraction
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from typer.testing import CliRunner

from sibkit.cli import app
from sibkit.coding.agreement import (
    OVERALL,
    POOLED_DEFINITION,
    alpha_draws,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
    pooled,
    reliability,
)
from sibkit.errors import SibkitError
from sibkit.store import Document, DocumentCase, Reference, ReviewDecision, open_store

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", Annenberg School for Communication,
# example C (any number of observers, missing data): 4 observers, 12 units, values 1-5, "." missing.
KRIPPENDORFF_C = {
    "A": "1 2 3 3 2 1 4 1 2 . . .",
    "B": "1 2 3 3 2 2 4 1 2 5 . 3",
    "C": ". 3 3 3 2 3 4 2 2 5 1 .",
    "D": "1 2 3 3 2 4 4 1 2 5 1 .",
}


def _ratings(matrix: dict[str, str]) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {}
    for coder, row in matrix.items():
        for unit, value in enumerate(row.split()):
            if value != ".":
                out.setdefault(unit, {})[coder] = value
    return out


def test_krippendorffs_own_example_c_gives_0_743() -> None:
    # Worked out by hand: unit 12 has one value and is not pairable, so n = 40 pairable values
    # (3 + 9 x 4 - ... : units 1 and 10 have 3, unit 11 has 2, units 2-9 have 4). Only units 2 (2,2,3,2),
    # 6 (1,2,3,4) and 8 (1,1,2,1) disagree: 6/3 + 12/3 + 6/3 = 8 = sum of o_ck over c != k.
    # n_c: 1 -> 9, 2 -> 13, 3 -> 10, 4 -> 5, 5 -> 3; sum_{c != k} n_c n_k = 40^2 - 384 = 1216.
    # alpha = 1 - (n - 1) * 8 / 1216 = 1 - 312/1216 = 0.74342..., Krippendorff's published 0.743.
    alpha, n = krippendorff_alpha(_ratings(KRIPPENDORFF_C))
    assert n == 40
    assert alpha == pytest.approx(1 - Fraction(312, 1216), abs=1e-12)
    assert round(alpha, 3) == 0.743
    rows = [[float(v) if v != "." else np.nan for v in row.split()] for row in KRIPPENDORFF_C.values()]
    assert alpha == pytest.approx(krippendorff.alpha(reliability_data=rows, level_of_measurement="nominal"))


def test_fleiss_worked_example_gives_0_210() -> None:
    # The worked example of the "Fleiss' kappa" article (Wikipedia; after Fleiss 1971): 10 subjects,
    # 14 raters each, 5 categories, counts per subject. P-bar = 0.378, P_e = 0.2128..., kappa = 0.210.
    counts = [(0, 0, 0, 0, 14), (0, 2, 6, 4, 2), (0, 0, 3, 5, 6), (0, 3, 9, 2, 0), (2, 2, 8, 1, 1),
              (7, 7, 0, 0, 0), (3, 2, 6, 3, 0), (2, 5, 3, 2, 2), (6, 5, 2, 1, 0), (0, 2, 2, 3, 7)]
    ratings = {}
    for subject, row in enumerate(counts):
        values = [category for category, count in enumerate(row) for _ in range(count)]
        ratings[subject] = {f"rater{i}": v for i, v in enumerate(values)}
    p_bar = sum(Fraction(sum(c * c for c in row) - 14, 14 * 13) for row in counts) / 10
    shares = [Fraction(sum(row[j] for row in counts), 140) for j in range(5)]
    p_e = sum(p * p for p in shares)
    expected = (p_bar - p_e) / (1 - p_e)
    kappa, units = fleiss_kappa(ratings, [f"rater{i}" for i in range(14)])
    assert units == 10
    assert kappa == pytest.approx(float(expected), abs=1e-12)
    assert round(kappa, 3) == 0.210


@pytest.mark.filterwarnings("ignore::UserWarning")  # scikit-learn's note on a single label (kappa undefined)
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("xyz"), st.sampled_from("xyz")), min_size=2, max_size=40))
def test_cohen_kappa_agrees_with_scikit_learn(pairs: list[tuple[str, str]]) -> None:
    ratings = {i: {"a": a, "b": b} for i, (a, b) in enumerate(pairs)}
    ours = cohen_kappa(ratings, "a", "b")
    theirs = cohen_kappa_score([a for a, _ in pairs], [b for _, b in pairs])
    if math.isnan(ours):
        assert len({*(a for a, _ in pairs), *(b for _, b in pairs)}) == 1
    else:
        assert ours == pytest.approx(theirs, abs=1e-9)
    assert percent_agreement(ratings) == pytest.approx(sum(a == b for a, b in pairs) / len(pairs))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from([1.0, 2.0, 3.0, np.nan]), min_size=6, max_size=6), min_size=3,
                max_size=3))
def test_alpha_agrees_with_the_krippendorff_package_with_missing_values(rows: list[list[float]]) -> None:
    ratings = {u: {f"c{i}": row[u] for i, row in enumerate(rows) if not math.isnan(row[u])} for u in range(6)}
    ours, _ = krippendorff_alpha(ratings)
    pairable = [v for values in ratings.values() if len(values) >= 2 for v in values.values()]
    if len(set(pairable)) < 2:
        assert math.isnan(ours)  # no variation: alpha is undefined
        return
    assert ours == pytest.approx(krippendorff.alpha(reliability_data=rows, level_of_measurement="nominal"),
                                 abs=1e-9)


# --------------------------------------------------------------------------------------------
# from a study's review log

DECISIONS = {  # reference index -> {coder: decision}; "recode" goes to "coproduction"
    0: {"ann": "accept", "bob": "accept", "cat": "accept"},
    1: {"ann": "accept", "bob": "reject", "cat": "accept"},
    2: {"ann": "reject", "bob": "reject"},
    3: {"ann": "recode", "bob": "accept", "cat": "recode"},
    4: {"ann": "accept", "bob": "accept", "cat": "reject"},
    5: {"bob": "accept"},
}


@pytest.fixture()
def study_store(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    now = dt.datetime(2026, 1, 1)
    with store.session() as session:
        ids = []
        for d in range(2):
            document = Document(sha256=hashlib.sha256(str(d).encode()).hexdigest(), title=f"doc {d}",
                                text="partnership " * 20)
            document.cases.append(DocumentCase(case_id=f"CASE-{d}"))
            session.add(document)
            session.flush()
            for r in range(3):
                reference = Reference(document_id=document.id, theme="partnership", term="partnership",
                                      start=12 * r, end=12 * r + 11, origin="auto")
                session.add(reference)
                session.flush()
                ids.append(reference.id)
        for index, by_coder in DECISIONS.items():
            for coder, decision in by_coder.items():
                session.add(ReviewDecision(reference_id=ids[index], coder=coder, decided_at=now, decision=decision,
                                           new_theme="coproduction" if decision == "recode" else None))
        # bob first rejected reference 0, then changed his mind (the later decision counts); cat decided on
        # reference 5 and withdrew it (an undo appends "clear")
        session.add(ReviewDecision(reference_id=ids[0], coder="bob", decided_at=now - dt.timedelta(days=1),
                                   decision="reject"))
        session.add(ReviewDecision(reference_id=ids[5], coder="cat", decided_at=now, decision="accept"))
        session.add(ReviewDecision(reference_id=ids[5], coder="cat", decided_at=now + dt.timedelta(seconds=1),
                                   decision="clear"))
    return store


def _reference_rows(coders: list[str]) -> list[list[float]]:
    codes = {"accept": 1.0, "reject": 2.0, "recode": 3.0}
    return [[codes[DECISIONS[i][c]] if c in DECISIONS[i] else np.nan for i in range(6)] for c in coders]


def test_reference_agreement_from_the_review_log(study_store) -> None:
    table = reliability(study_store).set_index("theme")
    overall = table.loc[OVERALL]
    assert overall["coders"] == "ann, bob, cat"
    assert overall["units"] == 5  # reference 5: only bob stands (cat withdrew)
    expected_alpha = krippendorff.alpha(reliability_data=_reference_rows(["ann", "bob", "cat"]),
                                        level_of_measurement="nominal")
    assert overall["krippendorff_alpha"] == pytest.approx(expected_alpha)
    # units all three rated: 0, 1, 3, 4; pairs agreeing: 3/3, 1/3, 1/3, 1/3; unit 2 (ann, bob): 1/1
    assert overall["percent_agreement"] == pytest.approx((1 + 1 / 3 + 1 / 3 + 1 / 3 + 1) / 5)
    assert overall["fleiss_units"] == 4
    assert math.isnan(overall["cohen_kappa"])  # three coders
    assert table.loc["partnership", "krippendorff_alpha"] == pytest.approx(expected_alpha)

    pair = reliability(study_store, coders=["ann", "bob"]).set_index("theme").loc[OVERALL]
    both = [i for i in range(6) if {"ann", "bob"} <= DECISIONS[i].keys()]
    assert pair["cohen_kappa"] == pytest.approx(cohen_kappa_score([DECISIONS[i]["ann"] for i in both],
                                                                  [DECISIONS[i]["bob"] for i in both]))


def test_document_and_case_units_and_the_automatic_coder(study_store) -> None:
    documents = reliability(study_store, coders=["ann", "bob"], unit="document").set_index("theme")
    # document 0 (references 0-2): ann and bob both count partnership present (reference 0); document 1
    # (3-5): ann recoded 3 to coproduction and accepted 4 -> partnership present, coproduction present;
    # bob accepted 3 and 4 -> partnership present; bob never judged coproduction in document 1 but did
    # decide on reference 3, whose outcome theme under ann is coproduction -> absent for bob.
    assert documents.loc["partnership", "percent_agreement"] == 1.0
    assert documents.loc["coproduction", "percent_agreement"] == 0.0
    cases = reliability(study_store, coders=["ann", "bob"], unit="case")
    assert list(cases["percent_agreement"]) == list(documents["percent_agreement"])  # one document per case

    automatic = reliability(study_store, coders=["ann"], include_automatic=True).set_index("theme").loc[OVERALL]
    # the codebook "accepts" all six; ann accepted 0, 1, 4, rejected 2, recoded 3: 3 of 5 agree
    assert automatic["coders"] == "ann, (automatic)"
    assert automatic["percent_agreement"] == pytest.approx(3 / 5)


def test_errors_name_the_problem(study_store) -> None:
    with pytest.raises(SibkitError, match="no decisions by zed"):
        reliability(study_store, coders=["ann", "zed"])
    with pytest.raises(SibkitError, match="two or more coders"):
        reliability(study_store, coders=["ann"])
    with pytest.raises(SibkitError, match="--unit 'page'"):
        reliability(study_store, unit="page")


def test_cli_prints_what_the_numbers_rest_on(tmp_path: Path, study_store) -> None:
    study = tmp_path / "s.yaml"
    study.write_text(f"title: t\ndata: {tmp_path}\ncorpus:\n  database: sqlite:///{tmp_path / 'study.sqlite'}\n",
                     encoding="utf-8")
    result = CliRunner().invoke(app, ["reliability", str(study), "--coders", "ann,bob", "--json"])
    assert result.exit_code == 0, result.output
    assert f'"theme": "{OVERALL}"' in result.output
    result = CliRunner().invoke(app, ["reliability", str(study)])
    assert result.exit_code == 0, result.output
    assert "3 coders (ann, bob, cat)" in result.output and "5 references" in result.output
    assert " ".join(POOLED_DEFINITION.split()) in " ".join(result.output.split())
    assert "Cohen's kappa is left out: it needs exactly two coders" in " ".join(result.output.split())
    two = CliRunner().invoke(app, ["reliability", str(study), "--coders", "ann,bob"])
    assert two.exit_code == 0, two.output
    words = " ".join(two.output.split())
    assert "2 coders (ann, bob)" in words and "needs exactly two coders" not in words
    assert "Cohen's kappa is left blank where both coders gave one and the same code throughout" in words


# --------------------------------------------------------------------------------------------
# pooled over themes, and alpha's bootstrap interval


def _two_theme_store(path: Path, decisions: dict[str, list[tuple[str, str]]]):
    """One document per theme, one reference per (ann, bob) decision pair."""
    store = open_store(f"sqlite:///{path}")
    now = dt.datetime(2026, 1, 1)
    with store.session() as session:
        for number, (theme, pairs) in enumerate(decisions.items()):
            document = Document(sha256=hashlib.sha256(theme.encode()).hexdigest(), title=theme, text="x " * 400)
            document.cases.append(DocumentCase(case_id=f"CASE-{number}"))
            session.add(document)
            session.flush()
            for r, (ann, bob) in enumerate(pairs):
                reference = Reference(document_id=document.id, theme=theme, term=theme, start=2 * r, end=2 * r + 1,
                                      origin="auto")
                session.add(reference)
                session.flush()
                for coder, decision in (("ann", ann), ("bob", bob)):
                    session.add(ReviewDecision(reference_id=reference.id, coder=coder, decided_at=now,
                                               decision=decision))
    return store


def test_the_pooled_figure_is_the_mean_of_the_themes_not_a_table_of_theme_names(tmp_path: Path) -> None:
    # Each theme: ann accept, accept, reject, reject; bob accept, reject, accept, reject: the 2 x 2 table
    # [[1, 1], [1, 1]], Cohen's kappa 0 in both themes. Pooling the 8 references into one table with the
    # categories A, B and (none) gave observed agreement 4/8 and chance agreement (2*2 + 2*2 + 4*4) / 64
    # = 0.375: kappa (0.5 - 0.375) / 0.625 = 0.2 from two themes of 0 (the old "(all)" row).
    # Alpha per theme by hand: o_AA = o_NN = 2, o_AN = o_NA = 2, n_A = n_N = 4, n = 8:
    # 1 - (n - 1) * 4 / (64 - 32) = 1 - 28/32 = 0.125.
    pattern = [("accept", "accept"), ("accept", "reject"), ("reject", "accept"), ("reject", "reject")]
    store = _two_theme_store(tmp_path / "s.sqlite", {"A": pattern, "B": pattern})
    table = reliability(store).set_index("theme")
    assert list(table.index) == ["A", "B", OVERALL]
    assert list(table.loc[["A", "B"], "cohen_kappa"]) == pytest.approx([0.0, 0.0], abs=1e-12)
    assert list(table.loc[["A", "B"], "krippendorff_alpha"]) == pytest.approx([0.125, 0.125])
    assert table.loc[OVERALL, "cohen_kappa"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc[OVERALL, "krippendorff_alpha"] == pytest.approx(0.125)
    assert table.loc[OVERALL, "percent_agreement"] == pytest.approx(0.5)
    assert (table.loc[OVERALL, "units"], table.loc[OVERALL, "values"]) == (8, 16)


def test_the_pooled_figure_weights_each_theme_by_its_units(tmp_path: Path) -> None:
    # A: the four-reference pattern above (percent agreement 2/4 = 0.5); B: eight references, all agreed
    # (percent agreement 1): (4 x 0.5 + 8 x 1) / 12 = 10/12. B's kappa is undefined (one category only),
    # so the pooled kappa is A's alone: 0.
    pattern = [("accept", "accept"), ("accept", "reject"), ("reject", "accept"), ("reject", "reject")]
    store = _two_theme_store(tmp_path / "w.sqlite", {"A": pattern, "B": [("accept", "accept")] * 8})
    table = reliability(store).set_index("theme")
    assert table.loc[OVERALL, "percent_agreement"] == pytest.approx(10 / 12)
    assert math.isnan(table.loc["B", "cohen_kappa"]) and table.loc[OVERALL, "cohen_kappa"] == pytest.approx(0.0)
    assert table.loc[OVERALL, "units"] == 12


def test_two_coders_deciding_at_random_pool_to_about_zero(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    decisions = {f"theme-{t}": [tuple(rng.choice(["accept", "reject"], size=2)) for _ in range(40)]
                 for t in range(8)}
    table = reliability(_two_theme_store(tmp_path / "r.sqlite", decisions)).set_index("theme")
    themes = table.drop(index=OVERALL)
    for column in ("cohen_kappa", "krippendorff_alpha", "percent_agreement"):
        assert table.loc[OVERALL, column] == pytest.approx(themes[column].mean())
    assert abs(table.loc[OVERALL, "cohen_kappa"]) < 0.1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from("xy"), st.sampled_from("xy")), min_size=2, max_size=12),
                min_size=1, max_size=5))
def test_the_pooled_figure_never_exceeds_the_themes(themes: list[list[tuple[str, str]]]) -> None:
    rows, draws = [], []
    for pairs in themes:
        ratings = {i: {"a": a, "b": b} for i, (a, b) in enumerate(pairs)}
        alpha, values = krippendorff_alpha(ratings)
        rows.append({"units": len(pairs), "values": values, "fleiss_units": len(pairs), "krippendorff_alpha": alpha,
                     "percent_agreement": percent_agreement(ratings), "cohen_kappa": math.nan,
                     "fleiss_kappa": math.nan})
        draws.append(alpha_draws(ratings, 50, np.random.default_rng(1)))
    defined = [r["krippendorff_alpha"] for r in rows if not math.isnan(r["krippendorff_alpha"])]
    result = pooled(rows, draws)
    if defined:
        assert min(defined) - 1e-12 <= result["krippendorff_alpha"] <= max(defined) + 1e-12
    else:
        assert math.isnan(result["krippendorff_alpha"])


def test_alpha_bootstrap_draws_are_alpha_of_the_resampled_units() -> None:
    ratings = _ratings(KRIPPENDORFF_C)
    pairable = {u: v for u, v in ratings.items() if len(v) >= 2}
    draws = alpha_draws(pairable, 20, np.random.default_rng(5))
    weights = np.random.default_rng(5).multinomial(len(pairable), np.full(len(pairable), 1 / len(pairable)), size=20)
    units = list(pairable)
    for draw, weight in zip(draws, weights, strict=True):
        resampled = {(u, copy): pairable[u] for u, w in zip(units, weight, strict=True) for copy in range(w)}
        expected, _ = krippendorff_alpha(resampled)
        if math.isnan(expected):
            assert math.isnan(draw)
        else:
            assert draw == pytest.approx(expected, abs=1e-12)
    # seeded: the same draws again
    assert np.array_equal(draws, alpha_draws(pairable, 20, np.random.default_rng(5)), equal_nan=True)


def test_alpha_interval_from_the_review_log_and_no_interval_when_nothing_varies(tmp_path: Path, study_store) -> None:
    table = reliability(study_store).set_index("theme")
    row = table.loc["partnership"]
    assert row["alpha_low"] <= row["krippendorff_alpha"] <= row["alpha_high"]
    again = reliability(study_store).set_index("theme").loc["partnership"]
    assert (again["alpha_low"], again["alpha_high"]) == (row["alpha_low"], row["alpha_high"])
    # perfect agreement on two references, one accepted and one rejected: every resample with both has alpha
    # 1 and a resample of one reference twice has no variation (undefined): P = 2 * (1/2)^2 = 1/2 per draw
    store = _two_theme_store(tmp_path / "p.sqlite", {"A": [("accept", "accept"), ("reject", "reject")]})
    perfect = reliability(store).set_index("theme").loc["A"]
    assert perfect["krippendorff_alpha"] == 1.0
    assert math.isnan(perfect["alpha_low"]) and math.isnan(perfect["alpha_high"])  # no interval: all draws are 1
    assert 400 < perfect["undefined_resamples"] < 600
