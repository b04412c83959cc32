"""QCA: published worked examples with their known solutions, hand-worked fuzzy figures, and agreement
with an independent implementation (PyQCA, the ``pyqca`` package) on generated data."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sibkit.errors import SibkitError
from sibkit.qca import analyse, calibrate, max_conditions, prime_implicants
from sibkit.qca.method import skewed_conditions

# Lipset's conditions for the survival of democracy in inter-war Europe, crisp version ("LC"): Lipset (1959),
# as calibrated by Rihoux & De Meur (2009, in Rihoux & Ragin (eds.), Configurational Comparative Methods,
# ch. 3) and Ragin (2009, ch. 5 of the same book); the data set LC of Dusa's R package QCA and his book
# "QCA with R" (2019), where the solutions below are published. DEV development, URB urbanisation, LIT
# literacy, IND industrial labour force, STB government stability; outcome SURV survival of democracy.
LIPSET = """\
AU 1 0 1 1 0 0
BE 1 1 1 1 1 1
CZ 1 1 1 1 1 1
EE 0 0 1 0 1 0
FI 1 0 1 0 1 1
FR 1 0 1 1 1 1
DE 1 1 1 1 0 0
GR 0 0 0 0 0 0
HU 0 0 1 0 0 0
IE 1 0 1 0 1 1
IT 0 0 0 0 1 0
NL 1 1 1 1 1 1
PL 0 0 1 0 0 0
PT 0 0 0 0 0 0
RO 0 0 0 0 0 0
ES 0 0 0 0 0 0
SE 1 0 1 1 1 1
UK 1 1 1 1 1 1"""
CONDITIONS = ["DEV", "URB", "LIT", "IND", "STB"]


def lipset() -> pd.DataFrame:
    rows = [line.split() for line in LIPSET.splitlines()]
    frame = pd.DataFrame(rows, columns=["case_id", *CONDITIONS, "SURV"])
    return frame.astype({c: int for c in [*CONDITIONS, "SURV"]})


@pytest.fixture(scope="module")
def lipset_result():
    return analyse(lipset(), CONDITIONS, "SURV", expectations={c: 1 for c in CONDITIONS})


def expressions(result, kind: str) -> list[str]:
    return list(result.solutions.loc[result.solutions["solution"] == kind, "expression"])


def test_lipset_solutions_are_the_published_ones(lipset_result) -> None:
    # worked by hand: positive rows 11111, 10101, 10111; negative 10110, 00101, 11110, 00000, 00100, 00001
    assert expressions(lipset_result, "conservative") == ["DEV*~URB*LIT*STB + DEV*LIT*IND*STB"]
    assert expressions(lipset_result, "parsimonious") == ["DEV*STB"]
    assert expressions(lipset_result, "intermediate") == ["DEV*LIT*STB"]


def test_lipset_truth_table_and_remainders(lipset_result) -> None:
    table = lipset_result.truth_table
    observed = table[table["n"] > 0]
    assert len(observed) == 9 and len(lipset_result.remainders) == 32 - 9
    row = observed[observed["config"] == "11111"].iloc[0]
    assert row["n"] == 4 and row["cases"] == "BE CZ NL UK" and row["outcome"] == "1"
    assert table.loc[table["config"] == "00000", "n"].item() == 4
    assert lipset_result.settings["positive_rows"] == 3 and lipset_result.settings["negative_rows"] == 6


def test_lipset_coverage(lipset_result) -> None:
    terms = lipset_result.terms.set_index(["solution", "term"])
    # 8 cases with the outcome: FI FR IE SE in the first term, BE CZ FR NL SE UK in the second
    first = terms.loc[("conservative", "DEV*~URB*LIT*STB")]
    second = terms.loc[("conservative", "DEV*LIT*IND*STB")]
    assert (first["raw_coverage"], first["unique_coverage"]) == pytest.approx((4 / 8, 2 / 8))
    assert (second["raw_coverage"], second["unique_coverage"]) == pytest.approx((6 / 8, 4 / 8))
    assert first["raw_consistency"] == second["raw_consistency"] == 1.0
    whole = lipset_result.solutions.set_index("solution").loc["conservative"]
    assert (whole["consistency"], whole["coverage"]) == (1.0, 1.0)


def test_lipset_necessity(lipset_result) -> None:
    necessity = lipset_result.necessity.set_index("condition")
    # DEV: 8 of 8 surviving democracies developed; 8 of 10 developed survived; relevance: 8 non-developed
    # cases out of 18 - 8 cases outside DEV*SURV
    assert tuple(necessity.loc["DEV"]) == pytest.approx((1.0, 0.8, 0.8))
    # IND: 6 of 8; 6 of 8 industrial; (18 - 8) / (18 - 6)
    assert tuple(necessity.loc["IND"]) == pytest.approx((0.75, 0.75, 10 / 12))
    assert tuple(necessity.loc["~LIT"]) == pytest.approx((0.0, 0.0, 13 / 18))


def test_two_models_when_the_prime_implicant_chart_is_cyclic() -> None:
    # positive rows 000 001 010 101 110 111, negative 011 100: the textbook cyclic chart with two
    # minimal covers of three terms each
    configs = {"000": 1, "001": 1, "010": 1, "101": 1, "110": 1, "111": 1, "011": 0, "100": 0}
    frame = pd.DataFrame([{"case_id": f"c{c}", "A": int(c[0]), "B": int(c[1]), "C": int(c[2]), "Y": y}
                          for c, y in configs.items()])
    result = analyse(frame, ["A", "B", "C"], "Y")
    models = set(expressions(result, "conservative"))
    assert len(models) == 2
    assert {frozenset(m.split(" + ")) for m in models} == {
        frozenset({"~A*~B", "B*~C", "A*C"}), frozenset({"~A*~C", "~B*C", "A*B"})}
    assert all(result.terms["unique_coverage"] >= 0)


def test_intermediate_follows_the_expectation_for_absence() -> None:
    # positive 110 and 100 (conservative A*~C), negative 000, 001; remainders let the parsimonious
    # solution be A. Expecting C absent keeps ~C (a difficult counterfactual to drop it); expecting C
    # present drops it.
    frame = pd.DataFrame({"case_id": ["p", "q", "r", "s"], "A": [1, 1, 0, 0], "B": [1, 0, 0, 0], "C": [0, 0, 0, 1],
                          "Y": [1, 1, 0, 0]})
    assert expressions(analyse(frame, ["A", "B", "C"], "Y", cases_per_row=None), "conservative") == ["A*~C"]
    assert expressions(analyse(frame, ["A", "B", "C"], "Y", cases_per_row=None), "parsimonious") == ["A"]
    absent = analyse(frame, ["A", "B", "C"], "Y", expectations={"C": 0}, cases_per_row=None)
    present = analyse(frame, ["A", "B", "C"], "Y", expectations={"C": 1}, cases_per_row=None)
    assert expressions(absent, "intermediate") == ["A*~C"]
    assert expressions(present, "intermediate") == ["A"]


def test_direct_calibration_by_hand() -> None:
    # Ragin (2008, ch. 5): national income per head with anchors 2,500 (full non-membership), 5,000
    # (crossover), 20,000 (full membership); the anchors map to 0.05, 0.5, 0.95, and halfway between two
    # anchors the log odds are half of ln(19): 1 / (1 + 19 ** -0.5)
    values = calibrate([2500, 5000, 20000, 12500, 3750], 2500, 5000, 20000)
    half = 1 / (1 + 19 ** -0.5)
    assert values == pytest.approx([0.05, 0.5, 0.95, half, 1 - half])
    # a set that larger values leave: the same anchors, reversed
    assert calibrate([20000, 2500], 20000, 5000, 2500) == pytest.approx([0.05, 0.95])
    with pytest.raises(SibkitError, match="crossover lies strictly between"):
        calibrate([1], 1, 5, 3)


def test_fuzzy_truth_table_consistency_and_pri_by_hand() -> None:
    frame = pd.DataFrame({"case_id": ["a", "b", "c"], "A": [0.8, 0.6, 0.2], "Y": [0.9, 0.3, 0.4]})
    result = analyse(frame, ["A"], "Y", cases_per_row=None)
    row = result.truth_table.set_index("config").loc["1"]
    # membership in A: .8 .6 .2; min(A, Y): .8 .3 .2 -> 1.3 / 1.6; min(A, Y, ~Y): .1 .3 .2 = .6
    assert row["n"] == 2 and row["cases"] == "a b"
    assert row["consistency"] == pytest.approx(1.3 / 1.6)
    assert row["pri"] == pytest.approx((1.3 - 0.6) / (1.6 - 0.6))
    assert row["outcome"] == "1"  # 0.8125 >= 0.8
    negated = result.truth_table.set_index("config").loc["0"]
    # ~A: .2 .4 .8; min(~A, Y): .2 .3 .4 = .9 of 1.4
    assert negated["n"] == 1 and negated["consistency"] == pytest.approx(0.9 / 1.4)
    assert result.fuzzy


def test_too_many_conditions_are_refused_with_what_would_do() -> None:
    frame = lipset().head(8)
    with pytest.raises(SibkitError, match=r"use at most 4 conditions with 8 cases, or have at least 16 cases "
                                          r"for 5 conditions"):
        analyse(frame, CONDITIONS, "SURV")
    assert max_conditions(16) == 5 and max_conditions(15) == 4 and max_conditions(1) == 1


def test_bad_input_is_one_clear_error() -> None:
    frame = lipset()
    with pytest.raises(SibkitError, match="lack the column"):
        analyse(frame, ["DEV", "NOPE"], "SURV")
    with pytest.raises(SibkitError, match="between 0 and 1"):
        analyse(frame.assign(DEV=frame["DEV"] * 2), ["DEV"], "SURV")
    with pytest.raises(SibkitError, match="not a condition"):
        analyse(frame, ["DEV"], "SURV", expectations={"URB": 1})


def brute_force_primes(ones: set[str], k: int) -> set[str]:
    """Every implicant (a cube inside ``ones``) that no larger implicant contains: a slow second opinion."""
    cubes = ["".join(t) for t in __import__("itertools").product("01-", repeat=k)]

    def members(cube: str) -> set[str]:
        options = [("0", "1") if c == "-" else (c,) for c in cube]
        return {"".join(p) for p in __import__("itertools").product(*options)}

    implicants = [c for c in cubes if members(c) <= ones]
    return {c for c in implicants if not any(o != c and members(c) < members(o) for o in implicants)}


@given(st.integers(1, 4).flatmap(lambda k: st.tuples(st.just(k), st.sets(st.text("01", min_size=k, max_size=k)))))
def test_prime_implicants_match_a_brute_force_search(case: tuple[int, set[str]]) -> None:
    k, ones = case
    assert prime_implicants(ones) == brute_force_primes(ones, k)


def crisp_frames():
    return st.integers(2, 4).flatmap(lambda k: st.tuples(
        st.just(k), st.lists(st.tuples(st.lists(st.integers(0, 1), min_size=k, max_size=k), st.integers(0, 1)),
                             min_size=3, max_size=14)))


def _pattern(implicant_pattern: tuple) -> str:
    return "".join("-" if v == "*" else str(int(v)) for v in implicant_pattern)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crisp_frames(), st.sampled_from([0.6, 0.8, 1.0]), st.integers(1, 2))
def test_agrees_with_pyqca_on_generated_crisp_data(data, cut: float, frequency: int) -> None:
    qca = pytest.importorskip("qca")
    k, rows = data
    names = [f"X{i}" for i in range(k)]
    frame = pd.DataFrame([{"case_id": f"c{i}", **dict(zip(names, xs, strict=True)), "Y": y}
                          for i, (xs, y) in enumerate(rows)])
    ours = analyse(frame, names, "Y", consistency=cut, frequency=frequency, cases_per_row=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = qca.CSQCA(frame, outcome="Y", conditions=names, case_id="case_id").fit(
            consistency_cutoff=cut, frequency_cutoff=frequency)
    # truth table: the same observed rows, counts and consistencies
    table = theirs.truth_table
    their_rows = {"".join(str(int(r[n])) for n in names): (int(r["n_cases"]), float(r["outcome_raw_consist"]))
                  for r in table.to_dict("records")}
    observed = ours.truth_table[ours.truth_table["n"] > 0]
    # (PyQCA rounds its truth table's consistency to four decimals)
    assert {r["config"]: (r["n"], pytest.approx(r["consistency"], abs=1e-4))
            for r in observed.to_dict("records")} == their_rows
    positive = set(ours.truth_table.loc[ours.truth_table["outcome"] == "1", "config"])
    if not positive:
        return
    minimised = theirs.minimization
    # the prime implicants (unique, unlike the choice among minimal covers) of both solution types; those
    # covering no positive row play no part (PyQCA does not list them)
    def relevant(primes: set[str]) -> set[str]:
        return {p for p in primes if any(all(a in ("-", b) for a, b in zip(p, c, strict=True)) for c in positive)}

    assert relevant(prime_implicants(positive)) == {_pattern(i.pattern) for i in minimised.prime_implicants_complex}
    remainders = set(ours.truth_table.loc[ours.truth_table["outcome"] == "?", "config"])
    assert relevant(prime_implicants(positive | remainders)) == {
        _pattern(i.pattern) for i in minimised.prime_implicants_parsimonious}
    # where the minimal cover is unique, the same solution, consistency and coverage
    for kind, their_kind in (("conservative", "complex"), ("parsimonious", "parsimonious")):
        ours_kind = ours.solutions[ours.solutions["solution"] == kind]
        if len(ours_kind) == 1:
            their_terms = {_pattern(i.pattern) for i in getattr(minimised, f"{their_kind}_solution")}
            our_terms = set(ours.terms.loc[ours.terms["solution"] == kind, "pattern"])
            assert our_terms == their_terms
            fit = theirs.solution_metrics[their_kind]
            assert ours_kind["consistency"].item() == pytest.approx(fit.consistency)
            assert ours_kind["coverage"].item() == pytest.approx(fit.raw_coverage)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)), min_size=3, max_size=12))
def test_fuzzy_necessity_formulas_hold_on_generated_data(rows) -> None:
    frame = pd.DataFrame([{"case_id": f"c{i}", "A": a, "B": b, "Y": y} for i, (a, b, y) in enumerate(rows)])
    if frame["Y"].sum() == 0 or np.isclose(frame[["A", "B"]], 0.5).any():
        return
    result = analyse(frame, ["A", "B"], "Y", cases_per_row=None)
    a, y = frame["A"].to_numpy(), frame["Y"].to_numpy()
    row = result.necessity.set_index("condition").loc["A"]
    assert row["consistency"] == pytest.approx(np.minimum(a, y).sum() / y.sum())
    if a.sum():
        assert row["coverage"] == pytest.approx(np.minimum(a, y).sum() / a.sum())
    for solution in result.solutions.to_dict("records"):
        assert 0 <= solution["coverage"] <= 1 + 1e-9
        assert math.isnan(solution["consistency"]) or 0 <= solution["consistency"] <= 1 + 1e-9


def test_lipset_has_no_contradictory_row() -> None:
    # every observed configuration of LC holds cases of one outcome only (consistency 0 or 1 in its
    # published truth table): nothing to resolve
    result = analyse(lipset(), CONDITIONS, "SURV")
    assert result.contradictions.empty and result.settings["contradictory_rows"] == 0
    assert set(result.truth_table.loc[result.truth_table["n"] > 0, "consistency"]) == {0.0, 1.0}


def _contradicting() -> pd.DataFrame:
    # 11: S1 (outcome); 10: S2 S3 S4 with the outcome and T1 without (consistency 3/4); 00: T2 T3 T4; 01: no case
    rows = [("S1", 1, 1, 1), ("S2", 1, 0, 1), ("S3", 1, 0, 1), ("S4", 1, 0, 1), ("T1", 1, 0, 0), ("T2", 0, 0, 0),
            ("T3", 0, 0, 0), ("T4", 0, 0, 0)]
    return pd.DataFrame(rows, columns=["case_id", "A", "B", "Y"])


def test_a_contradictory_row_is_listed_and_resolved_by_the_stated_rule() -> None:
    result = analyse(_contradicting(), ["A", "B"], "Y", consistency=0.8)
    row = result.contradictions.iloc[0]
    assert len(result.contradictions) == 1 and row["config"] == "10"
    assert (row["n"], row["with_outcome"], row["without_outcome"]) == (4, 3, 1)
    assert row["consistency"] == 0.75 and row["resolved"] == "negative row (consistency 0.750 < 0.8)"
    assert (row["cases_with"], row["cases_without"]) == ("S2 S3 S4", "T1")
    assert any(w.startswith("1 contradictory row(s) hold 4 of 8 cases: 10 (3 with the outcome, 1 without)")
               for w in result.warnings)
    # a negative row, never a remainder: the parsimonious solution may use 01 (no case) but not 10, so it is B,
    # not A (which 11 + 10 would give)
    assert expressions(result, "conservative") == ["A*B"] and expressions(result, "parsimonious") == ["B"]
    # at a cut-off of 0.75 the same row counts for the outcome
    lenient = analyse(_contradicting(), ["A", "B"], "Y", consistency=0.75)
    assert lenient.contradictions.iloc[0]["resolved"] == "counts for the outcome (consistency 0.750 ≥ 0.75)"
    assert expressions(lenient, "conservative") == ["A"]


def test_constant_and_near_constant_conditions_are_found() -> None:
    frame = pd.DataFrame({"case_id": [f"c{i}" for i in range(12)], "A": [0.0] * 12, "B": [1.0] + [0.0] * 11,
                          "C": [1.0, 1.0] + [0.0] * 10, "D": [0.0] + [1.0] * 11, "E": [0.9] * 12})
    kept, dropped = skewed_conditions(frame, ["A", "B", "C", "D", "E"], 0.1, {"B": "Bee"})
    # 1 of 12 is 8.3%, under 10%; 2 of 12 is 16.7%
    assert kept == ["C"]
    assert dropped == {"A": "A: constant (absent from all 12 cases)",
                       "B": "Bee: near-constant (present in 1 of 12 cases, fewer than 10%)",
                       "D": "D: near-constant (absent from 1 of 12 cases, fewer than 10%)",
                       "E": "E: constant (present in all 12 cases)"}
    assert skewed_conditions(frame, ["B"], 0.0)[0] == ["B"]  # min_share 0: only constant ones go
