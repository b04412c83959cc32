"""Comparing like with like: Newcombe intervals, exact Fisher power, the overall relative association,
verdicts against a published range, primary / secondary families. Expected values are worked out
here by hand (Wilson intervals, binomial sums), not by sibkit."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sibkit.analysis import (
    Settings,
    compare,
    detectable_difference,
    expand_themes,
    family_alpha,
    fisher_power,
    newcombe_interval,
    overall_relative_association,
    ratio_interval,
    replication_table,
    small_group_warnings,
    verdict,
    with_families,
)
from sibkit.errors import SibkitError
from sibkit.study.model import parse_study

Z = 1.959963984540054


def _wilson(x: int, n: int, z: float = Z) -> tuple[float, float]:
    centre = (x + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * math.sqrt(x * (n - x) / n + z * z / 4)
    return centre - half, centre + half


def _newcombe(a: int, n1: int, b: int, n2: int, z: float = Z) -> tuple[float, float]:
    p1, p2 = a / n1, b / n2
    (l1, u1), (l2, u2) = _wilson(a, n1, z), _wilson(b, n2, z)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def _z(alpha: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - alpha / 2)


@pytest.mark.parametrize("table", [(8, 10, 3, 8), (9, 10, 2, 8), (0, 8, 0, 8), (1, 1, 0, 1), (10, 10, 0, 10)])
def test_newcombe_interval_matches_wilson_by_hand(table: tuple[int, int, int, int]) -> None:
    assert newcombe_interval(*table) == pytest.approx(_newcombe(*table), abs=1e-9)


def test_a_one_versus_one_comparison_gets_a_wide_interval_not_a_zero_width_one() -> None:
    low, high = newcombe_interval(1, 1, 0, 1)
    assert high - low > 1.0
    assert all(math.isnan(v) for v in newcombe_interval(1, 0, 0, 3))


def test_exact_fisher_power_for_four_against_four() -> None:
    # With 4 vs 4 cases only the two tables [[4,0],[0,4]] and [[0,4],[4,0]] reach p <= 0.05
    # (p = 2/70; the next most extreme has p = 10/70), so power = p1^4 (1-p2)^4 + (1-p1)^4 p2^4.
    for p1, p2 in ((0.9, 0.1), (0.7, 0.2), (0.5, 0.5)):
        expected = p1 ** 4 * (1 - p2) ** 4 + (1 - p1) ** 4 * p2 ** 4
        assert float(fisher_power(p1, p2, 4, 4)[0]) == pytest.approx(expected, abs=1e-12)
    # from a baseline of 0: p1^4 >= 0.8  <=>  p1 >= 0.8 ** 0.25 = 0.94574, i.e. 94.6 pp on the 0.1 pp grid
    assert detectable_difference(4, 4, 0.0) == (94.6, "exact Fisher")


def test_groups_too_small_to_detect_anything() -> None:
    # 3 vs 3: even [[3,0],[0,3]] has p = 0.1, so no difference can ever be detected
    assert math.isnan(detectable_difference(3, 3, 0.0)[0])
    assert math.isnan(detectable_difference(1, 1, 0.5)[0])
    value, method = detectable_difference(60, 60, 0.5)
    assert method.startswith("normal approximation") and 20 < value < 30


def test_overall_relative_association_by_hand() -> None:
    themes = {"S1": ["P1", "P2"], "S2": ["P1", "P2"], "S3": ["P1"], "S4": ["P2"],
              "T1": ["P1"], "T2": ["P2"], "T3": ["Q"], "T4": []}
    rows = [{"case_id": case, "theme": theme, "associated": theme in shown}
            for case, shown in themes.items() for theme in ("P1", "P2", "P3", "Q")]
    matrix = pd.DataFrame(rows)
    classes = pd.Series({c: "successful" if c.startswith("S") else "struggling" for c in themes})
    # successful: 6 associations / 4 cases = 1.5; struggling: 2 / 4 = 0.5; 1 - 0.5 / 1.5 = 2/3
    result = overall_relative_association(matrix, classes, ["P1", "P2"], resamples=500, seed=3)
    assert result["value"] == pytest.approx(2 / 3)
    assert (result["mean_successful"], result["mean_struggling"]) == (1.5, 0.5)
    assert result["ci_low"] <= result["value"] <= result["ci_high"] <= 1.0
    # a theme absent in both groups adds nothing
    assert overall_relative_association(matrix, classes, ["P1", "P2", "P3"], 500, 3)["value"] == pytest.approx(2 / 3)
    # a theme seen only in struggling cases counts against: struggling 3 / 4 = 0.75, 1 - 0.75 / 1.5 = 0.5
    assert overall_relative_association(matrix, classes, ["P1", "P2", "Q"], 500, 3)["value"] == pytest.approx(0.5)
    # seeded
    again = overall_relative_association(matrix, classes, ["P1", "P2"], resamples=500, seed=3)
    assert (again["ci_low"], again["ci_high"]) == (result["ci_low"], result["ci_high"])


def test_verdicts() -> None:
    assert verdict(19.3, 84.7, 13, 23) == "consistent"
    assert verdict(-2.0, 70.3, 13, 23) == "no evidence either way"  # too wide: includes no difference
    assert verdict(-77.9, -8.9, 13, 23) == "not consistent"       # excludes the whole published range
    assert verdict(60.8, 100.0, 13, 23) == "not consistent"       # larger than published
    assert verdict(math.nan, math.nan, 13, 23) == "no evidence either way"
    assert verdict(0.05, 0.4, 0.2, 0.2) == "consistent"
    assert verdict(20.0, math.inf, 13, 23) == "consistent"        # no upper limit: still excludes none
    assert verdict(30.0, math.inf, 13, 23) == "not consistent"


def test_newcombes_own_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17, 873-890, Table II example (a): 56/70 - 48/80, method 10
    # (hybrid score): 0.0524 to 0.3339
    low, high = newcombe_interval(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_zero_of_eight_against_two_of_eight_is_no_evidence_once_adjusted_for_eight_themes() -> None:
    # The issue's case: 0/8 vs 2/8, unadjusted Newcombe -59.1 to +12.0 pp excludes +13 to +23 ("not
    # consistent" on one theme of eight). Bonferroni for 8 themes: each at 1 - 0.05/8, z = 2.7344;
    # Wilson 0/8: 0 to z^2/(8 + z^2) = 0.4831; 2/8: 0.0465 to 0.6951; -0.25 - (0.6951 - 0.25) = -0.6951,
    # -0.25 + sqrt(0.4831^2 + (0.25 - 0.0465)^2) = +0.2742: the interval reaches the published range.
    assert newcombe_interval(0, 8, 2, 8) == pytest.approx(_newcombe(0, 8, 2, 8), abs=1e-9)
    assert family_alpha(8) == 0.05 / 8
    low, high = newcombe_interval(0, 8, 2, 8, family_alpha(8))
    assert (low, high) == pytest.approx(_newcombe(0, 8, 2, 8, _z(0.05 / 8)), abs=1e-9)
    assert (round(100 * low, 1), round(100 * high, 1)) == (-69.5, 27.4)
    assert verdict(-59.1, 12.0, 13, 23) == "not consistent"
    assert verdict(100 * low, 100 * high, 13, 23) == "no evidence either way"


def test_ratio_interval_mover_r_by_hand() -> None:
    # 8/8 against 8/8: p1 = p2 = 1, Wilson lower limit l = 8 / (8 + z^2); Zou & Donner's MOVER-R gives
    # l and 1/l (worked by hand from their formula: 1 - sqrt(1 - l (2 - l)) = l, (2 - l) / (l (2 - l)) = 1/l)
    ratio, low, high, note = ratio_interval(8, 8, 8, 8)
    wilson_low = 8 / (8 + Z * Z)
    assert (ratio, note) == (1.0, "")
    assert (low, high) == pytest.approx((wilson_low, 1 / wilson_low), abs=1e-9)
    # 3/8 against 1/8 (ratio 3) from hand Wilson limits
    (l1, u1), (l2, u2) = _wilson(3, 8), _wilson(1, 8)
    p1, p2 = 3 / 8, 1 / 8
    product = p1 * p2
    expected_low = (product - math.sqrt(product ** 2 - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2))) / (u2 * (2 * p2 - u2))
    expected_high = (product + math.sqrt(product ** 2 - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2))) / (l2 * (2 * p2 - l2))
    assert ratio_interval(3, 8, 1, 8) == pytest.approx((3.0, expected_low, expected_high, ""))
    # no struggling case: no upper limit; no case at all: no ratio, and why
    ratio, low, high, note = ratio_interval(2, 8, 0, 8)
    assert math.isinf(ratio) and math.isinf(high) and 0 < low < 1 and note.startswith("no struggling case")
    ratio, low, high, note = ratio_interval(0, 8, 0, 8)
    assert math.isnan(ratio) and math.isnan(low) and note.startswith("no case in either group")
    assert ratio_interval(0, 8, 2, 8)[:2] == (0.0, 0.0)


def test_no_overall_interval_when_some_resamples_leave_it_undefined() -> None:
    # one successful case of four shows a theme: a resample of four successful cases misses it with
    # probability (3/4)^4 = 0.32, so about a third of the resamples have no ratio: no interval, and why
    rows = [{"case_id": c, "theme": "P", "associated": c in {"S1", "T1", "T2"}} for c in
            ("S1", "S2", "S3", "S4", "T1", "T2", "T3", "T4")]
    classes = pd.Series({c: "successful" if c[0] == "S" else "struggling" for c in ("S1", "S2", "S3", "S4", "T1",
                                                                                    "T2", "T3", "T4")})
    result = overall_relative_association(pd.DataFrame(rows), classes, ["P"], resamples=1000, seed=1)
    assert result["value"] == pytest.approx(1 - 0.5 / 0.25)
    assert math.isnan(result["ci_low"]) and math.isnan(result["ci_high"])
    assert 250 < result["undefined_resamples"] < 390
    assert f"in {result['undefined_resamples']} of 1000 resamples" in result["interval_note"]


def test_expand_themes_replaces_a_parent_by_its_leaves() -> None:
    parents = {"practices": None, "a": "practices", "b": "practices", "constructs": None, "c": "constructs"}
    assert expand_themes(["practices"], parents) == ["a", "b"]
    assert expand_themes(["c", "practices", "a"], parents) == ["c", "a", "b"]


def _matrix(tables: dict[str, tuple[int, int, int, int]]) -> tuple[pd.DataFrame, pd.Series]:
    rows, classes = [], {}
    for theme, (a, n1, b, n2) in tables.items():
        for prefix, shown, n in (("S", a, n1), ("T", b, n2)):
            for i in range(n):
                case = f"{prefix}{i:02d}"
                classes[case] = "successful" if prefix == "S" else "struggling"
                rows.append({"case_id": case, "theme": theme, "associated": i < shown,
                             "rate_per_10k": 1.0, "effective_references": int(i < shown)})
    return pd.DataFrame(rows), pd.Series(classes)


def test_replication_table_sets_the_published_range_beside_ours() -> None:
    tables = {"A": (8, 10, 3, 8), "C": (9, 10, 2, 8), "D": (2, 10, 6, 8), "X": (6, 10, 5, 8)}
    matrix, classes = _matrix(tables)
    findings = with_families(compare(matrix, classes, Settings(permutations=99, bootstrap=100)), ["A", "C", "D"])
    assert list(findings["family"]) == ["primary", "primary", "primary", "secondary"]
    # q within the primary family: BH of the three primary Fisher p-values, by hand
    p = findings.set_index("theme")["fisher_p"][["A", "C", "D"]].to_numpy()
    order = np.argsort(p)
    ranked = p[order] * 3 / np.arange(1, 4)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    expected_q = dict(zip(np.array(["A", "C", "D"])[order], np.minimum(q, 1), strict=True))
    for theme, value in expected_q.items():
        assert findings.set_index("theme").loc[theme, "q"] == pytest.approx(value)
    assert findings.set_index("theme").loc["X", "q"] == pytest.approx(findings.set_index("theme").loc["X", "fisher_p"])

    study = parse_study("analysis:\n  published:\n    - source: Whitehead and Fox, Social Outcomes Conference 2022\n"
                        "      themes: [practices]\n      difference_pp: {low: 13, high: 23}\n"
                        "    - source: W&F\n      overall_relative_association: 0.2\n")
    parents = {"practices": None, "A": "practices", "C": "practices", "D": "practices", "X": None}
    overall = overall_relative_association(matrix, classes, ["A", "C", "D"], 200, 1)
    table = replication_table(findings, study.analysis.published, parents, overall).set_index("theme")
    assert list(table.index) == ["A", "C", "D", "overall"]
    # the verdict reads Newcombe intervals adjusted for the claim's 3 themes (each at 1 - 0.05/3, z = 2.394)
    z = _z(0.05 / 3)
    adjusted = {t: _newcombe(*tables[t], z) for t in ("A", "C", "D")}
    for theme, (low, high) in adjusted.items():
        assert (table.loc[theme, "adjusted_low"], table.loc[theme, "adjusted_high"]) == pytest.approx(
            (100 * low, 100 * high))
        assert table.loc[theme, "adjustment"] == "Bonferroni over 3 themes (each at 98.33%)"
    # A: 8/10 vs 3/8 -> about -4 to +76 (includes 0); C: 9/10 vs 2/8 -> about +17 to +86; D: 2/10 vs 6/8 all below
    assert adjusted["A"][0] < 0 < adjusted["C"][0] < 0.23 and adjusted["D"][1] < 0
    assert dict(table["verdict"]) == {"A": "no evidence either way", "C": "consistent", "D": "not consistent",
                                      "overall": verdict(overall["ci_low"], overall["ci_high"], 0.2, 0.2)}
    low, high = _newcombe(9, 10, 2, 8)
    assert (table.loc["C", "ci_low"], table.loc["C", "ci_high"]) == pytest.approx((100 * low, 100 * high))
    # the relative reading: C is 0.9 / 0.25 = 3.6 times as often, +260%; its adjusted MOVER-R interval starts
    # at about +18%, inside "+13 to 23% more often" and above no difference: consistent on that reading too
    assert table.loc["C", "ours_relative"] == pytest.approx(260.0)
    _, low, high, _ = ratio_interval(9, 10, 2, 8, 0.05 / 3)
    assert (table.loc["C", "relative_low"], table.loc["C", "relative_high"]) == pytest.approx(
        (100 * (low - 1), 100 * (high - 1)))
    assert 13 < table.loc["C", "relative_low"] < 23 and table.loc["C", "relative_verdict"] == "consistent"
    # D: 0.2 / 0.75 - 1 = -73%: below the published range on either reading
    assert table.loc["D", "ours_relative"] == pytest.approx(100 * (0.2 / 0.75 - 1))
    assert table.loc["D", "relative_verdict"] == "not consistent"
    assert table.loc["C", "ours"] == pytest.approx(100 * (0.9 - 0.25))
    assert (table.loc["C", "published_low"], table.loc["C", "published_high"]) == (13, 23)
    # (19 + 16) / 18 associations: successful 19/10 = 1.9 per case, struggling 11/8 = 1.375
    assert overall["value"] == pytest.approx(1 - (11 / 8) / (19 / 10))


def test_published_results_in_the_study_file_are_checked() -> None:
    with pytest.raises(SibkitError, match="exactly one of difference_pp or overall_relative_association"):
        parse_study("analysis:\n  published:\n    - source: x\n      themes: [a]\n")
    with pytest.raises(SibkitError, match="needs the themes"):
        parse_study("analysis:\n  published:\n    - source: x\n      difference_pp: 10\n")
    with pytest.raises(SibkitError, match="is above 'high'"):
        parse_study("analysis:\n  published:\n    - source: x\n      themes: [a]\n"
                    "      difference_pp: {low: 30, high: 10}\n")
    single = parse_study("analysis:\n  primary_themes: [practices]\n  published:\n    - source: x\n"
                         "      themes: [a]\n      difference_pp: 15\n")
    assert single.analysis.published[0].difference_pp is not None
    assert (single.analysis.published[0].difference_pp.low, single.analysis.published[0].difference_pp.high) == (15, 15)
    assert single.analysis.primary_themes == ["practices"]


def test_small_groups_are_warned_about() -> None:
    assert small_group_warnings(8, 8) == []
    warnings = small_group_warnings(1, 4)
    assert len(warnings) == 2 and warnings[0].startswith("only 1 successful case ") and "only 4 struggling cases" in \
        warnings[1]


def test_no_degenerate_interval_is_given_and_the_reason_is() -> None:
    # "Z": no case in either group shows it: every bootstrap resample gives 0 - 0, a "0.0 to 0.0" interval
    matrix, classes = _matrix({"Z": (0, 8, 0, 8), "Y": (0, 8, 2, 8), "A": (3, 8, 1, 8)})
    findings = compare(matrix, classes, Settings(permutations=99, bootstrap=200)).set_index("theme")
    assert math.isnan(findings.loc["Z", "ci_low_pp"]) and math.isnan(findings.loc["Z", "ci_high_pp"])
    assert findings.loc["Z", "bootstrap_note"] == "no variation within either group to resample"
    assert findings.loc["A", "bootstrap_note"] == ""
    assert findings.loc["A", "ci_low_pp"] < findings.loc["A", "ci_high_pp"]
    # the relative difference 1 - share struggling / share successful is undefined with no successful case
    assert math.isnan(findings.loc["Y", "relative_difference"])
    assert findings.loc["Y", "relative_note"] == "no successful case shows it"
    assert findings.loc["A", "relative_difference"] == pytest.approx(1 - (1 / 8) / (3 / 8))


def test_a_family_with_no_comparable_theme_is_not_called_one_theme() -> None:
    # the example study as published: no successful case, two struggling ones, a claim over two themes
    matrix, classes = _matrix({"A": (0, 0, 1, 2), "C": (0, 0, 0, 2)})
    findings = with_families(compare(matrix, classes, Settings(permutations=99, bootstrap=100)), ["A", "C"])
    assert list(findings["family_size"]) == [0, 0]
    study = parse_study("analysis:\n  published:\n    - source: W\n      themes: [practices]\n"
                        "      difference_pp: {low: 13, high: 23}\n")
    table = replication_table(findings, study.analysis.published, {"practices": None, "A": "practices",
                                                                   "C": "practices"})
    assert set(table["adjustment"]) == {"none: no theme could be compared (a group has no cases)"}
