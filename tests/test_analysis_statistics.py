"""The group comparison against values computed independently of sibkit.

Reference p-values come from R 4 (Debian r-base-core); the R commands are in the comments, so the
tests themselves never need R. Exact permutation p-values are worked out in the test from the
hypergeometric distribution with ``math.comb``.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sibkit.analysis import Settings, associate, average_relative_difference, compare, sensitivity
from sibkit.study.model import Presence

N_SUCCESSFUL, N_STRUGGLING = 10, 8
# theme -> (associated among 10 successful cases, associated among 8 struggling cases)
TABLES = {"A": (8, 3), "B": (6, 5), "C": (9, 2), "D": (2, 6)}

# R> tabs <- list(A=c(8,2,3,5), B=c(6,4,5,3), C=c(9,1,2,6), D=c(2,8,6,2))
# R> p <- sapply(tabs, function(t) fisher.test(matrix(t, nrow=2, byrow=TRUE))$p.value)
# R> sprintf("%.15g", p)
R_FISHER_P = {"A": 0.144796380090498, "B": 1.0, "C": 0.0128205128205128, "D": 0.0536130536130536}
# R> sprintf("%.15g", p.adjust(p, method="BH"))
R_BH_Q = {"A": 0.193061840120663, "B": 1.0, "C": 0.0512820512820513, "D": 0.107226107226107}


def _case_ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{i:02d}" for i in range(count)]


SUCCESSFUL_IDS = _case_ids("S", N_SUCCESSFUL)
STRUGGLING_IDS = _case_ids("T", N_STRUGGLING)


def _matrix(tables: dict[str, tuple[int, int]] = TABLES) -> pd.DataFrame:
    """Case x theme rows: the first k cases of a group are associated; rate = 10 when associated, else 1."""
    rows = []
    for theme, (in_successful, in_struggling) in tables.items():
        for ids, associated_count in ((SUCCESSFUL_IDS, in_successful), (STRUGGLING_IDS, in_struggling)):
            for position, case_id in enumerate(ids):
                associated = position < associated_count
                rows.append({"case_id": case_id, "theme": theme, "associated": associated,
                             "effective_references": 3 if associated else 0,
                             "rate_per_10k": 10.0 if associated else 1.0})
    # a case with insufficient data is in the matrix but never in the comparison
    for theme in tables:
        rows.append({"case_id": "X00", "theme": theme, "associated": True, "effective_references": 9,
                     "rate_per_10k": 99.0})
    return pd.DataFrame(rows)


def _classes() -> pd.Series:
    classes = {**dict.fromkeys(SUCCESSFUL_IDS, "successful"), **dict.fromkeys(STRUGGLING_IDS, "struggling"),
               "X00": "insufficient data"}
    return pd.Series(classes, name="class")


FAST = Settings(seed=7, permutations=9999, bootstrap=2000)


@pytest.fixture(scope="module")
def findings() -> pd.DataFrame:
    return compare(_matrix(), _classes(), FAST).set_index("theme")


def test_shares_differences_and_group_sizes(findings: pd.DataFrame) -> None:
    assert list(findings.index) == ["A", "B", "C", "D"]
    assert (findings["n_successful"] == 10).all() and (findings["n_struggling"] == 8).all()
    a = findings.loc["A"]
    assert (a["associated_successful"], a["associated_struggling"]) == (8, 3)
    assert a["share_successful"] == pytest.approx(0.8)
    assert a["share_struggling"] == pytest.approx(0.375)
    assert a["difference_pp"] == pytest.approx(42.5)  # 80% - 37.5%
    assert a["relative_difference"] == pytest.approx(0.53125)  # 1 - 0.375 / 0.8
    assert findings.loc["D", "difference_pp"] == pytest.approx(-55.0)  # 20% - 75%
    assert findings.loc["D", "relative_difference"] == pytest.approx(-2.75)  # 1 - 0.75 / 0.2
    # rates: associated cases 10, others 1 -> A successful (8*10 + 2*1)/10 = 8.2, struggling (3*10 + 5)/8 = 4.375
    assert a["mean_rate_successful"] == pytest.approx(8.2)
    assert a["mean_rate_struggling"] == pytest.approx(4.375)


def test_fisher_and_benjamini_hochberg_match_r(findings: pd.DataFrame) -> None:
    for theme in TABLES:
        assert findings.loc[theme, "fisher_p"] == pytest.approx(R_FISHER_P[theme], rel=1e-9)
        assert findings.loc[theme, "q"] == pytest.approx(R_BH_Q[theme], rel=1e-9)


def test_average_relative_difference(findings: pd.DataFrame) -> None:
    # (0.53125 + (1 - 0.625/0.6) + (1 - 0.25/0.9) + (1 - 0.75/0.2)) / 4
    expected = (0.53125 - 0.625 / 0.6 + 1 - 0.25 / 0.9 + 1 - 3.75 + 1) / 4
    assert average_relative_difference(findings.reset_index()) == pytest.approx(expected)


def _exact_permutation_p(in_successful: int, in_struggling: int, n1: int = N_SUCCESSFUL,
                         n2: int = N_STRUGGLING) -> float:
    """Relabelling cases keeps the margins, so the count in the successful group is hypergeometric."""
    total = in_successful + in_struggling
    observed = abs(in_successful / n1 - in_struggling / n2)
    p = 0.0
    for k in range(max(0, total - n2), min(total, n1) + 1):
        if abs(k / n1 - (total - k) / n2) >= observed - 1e-12:
            p += math.comb(n1, k) * math.comb(n2, total - k) / math.comb(n1 + n2, total)
    return p


def test_permutation_p_is_close_to_the_exact_value(findings: pd.DataFrame) -> None:
    for theme, (a, b) in TABLES.items():
        # 9,999 shuffles: Monte Carlo standard error <= 0.005, so 0.02 is four of them
        assert findings.loc[theme, "permutation_p"] == pytest.approx(_exact_permutation_p(a, b), abs=0.02)


def test_bootstrap_interval_is_seeded_and_sensible(findings: pd.DataFrame) -> None:
    again = compare(_matrix(), _classes(), FAST).set_index("theme")
    pd.testing.assert_frame_equal(findings, again)
    for theme in TABLES:
        low, high, difference = findings.loc[theme, ["ci_low_pp", "ci_high_pp", "difference_pp"]]
        assert -100 <= low <= difference <= high <= 100
    # Normal approximation for A: 1.96 * sqrt(0.8*0.2/10 + 0.375*0.625/8) = 0.417 -> 42.5 +- 41.7 pp;
    # the percentile bootstrap of these discrete shares lands within a few points of it.
    assert findings.loc["A", "ci_low_pp"] == pytest.approx(42.5 - 41.7, abs=8)
    assert findings.loc["A", "ci_high_pp"] == pytest.approx(42.5 + 41.7, abs=8)


def test_presence_rules() -> None:
    counts = pd.DataFrame({"case_id": ["a", "b", "c"], "theme": ["t"] * 3,
                           "effective_references": [0, 1, 2], "rate_per_10k": [0.0, 4.9, 5.0]})
    assert associate(counts, Presence(min_references=1))["associated"].tolist() == [False, True, True]
    assert associate(counts, Presence(min_references=2))["associated"].tolist() == [False, False, True]
    assert associate(counts, Presence(min_rate=5.0))["associated"].tolist() == [False, False, True]


def test_a_group_without_cases_gives_no_test_but_keeps_n() -> None:
    classes = _classes().replace("struggling", "insufficient data")
    result = compare(_matrix(), classes, FAST)
    assert (result["n_struggling"] == 0).all() and (result["n_successful"] == 10).all()
    assert result["fisher_p"].isna().all() and result["q"].isna().all()


def test_sensitivity_reports_which_conclusions_survive() -> None:
    counts = _matrix().drop(columns="associated")
    classes = _classes()
    class_table = pd.DataFrame({"case_id": classes.index, "class_at_0.1": classes.to_numpy(),
                                "class_at_0.15": classes.to_numpy()})
    # at the stricter tolerance S00-S02 (associated with A, B and C; S00-S01 also with D) count as struggling:
    # A 5/7 vs 6/11 (+16.9 pp), B 3/7 vs 8/11 (-29.9), C 6/7 vs 5/11 (+40.3), D 0/7 vs 8/11 (-72.7);
    # at 0.15: A +42.5, B -2.5, C +65.0, D -55.0. The rate rule (>= 5) marks the same cases here.
    class_table.loc[class_table["case_id"].isin(["S00", "S01", "S02"]), "class_at_0.1"] = "struggling"
    presences = [Presence(min_references=1), Presence(min_rate=5.0)]
    table, summary = sensitivity(counts, class_table, presences, Settings(seed=1, permutations=99, bootstrap=100))
    assert len(table) == 2 * 2 * 4  # tolerances x presence rules x themes
    assert set(table["tolerance"]) == {0.1, 0.15}
    survives = summary.set_index("theme")["survives"].to_dict()
    assert survives == {"A": True, "B": False, "C": True, "D": False}
    strict = table[(table["tolerance"] == 0.1) & (table["theme"] == "A")].iloc[0]
    assert (strict["n_successful"], strict["n_struggling"]) == (7, 11)
    assert strict["difference_pp"] == pytest.approx(100 * (5 / 7 - 6 / 11))


def _fisher_two_sided(a: int, b: int, c: int, d: int) -> float:
    """R's definition: sum the hypergeometric probabilities no larger than the observed one (relative 1e-7)."""
    row1, col1, n = a + b, a + c, a + b + c + d

    def probability(k: int) -> float:
        return math.comb(col1, k) * math.comb(n - col1, row1 - k) / math.comb(n, row1)

    observed = probability(a)
    support = range(max(0, row1 + col1 - n), min(row1, col1) + 1)
    return min(1.0, sum(probability(k) for k in support if probability(k) <= observed * (1 + 1e-7)))


def _benjamini_hochberg(p_values: list[float]) -> list[float]:
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * m / rank)
        q[index] = running
    return q


group_tables = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 5)), min_size=1, max_size=5)


@settings(max_examples=40, deadline=None)
@given(group_tables)
def test_fisher_and_q_values_match_a_plain_implementation(tables: list[tuple[int, int]]) -> None:
    themes = {f"t{i}": table for i, table in enumerate(tables)}
    rows = []
    for theme, (in_successful, in_struggling) in themes.items():
        for i in range(6):
            rows.append({"case_id": f"s{i}", "theme": theme, "associated": i < in_successful, "rate_per_10k": 0.0})
        for i in range(5):
            rows.append({"case_id": f"t{i}", "theme": theme, "associated": i < in_struggling, "rate_per_10k": 0.0})
    classes = pd.Series({**{f"s{i}": "successful" for i in range(6)}, **{f"t{i}": "struggling" for i in range(5)}})
    result = compare(pd.DataFrame(rows), classes, Settings(seed=3, permutations=99, bootstrap=100))
    result = result.set_index("theme").loc[list(themes)]
    expected_p = [_fisher_two_sided(a, 6 - a, b, 5 - b) for a, b in themes.values()]
    assert result["fisher_p"].tolist() == pytest.approx(expected_p, rel=1e-9)
    assert result["q"].tolist() == pytest.approx(_benjamini_hochberg(expected_p), rel=1e-9)
    for (a, b), difference in zip(themes.values(), result["difference_pp"], strict=True):
        assert difference == pytest.approx(100 * (a / 6 - b / 5))
