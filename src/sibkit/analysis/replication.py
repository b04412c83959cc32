"""Comparing like with like: primary and secondary themes, the published result beside ours, what
the group sizes can detect, and one overall measure of association.

- Intervals of a difference in shares: Newcombe's hybrid score interval (method 10 of Newcombe 1998,
  *Statistics in Medicine* 17, 873-890; statsmodels' ``confint_proportions_2indep(..., method="newcomb")``);
  unlike a bootstrap it stays honest for tiny groups (a 1-vs-1 comparison gets a very wide interval,
  not a zero-width one).
- Intervals adjusted for the family: a published claim about several themes ("each practice") is
  tested on all of them at once, so the verdict reads Bonferroni-adjusted intervals (Dunn 1961,
  *JASA* 56, 52-64): each of the m themes' intervals at level 1 - 0.05 / m, so that all m cover
  their true differences together with probability at least 95%.
- The relative reading of a published "13-23% more often": the ratio of the shares minus one
  (successful ÷ struggling - 1 = +13% to +23%), with Zou and Donner's MOVER-R interval from the two
  Wilson intervals (Zou & Donner 2008, *Statistics in Medicine* 27, 1693-1702; Wilson limits from
  statsmodels' ``proportion_confint(method="wilson")``), adjusted like the absolute one. statsmodels'
  own ratio intervals break at the edges (its score interval of 8/8 against 8/8 excludes ratios
  below 1), which small groups hit all the time. No struggling case showing a theme gives no upper
  limit (the ratio can be arbitrarily large); no case in either group gives no ratio at all.
- Minimum detectable difference: exact power of the two-sided Fisher test used in the comparison,
  summed over every possible pair of counts (binomial in each group); the smallest increase over a
  baseline share that reaches the target power, on a 0.1-percentage-point grid.
- Overall relative association over the primary themes: ``1 - mean_struggling / mean_successful``,
  where a group's mean is the average number of primary themes its cases are associated with
  (equivalently the sum over themes of the group's shares). A theme absent in both groups adds zero
  to both; a theme seen only in struggling cases counts against. 0.2 = struggling cases are
  associated with one fifth fewer practices. Seeded bootstrap percentile interval, resampling
  cases within each group (a case keeps all its themes together); no interval when some resample
  leaves the successful cases with none of the themes (the ratio is then undefined and the interval
  has no lower limit).
- Verdict of a published range against our (adjusted) interval: *not consistent* when the interval
  excludes the whole published range; *consistent* when it includes some of the range and excludes
  no difference (zero); otherwise *no evidence either way*: the interval is too wide to tell the
  published effect from none (or there is no interval).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from sibkit.outcomes import STRUGGLING, SUCCESSFUL
from sibkit.study.model import Published

CONSISTENT, NOT_CONSISTENT, NO_EVIDENCE = "consistent", "not consistent", "no evidence either way"
SMALL_GROUP = 5
FAMILY_ALPHA = 0.05
EXACT_POWER_LIMIT = 1100  # (n1 + 1) * (n2 + 1) Fisher tests; above it the normal approximation is used

REPLICATION_COLUMNS = [
    "theme", "source", "claim", "published_low", "published_high", "n_successful", "n_struggling",
    "share_successful", "share_struggling", "ours", "ci_low", "ci_high", "interval", "adjusted_low",
    "adjusted_high", "adjustment", "interval_note", "fisher_p", "q", "detectable_pp", "verdict",
    "ours_relative", "relative_low", "relative_high", "relative_note", "relative_verdict", "unit",
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


def newcombe_interval(a: int, n1: int, b: int, n2: int, alpha: float = 0.05) -> tuple[float, float]:
    """(1 - alpha) interval of a/n1 - b/n2 (Newcombe's hybrid score interval); NaNs when a group is empty."""
    if not n1 or not n2:
        return math.nan, math.nan
    return _newcombe_cached(int(a), int(n1), int(b), int(n2), float(alpha))


@lru_cache(maxsize=4096)
def _newcombe_cached(a: int, n1: int, b: int, n2: int, alpha: float) -> tuple[float, float]:
    from statsmodels.stats.proportion import confint_proportions_2indep  # SciPy and statsmodels load on use

    low, high = confint_proportions_2indep(a, n1, b, n2, method="newcomb", compare="diff", alpha=alpha)
    return float(low), float(high)


def family_alpha(size: int, alpha: float = FAMILY_ALPHA) -> float:
    """Bonferroni: the level each of ``size`` intervals needs for the family to hold at ``alpha``."""
    return alpha / max(1, size)


def ratio_interval(a: int, n1: int, b: int, n2: int, alpha: float = 0.05) -> tuple[float, float, float, str]:
    """(ratio a/n1 ÷ b/n2, low, high, why there is no interval): Zou & Donner's MOVER-R from Wilson limits.

    The upper limit is infinite when b = 0 (no struggling case shows it); with a = b = 0 there is no
    ratio (NaNs and the reason)."""
    if not n1 or not n2:
        return math.nan, math.nan, math.nan, "a group has no cases"
    if a == 0 and b == 0:
        return math.nan, math.nan, math.nan, "no case in either group shows it: there is no ratio"
    return _mover_ratio(int(a), int(n1), int(b), int(n2), float(alpha))


@lru_cache(maxsize=4096)
def _mover_ratio(a: int, n1: int, b: int, n2: int, alpha: float) -> tuple[float, float, float, str]:
    from statsmodels.stats.proportion import proportion_confint

    p1, p2 = a / n1, b / n2
    l1, u1 = (float(v) for v in proportion_confint(a, n1, alpha=alpha, method="wilson"))
    l2, u2 = (float(v) for v in proportion_confint(b, n2, alpha=alpha, method="wilson"))
    # Zou & Donner (2008), eq. for the ratio of two parameters from their separate limits
    low_root = max(0.0, (p1 * p2) ** 2 - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2))
    low = (p1 * p2 - math.sqrt(low_root)) / (u2 * (2 * p2 - u2))
    high_denominator = l2 * (2 * p2 - l2)
    if high_denominator <= 0:
        high = math.inf
    else:
        high_root = max(0.0, (p1 * p2) ** 2 - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2))
        high = (p1 * p2 + math.sqrt(high_root)) / high_denominator
    ratio = p1 / p2 if p2 else math.inf
    note = "no struggling case shows it: no upper limit" if b == 0 else ""
    return ratio, max(0.0, low), high, note


def with_families(findings: pd.DataFrame, primary: Sequence[str], alpha: float = FAMILY_ALPHA) -> pd.DataFrame:
    """Findings with ``family`` (primary / secondary), Newcombe 95% intervals, Newcombe intervals
    Bonferroni-adjusted within each family (``adjusted_low_pp``, ``adjusted_high_pp``, ``family_size``)
    and q-values recomputed within each family (Benjamini-Hochberg): the primary themes are one
    family of tests."""
    out = findings.copy()
    out["family"] = np.where(out["theme"].isin(list(primary)), "primary", "secondary")
    tested = out["n_successful"].gt(0) & out["n_struggling"].gt(0)
    sizes = out[tested].groupby("family")["theme"].size().to_dict()
    out["family_size"] = [int(sizes.get(f, 0)) for f in out["family"]]
    rows = list(out.itertuples(index=False))
    plain = [newcombe_interval(int(r.associated_successful), int(r.n_successful), int(r.associated_struggling),
                               int(r.n_struggling)) for r in rows]
    adjusted = [newcombe_interval(int(r.associated_successful), int(r.n_successful), int(r.associated_struggling),
                                  int(r.n_struggling), family_alpha(int(r.family_size), alpha)) for r in rows]
    out["newcombe_low_pp"] = [100 * low for low, _ in plain]
    out["newcombe_high_pp"] = [100 * high for _, high in plain]
    out["adjusted_low_pp"] = [100 * low for low, _ in adjusted]
    out["adjusted_high_pp"] = [100 * high for _, high in adjusted]
    out["q"] = np.nan
    for family in ("primary", "secondary"):
        in_family = (out["family"] == family) & out["fisher_p"].notna()
        if in_family.any():
            from statsmodels.stats.multitest import multipletests

            out.loc[in_family, "q"] = multipletests(out.loc[in_family, "fisher_p"], method="fdr_bh")[1]
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
                                 resamples: int = 2000, seed: int = 12345) -> dict[str, object]:
    """``1 - mean_struggling / mean_successful`` over ``themes`` with a 95% bootstrap interval (see the
    module docstring); NaN when the successful cases show none of the themes or a group is empty.
    ``interval_note`` says why there is no interval, when there is none."""
    successful, struggling = _groups(matrix, classes, themes)
    result: dict[str, object] = {
        "value": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n_successful": len(successful),
        "n_struggling": len(struggling), "themes": len(themes), "mean_successful": math.nan,
        "mean_struggling": math.nan, "undefined_resamples": 0, "resamples": resamples, "interval_note": ""}
    if not len(successful) or not len(struggling):
        result["interval_note"] = "a group has no cases"
        return result
    result["mean_successful"], result["mean_struggling"] = float(successful.mean()), float(struggling.mean())
    result["value"] = float(_relative(successful, struggling))
    if math.isnan(result["value"]):  # type: ignore[arg-type]
        result["interval_note"] = "no successful case shows any of the themes: the ratio is undefined"
        return result
    rng = np.random.default_rng([seed, 7])
    draws = _relative(rng.choice(successful, size=(resamples, len(successful))),
                      rng.choice(struggling, size=(resamples, len(struggling))))
    defined = draws[~np.isnan(draws)]
    result["undefined_resamples"] = int(resamples - len(defined))
    if len(defined) < resamples:
        result["interval_note"] = (f"in {resamples - len(defined)} of {resamples} resamples the successful cases "
                                   "show none of the themes, so the ratio is undefined there and the interval has "
                                   "no lower limit")
        return result
    low, high = (float(v) for v in np.percentile(defined, [2.5, 97.5]))
    if low == high:
        result["interval_note"] = "every resample gives the same value: nothing varies within the groups"
        return result
    result["ci_low"], result["ci_high"] = low, high
    return result


def verdict(low: float, high: float, published_low: float, published_high: float) -> str:
    """Consistent, not consistent or no evidence either way (see the module docstring); ``high`` may be
    infinite (no upper limit)."""
    if any(math.isnan(v) for v in (low, high)):
        return NO_EVIDENCE
    if high < published_low or low > published_high:
        return NOT_CONSISTENT
    if low > 0 or high < 0:
        return CONSISTENT
    return NO_EVIDENCE


def replication_table(findings: pd.DataFrame, published: Sequence[Published], parents: Mapping[str, str | None],
                      overall: Mapping[str, object] | None = None, power: float = 0.8,
                      alpha: float = 0.05) -> pd.DataFrame:
    """One row per published result and theme (and one for an overall relative association): the
    published figures beside ours, our 95% interval, the interval adjusted for the claim's family of
    themes (Bonferroni), p and q, the detectable difference, a verdict on the adjusted interval; and
    the relative reading of the published figures (``ours_relative``, ``relative_low``/``_high``:
    successful ÷ struggling share - 1, in percent) with its own verdict.

    ``findings`` comes from :func:`with_families`. Differences are in percentage points
    (``unit`` "pp"); the overall row is a proportion (``unit`` "relative")."""
    by_theme = findings.set_index("theme")
    rows = []
    for result in published:
        if result.difference_pp is not None:
            family = [t for t in expand_themes(result.themes, parents) if t in by_theme.index]
            tested = [t for t in family if by_theme.at[t, "n_successful"] and by_theme.at[t, "n_struggling"]]
            level = family_alpha(len(tested), alpha)
            adjustment = (f"Bonferroni over {len(tested)} themes (each at {100 * (1 - level):.2f}%)"
                          if len(tested) > 1 else "none (one theme)" if tested
                          else "none: no theme could be compared (a group has no cases)")
            published_low, published_high = result.difference_pp.low, result.difference_pp.high
            for theme in family:
                f = by_theme.loc[theme]
                a, n1 = int(f["associated_successful"]), int(f["n_successful"])
                b, n2 = int(f["associated_struggling"]), int(f["n_struggling"])
                share_t = f["share_struggling"]
                detectable = (detectable_difference(n1, n2, float(share_t), power, alpha)[0]
                              if n1 and n2 and share_t == share_t else math.nan)
                low, high = newcombe_interval(a, n1, b, n2, alpha)
                adjusted_low, adjusted_high = newcombe_interval(a, n1, b, n2, level)
                ratio, ratio_low, ratio_high, ratio_note = ratio_interval(a, n1, b, n2, level)
                relative = [100 * (v - 1) for v in (ratio, ratio_low, ratio_high)]
                rows.append({
                    "theme": theme, "source": result.source, "claim": result.claim,
                    "published_low": published_low, "published_high": published_high,
                    "n_successful": n1, "n_struggling": n2, "share_successful": f["share_successful"],
                    "share_struggling": share_t, "ours": f["difference_pp"], "ci_low": 100 * low, "ci_high": 100 * high,
                    "interval": "Newcombe", "adjusted_low": 100 * adjusted_low, "adjusted_high": 100 * adjusted_high,
                    "adjustment": adjustment, "interval_note": "" if n1 and n2 else "a group has no cases",
                    "fisher_p": f["fisher_p"], "q": f["q"], "detectable_pp": detectable,
                    "verdict": verdict(100 * adjusted_low, 100 * adjusted_high, published_low, published_high),
                    "ours_relative": relative[0], "relative_low": relative[1], "relative_high": relative[2],
                    "relative_note": ratio_note,
                    "relative_verdict": verdict(relative[1], relative[2], published_low, published_high),
                    "unit": "pp"})
        elif result.overall_relative_association is not None and overall is not None:
            wanted = result.overall_relative_association
            low, high = float(overall["ci_low"]), float(overall["ci_high"])  # type: ignore[arg-type]
            rows.append({"theme": "overall", "source": result.source, "claim": result.claim,
                         "published_low": wanted.low, "published_high": wanted.high,
                         "n_successful": overall["n_successful"], "n_struggling": overall["n_struggling"],
                         "share_successful": math.nan, "share_struggling": math.nan, "ours": overall["value"],
                         "ci_low": low, "ci_high": high, "interval": "bootstrap", "adjusted_low": low,
                         "adjusted_high": high, "adjustment": "none (one measure)",
                         "interval_note": overall.get("interval_note", ""), "fisher_p": math.nan, "q": math.nan,
                         "detectable_pp": math.nan, "verdict": verdict(low, high, wanted.low, wanted.high),
                         "ours_relative": math.nan, "relative_low": math.nan, "relative_high": math.nan,
                         "relative_note": "", "relative_verdict": "", "unit": "relative"})
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
