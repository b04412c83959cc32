"""Comparing like with like: primary and secondary themes, the published result beside ours, what
the group sizes can detect, and one overall measure of association.

- Intervals of a difference in shares: Newcombe's hybrid score interval (method 10 of Newcombe 1998,
  statsmodels' ``confint_proportions_2indep(..., method="newcomb")``); unlike a bootstrap it stays
  honest for tiny groups (a 1-vs-1 comparison gets a very wide interval, not a zero-width one).
- Minimum detectable difference: exact power of the two-sided Fisher test used in the comparison,
  summed over every possible pair of counts (binomial in each group); the smallest increase over a
  baseline share that reaches the target power, on a 0.1-percentage-point grid.
- Overall relative association over the primary themes: ``1 - mean_struggling / mean_successful``,
  where a group's mean is the average number of primary themes its cases are associated with
  (equivalently the sum over themes of the group's shares). A theme absent in both groups adds zero
  to both; a theme seen only in struggling cases counts against. 0.2 = struggling cases are
  associated with one fifth fewer practices. Seeded bootstrap percentile interval, resampling
  cases within each group (a case keeps all its themes together).
- Verdict of a published range against our interval: *not consistent* when our interval excludes
  the whole published range; *consistent* when it includes some of the range and excludes no
  difference (zero); *undetermined* otherwise: the interval is too wide to tell the published
  effect from none.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from sibkit.outcomes import STRUGGLING, SUCCESSFUL
from sibkit.study.model import Published

CONSISTENT, NOT_CONSISTENT, UNDETERMINED = "consistent", "not consistent", "undetermined"
SMALL_GROUP = 5
EXACT_POWER_LIMIT = 1100  # (n1 + 1) * (n2 + 1) Fisher tests; above it the normal approximation is used

REPLICATION_COLUMNS = [
    "theme", "source", "claim", "published_low", "published_high", "n_successful", "n_struggling",
    "share_successful", "share_struggling", "ours", "ci_low", "ci_high", "interval", "fisher_p", "q",
    "detectable_pp", "verdict", "unit",
]


def expand_themes(ids: Iterable[str], parents: Mapping[str, str | None]) -> list[str]:
    """Theme ids with every parent replaced by its descendants that have no children, in codebook order."""
    children: dict[str, list[str]] = {}
    for theme, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(theme)

    def leaves(theme: str) -> list[str]:
        below = children.get(theme, [])
        return [leaf for child in below for leaf in leaves(child)] if below else [theme]

    found: list[str] = []
    for theme in ids:
        for leaf in leaves(theme):
            if leaf not in found:
                found.append(leaf)
    return found


def newcombe_interval(a: int, n1: int, b: int, n2: int) -> tuple[float, float]:
    """95% interval of a/n1 - b/n2 (Newcombe's hybrid score interval); NaNs when a group is empty."""
    if not n1 or not n2:
        return math.nan, math.nan
    from statsmodels.stats.proportion import confint_proportions_2indep  # SciPy and statsmodels load on use

    low, high = confint_proportions_2indep(a, n1, b, n2, method="newcomb", compare="diff")
    return float(low), float(high)


def with_families(findings: pd.DataFrame, primary: Sequence[str]) -> pd.DataFrame:
    """Findings with ``family`` (primary / secondary), Newcombe intervals and q-values recomputed
    within each family (Benjamini-Hochberg): the primary themes are one family of tests."""
    out = findings.copy()
    out["family"] = np.where(out["theme"].isin(list(primary)), "primary", "secondary")
    intervals = [newcombe_interval(int(r.associated_successful), int(r.n_successful), int(r.associated_struggling),
                                   int(r.n_struggling)) for r in out.itertuples(index=False)]
    out["newcombe_low_pp"] = [100 * low for low, _ in intervals]
    out["newcombe_high_pp"] = [100 * high for _, high in intervals]
    out["q"] = np.nan
    for family in ("primary", "secondary"):
        tested = (out["family"] == family) & out["fisher_p"].notna()
        if tested.any():
            from statsmodels.stats.multitest import multipletests

            out.loc[tested, "q"] = multipletests(out.loc[tested, "fisher_p"], method="fdr_bh")[1]
    return out


@lru_cache(maxsize=64)
def _fisher_rejections(n1: int, n2: int, alpha: float) -> np.ndarray:
    """reject[a, b]: whether Fisher's two-sided test rejects at ``alpha`` with a of n1 and b of n2."""
    from scipy.stats import fisher_exact

    reject = np.zeros((n1 + 1, n2 + 1), dtype=float)
    for a in range(n1 + 1):
        for b in range(n2 + 1):
            reject[a, b] = fisher_exact([[a, n1 - a], [b, n2 - b]])[1] <= alpha
    return reject


def fisher_power(share_1: float | np.ndarray, share_2: float, n1: int, n2: int, alpha: float = 0.05) -> np.ndarray:
    """Exact power of the two-sided Fisher test when the true shares are ``share_1`` and ``share_2``."""
    from scipy.stats import binom

    reject = _fisher_rejections(n1, n2, alpha)
    first = binom.pmf(np.arange(n1 + 1)[None, :], n1, np.atleast_1d(share_1)[:, None])
    second = binom.pmf(np.arange(n2 + 1), n2, share_2)
    return (first @ reject) @ second


def detectable_difference(n1: int, n2: int, baseline: float, power: float = 0.8,
                          alpha: float = 0.05) -> tuple[float, str]:
    """(smallest increase in percentage points over ``baseline`` that the test detects with ``power``,
    method); NaN when no increase up to 100% is detectable (e.g. 1 vs 1)."""
    if n1 < 1 or n2 < 1 or not 0 <= baseline < 1:
        return math.nan, "none"
    if (n1 + 1) * (n2 + 1) <= EXACT_POWER_LIMIT:
        grid = np.round(np.arange(baseline + 0.001, 1.0 + 1e-9, 0.001), 6)
        reached = np.nonzero(fisher_power(grid, baseline, n1, n2, alpha) >= power)[0]
        if not len(reached):
            return math.nan, "exact Fisher"
        return float(round(100 * (grid[reached[0]] - baseline), 1)), "exact Fisher"
    from statsmodels.stats.power import NormalIndPower

    effect = NormalIndPower().solve_power(nobs1=n1, ratio=n2 / n1, alpha=alpha, power=power)
    angle = effect + 2 * math.asin(math.sqrt(baseline))
    if angle >= math.pi:
        return math.nan, "normal approximation (Cohen's h)"
    return float(round(100 * (math.sin(angle / 2) ** 2 - baseline), 1)), "normal approximation (Cohen's h)"


def _groups(matrix: pd.DataFrame, classes: pd.Series, themes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the number of ``themes`` each case is associated with."""
    own = matrix[matrix["theme"].isin(list(themes))]
    per_case = own.groupby("case_id")["associated"].sum()
    successful = [c for c in classes.index if classes[c] == SUCCESSFUL]
    struggling = [c for c in classes.index if classes[c] == STRUGGLING]
    return (per_case.reindex(successful, fill_value=0).to_numpy(dtype=float),
            per_case.reindex(struggling, fill_value=0).to_numpy(dtype=float))


def _relative(successful: np.ndarray, struggling: np.ndarray) -> np.ndarray:
    mean_s, mean_t = successful.mean(axis=-1), struggling.mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mean_s > 0, 1 - mean_t / np.where(mean_s > 0, mean_s, 1), np.nan)


def overall_relative_association(matrix: pd.DataFrame, classes: pd.Series, themes: Sequence[str],
                                 resamples: int = 2000, seed: int = 12345) -> dict[str, float]:
    """``1 - mean_struggling / mean_successful`` over ``themes`` with a 95% bootstrap interval (see the
    module docstring); NaN when the successful cases show none of the themes or a group is empty."""
    successful, struggling = _groups(matrix, classes, themes)
    result = {"value": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n_successful": len(successful),
              "n_struggling": len(struggling), "themes": len(themes), "mean_successful": math.nan,
              "mean_struggling": math.nan, "undefined_resamples": 0}
    if not len(successful) or not len(struggling):
        return result
    result["mean_successful"], result["mean_struggling"] = float(successful.mean()), float(struggling.mean())
    result["value"] = float(_relative(successful, struggling))
    rng = np.random.default_rng([seed, 7])
    draws = _relative(rng.choice(successful, size=(resamples, len(successful))),
                      rng.choice(struggling, size=(resamples, len(struggling))))
    defined = draws[~np.isnan(draws)]
    result["undefined_resamples"] = int(resamples - len(defined))
    if len(defined):
        result["ci_low"], result["ci_high"] = (float(v) for v in np.percentile(defined, [2.5, 97.5]))
    return result


def verdict(low: float, high: float, published_low: float, published_high: float) -> str:
    """Consistent, not consistent or undetermined (see the module docstring)."""
    if any(math.isnan(v) for v in (low, high)):
        return UNDETERMINED
    if high < published_low or low > published_high:
        return NOT_CONSISTENT
    if low > 0 or high < 0:
        return CONSISTENT
    return UNDETERMINED


def replication_table(findings: pd.DataFrame, published: Sequence[Published], parents: Mapping[str, str | None],
                      overall: dict[str, float] | None = None, power: float = 0.8,
                      alpha: float = 0.05) -> pd.DataFrame:
    """One row per published result and theme (and one for an overall relative association): the
    published figures beside ours, our 95% interval, p and q, the detectable difference, a verdict.

    ``findings`` comes from :func:`with_families`. Differences are in percentage points
    (``unit`` "pp"); the overall row is a proportion (``unit`` "relative")."""
    by_theme = findings.set_index("theme")
    rows = []
    for result in published:
        if result.difference_pp is not None:
            for theme in expand_themes(result.themes, parents):
                if theme not in by_theme.index:
                    continue
                f = by_theme.loc[theme]
                n1, n2 = int(f["n_successful"]), int(f["n_struggling"])
                share_t = f["share_struggling"]
                detectable = (detectable_difference(n1, n2, float(share_t), power, alpha)[0]
                              if n1 and n2 and share_t == share_t else math.nan)
                low, high = float(f["newcombe_low_pp"]), float(f["newcombe_high_pp"])
                rows.append({"theme": theme, "source": result.source, "claim": result.claim,
                             "published_low": result.difference_pp.low, "published_high": result.difference_pp.high,
                             "n_successful": n1, "n_struggling": n2, "share_successful": f["share_successful"],
                             "share_struggling": share_t, "ours": f["difference_pp"], "ci_low": low, "ci_high": high,
                             "interval": "Newcombe", "fisher_p": f["fisher_p"], "q": f["q"],
                             "detectable_pp": detectable,
                             "verdict": verdict(low, high, result.difference_pp.low, result.difference_pp.high),
                             "unit": "pp"})
        elif result.overall_relative_association is not None and overall is not None:
            wanted = result.overall_relative_association
            rows.append({"theme": "overall", "source": result.source, "claim": result.claim,
                         "published_low": wanted.low, "published_high": wanted.high,
                         "n_successful": overall["n_successful"], "n_struggling": overall["n_struggling"],
                         "share_successful": math.nan, "share_struggling": math.nan, "ours": overall["value"],
                         "ci_low": overall["ci_low"], "ci_high": overall["ci_high"], "interval": "bootstrap",
                         "fisher_p": math.nan, "q": math.nan, "detectable_pp": math.nan,
                         "verdict": verdict(overall["ci_low"], overall["ci_high"], wanted.low, wanted.high),
                         "unit": "relative"})
    return pd.DataFrame(rows, columns=REPLICATION_COLUMNS)


def small_group_warnings(n_successful: int, n_struggling: int, minimum: int = SMALL_GROUP) -> list[str]:
    """One warning per comparison group with fewer than ``minimum`` cases."""
    out = []
    for name, n in ((SUCCESSFUL, n_successful), (STRUGGLING, n_struggling)):
        if n < minimum:
            count = f"no {name} cases" if n == 0 else f"only {n} {name} case{'s' if n != 1 else ''}"
            out.append(f"{count} (fewer than {minimum}): the comparison "
                       "cannot tell a real difference from chance; read it as a description of these cases only")
    return out
