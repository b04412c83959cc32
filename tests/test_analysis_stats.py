"""Group comparison statistics against values computed independently (R 4, by hand)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sibkit.analysis import Settings, associate, average_relative_difference, compare, sensitivity
from sibkit.study.model import Presence


def matrix_for(associated: dict[str, list[int]], successful: int, struggling: int) -> tuple[pd.DataFrame, pd.Series]:
    """A case x theme matrix with the given 0/1 columns: first the successful cases, then the struggling."""
    cases = [f"S{i}" for i in range(successful)] + [f"T{i}" for i in range(struggling)]
    rows = []
    for theme, values in associated.items():
        for case, value in zip(cases, values, strict=True):
            rows.append({"case_id": case, "theme": theme, "associated": bool(value), "rate_per_10k": 10.0 * value,
                         "effective_references": value})
    classes = pd.Series(["successful"] * successful + ["struggling"] * struggling, index=cases)
    return pd.DataFrame(rows), classes


# R 4.2: fisher.test(matrix(c(a, n1 - a, b, n2 - b), 2, byrow = TRUE))$p.value
R_FISHER = {
    (6, 8, 1, 8): 0.0405594405594406,   # fisher.test(matrix(c(6,2,1,7),2,byrow=TRUE))
    (2, 8, 0, 8): 0.466666666666667,    # fisher.test(matrix(c(2,6,0,8),2,byrow=TRUE))
    (7, 8, 3, 8): 0.118881118881119,    # fisher.test(matrix(c(7,1,3,5),2,byrow=TRUE))
    (3, 4, 1, 4): 0.485714285714286,    # Fisher's tea-tasting table
}


def hypergeometric_p(a: int, n1: int, b: int, n2: int) -> float:
    """Two-sided Fisher p by hand: sum of tables as or less likely than the observed one."""
    total_yes = a + b

    def probability(x: int) -> float:
        return math.comb(n1, x) * math.comb(n2, total_yes - x) / math.comb(n1 + n2, total_yes)

    observed = probability(a)
    return sum(probability(x) for x in range(max(0, total_yes - n2), min(n1, total_yes) + 1)
               if probability(x) <= observed * (1 + 1e-7))


@pytest.mark.parametrize(("a", "n1", "b", "n2"), list(R_FISHER))
def test_fisher_matches_r_and_a_hand_computation(a: int, n1: int, b: int, n2: int) -> None:
    values = [1] * a + [0] * (n1 - a) + [1] * b + [0] * (n2 - b)
    matrix, classes = matrix_for({"t": values}, n1, n2)
    finding = compare(matrix, classes, Settings(permutations=999, bootstrap=500)).iloc[0]
    assert finding["fisher_p"] == pytest.approx(R_FISHER[(a, n1, b, n2)], rel=1e-9)
    assert finding["fisher_p"] == pytest.approx(hypergeometric_p(a, n1, b, n2), rel=1e-9)
    assert finding["share_successful"] == a / n1 and finding["share_struggling"] == b / n2
    assert finding["difference_pp"] == pytest.approx(100 * (a / n1 - b / n2))
    assert finding["n_successful"] == n1 and finding["n_struggling"] == n2


def test_benjamini_hochberg_matches_r() -> None:
    # p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.5, 0.2), method = "BH") in R 4.2
    # = 0.03 0.06 0.06 0.03 0.50 0.24
    from statsmodels.stats.multitest import multipletests

    adjusted = multipletests([0.01, 0.04, 0.03, 0.005, 0.5, 0.2], method="fdr_bh")[1]
    assert list(np.round(adjusted, 12)) == [0.03, 0.06, 0.06, 0.03, 0.5, 0.24]


def test_q_values_are_bh_of_the_fisher_p_values() -> None:
    themes = {"a": [1] * 6 + [0] * 2 + [1] * 1 + [0] * 7, "b": [1] * 7 + [0] + [1] * 3 + [0] * 5,
              "c": [1] * 2 + [0] * 6 + [0] * 8}
    matrix, classes = matrix_for(themes, 8, 8)
    findings = compare(matrix, classes, Settings(permutations=999, bootstrap=500)).set_index("theme")
    # p = 0.04056, 0.11888, 0.46667 -> BH: 0.04056*3/1 = 0.12168, 0.11888*3/2 = 0.17832, 0.46667
    assert findings.loc["a", "q"] == pytest.approx(0.0405594405594406 * 3)
    assert findings.loc["b", "q"] == pytest.approx(0.118881118881119 * 3 / 2)
    assert findings.loc["c", "q"] == pytest.approx(0.466666666666667)


def test_relative_difference_and_its_average() -> None:
    # successful 6/8 = 75%, struggling 3/8 = 37.5% -> relative difference 1 - 0.375/0.75 = 0.5
    # successful 5/8, struggling 4/8 -> 1 - 0.5/0.625 = 0.2 ("less associated by one fifth")
    themes = {"x": [1] * 6 + [0] * 2 + [1] * 3 + [0] * 5, "y": [1] * 5 + [0] * 3 + [1] * 4 + [0] * 4}
    matrix, classes = matrix_for(themes, 8, 8)
    findings = compare(matrix, classes, Settings(permutations=999, bootstrap=500)).set_index("theme")
    assert findings.loc["x", "relative_difference"] == pytest.approx(0.5)
    assert findings.loc["y", "relative_difference"] == pytest.approx(0.2)
    assert average_relative_difference(findings.reset_index()) == pytest.approx(0.35)
    assert findings.loc["x", "mean_rate_successful"] == pytest.approx(7.5)


def test_permutation_and_bootstrap_are_seeded_and_sensible() -> None:
    themes = {"a": [1] * 6 + [0] * 2 + [1] * 1 + [0] * 7}
    matrix, classes = matrix_for(themes, 8, 8)
    first = compare(matrix, classes, Settings(seed=7, permutations=4999, bootstrap=2000)).iloc[0]
    again = compare(matrix, classes, Settings(seed=7, permutations=4999, bootstrap=2000)).iloc[0]
    assert first.equals(again)
    # the permutation p of a difference in shares approximates Fisher's two-sided p (0.0406)
    assert first["permutation_p"] == pytest.approx(0.0406, abs=0.015)
    assert first["ci_low_pp"] < first["difference_pp"] < first["ci_high_pp"]
    assert first["difference_pp"] == 62.5 and first["ci_low_pp"] > 0


def test_other_classes_are_left_out_and_presence_rules_apply() -> None:
    counts = pd.DataFrame({
        "case_id": ["S0", "S1", "T0", "N0"], "theme": ["t"] * 4, "effective_references": [3, 1, 0, 5],
        "rate_per_10k": [6.0, 1.0, 0.0, 9.0]})
    classes = pd.Series({"S0": "successful", "S1": "successful", "T0": "struggling", "N0": "insufficient data"})
    one = compare(associate(counts, Presence(min_references=1)), classes).iloc[0]
    assert (one["n_successful"], one["n_struggling"], one["associated_successful"]) == (2, 1, 2)
    two = compare(associate(counts, Presence(min_references=2)), classes).iloc[0]
    assert two["associated_successful"] == 1
    rate = compare(associate(counts, Presence(min_rate=5.0)), classes).iloc[0]
    assert rate["associated_successful"] == 1


def test_sensitivity_says_which_conclusions_survive() -> None:
    counts = pd.DataFrame({
        "case_id": ["A", "B", "C", "D"] * 2, "theme": ["robust"] * 4 + ["fragile"] * 4,
        "effective_references": [3, 3, 0, 0, 1, 0, 0, 0], "rate_per_10k": [9.0, 9.0, 0, 0, 1.0, 0, 0, 0]})
    # C is struggling at tolerance 0.10 and successful at 0.15
    table = pd.DataFrame({"case_id": ["A", "B", "C", "D"],
                          "class_at_0.1": ["successful", "successful", "struggling", "struggling"],
                          "class_at_0.15": ["successful", "successful", "successful", "struggling"]})
    scenarios, summary = sensitivity(counts, table, [Presence(min_references=1), Presence(min_references=2)],
                                     Settings(permutations=99, bootstrap=100))
    assert len(scenarios) == 2 * 2 * 2
    summary = summary.set_index("theme")
    assert bool(summary.loc["robust", "survives"]) and not bool(summary.loc["fragile", "survives"])
