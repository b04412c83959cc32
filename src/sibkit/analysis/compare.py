"""The case x theme matrix and the comparison of successful with struggling cases.

For each theme: the share of cases associated with it in each group (n shown), the difference in
percentage points, the relative difference (how much less the struggling group is associated:
1 - share_struggling / share_successful, "less associated by one fifth" = 0.2), mean rate per
10,000 words per group; Fisher's exact test (two-sided, SciPy), a seeded permutation test of the
difference in shares, a seeded bootstrap 95% percentile interval of the difference, and
Benjamini-Hochberg q-values across themes (statsmodels). Small samples: never a p-value alone.

A bootstrap interval of zero width (nothing varies within either group: every case in each group
is the same) is no interval: it is left empty and ``bootstrap_note`` says why; the relative difference
is undefined, with ``relative_note`` saying why, when no successful case shows the theme.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sibkit.outcomes import STRUGGLING, SUCCESSFUL
from sibkit.study.model import Presence

FINDING_COLUMNS = [
    "theme", "n_successful", "n_struggling", "associated_successful", "associated_struggling",
    "share_successful", "share_struggling", "difference_pp", "ci_low_pp", "ci_high_pp", "bootstrap_note",
    "relative_difference", "relative_note",
    "mean_rate_successful", "mean_rate_struggling", "odds_ratio", "fisher_p", "permutation_p", "q",
]

NO_VARIATION = "no variation within either group to resample"


def associate(counts: pd.DataFrame, presence: Presence) -> pd.DataFrame:
    """Add ``associated`` to case x theme counts under a presence rule."""
    matrix = counts.copy()
    if presence.min_references is not None:
        matrix["associated"] = matrix["effective_references"] >= presence.min_references
    else:
        matrix["associated"] = matrix["rate_per_10k"] >= float(presence.min_rate or 0)
    return matrix


@dataclass(frozen=True)
class Settings:
    seed: int = 12345
    permutations: int = 9999
    bootstrap: int = 2000


def _shares(values: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    succ, strug = values[labels], values[~labels]
    return (succ.mean() if len(succ) else np.nan), (strug.mean() if len(strug) else np.nan)


def permutation_p(values: np.ndarray, labels: np.ndarray, permutations: int, rng: np.random.Generator) -> float:
    """Two-sided permutation p of the difference in means: (extreme + 1) / (permutations + 1)."""
    observed = abs(np.subtract(*_shares(values, labels)))
    shuffled = labels[rng.random((permutations, len(labels))).argsort(axis=1)]
    n_succ = labels.sum()
    succ_means = (shuffled * values).sum(axis=1) / n_succ
    strug_means = (~shuffled * values).sum(axis=1) / (len(values) - n_succ)
    extreme = int((np.abs(succ_means - strug_means) >= observed - 1e-12).sum())
    return (extreme + 1) / (permutations + 1)


def bootstrap_interval(values: np.ndarray, labels: np.ndarray, resamples: int,
                       rng: np.random.Generator) -> tuple[float, float]:
    """95% percentile interval of the difference in shares, resampling within each group."""
    succ, strug = values[labels], values[~labels]
    a = rng.choice(succ, size=(resamples, len(succ)), replace=True).mean(axis=1)
    b = rng.choice(strug, size=(resamples, len(strug)), replace=True).mean(axis=1)
    low, high = np.percentile(a - b, [2.5, 97.5])
    return float(low), float(high)


def compare(matrix: pd.DataFrame, classes: pd.Series, settings: Settings | None = None) -> pd.DataFrame:
    """One row per theme comparing successful with struggling cases (other classes left out).

    ``matrix``: case_id, theme, associated, rate_per_10k; ``classes``: class per case_id.
    """
    from scipy.stats import fisher_exact  # SciPy and statsmodels load when a comparison is computed
    from statsmodels.stats.multitest import multipletests

    settings = settings or Settings()
    rows = []
    groups = classes[classes.isin([SUCCESSFUL, STRUGGLING])]
    for position, (theme, own) in enumerate(matrix.groupby("theme", sort=True)):
        present = set(own["case_id"])
        own = own[own["case_id"].isin(groups.index)].set_index("case_id").loc[
            [c for c in groups.index if c in present]]
        labels = (groups.loc[own.index] == SUCCESSFUL).to_numpy()
        values = own["associated"].to_numpy(dtype=float)
        rates = own["rate_per_10k"].to_numpy(dtype=float)
        n_succ, n_strug = int(labels.sum()), int((~labels).sum())
        a, b = int(values[labels].sum()), int(values[~labels].sum())
        share_s = a / n_succ if n_succ else np.nan
        share_t = b / n_strug if n_strug else np.nan
        row = {"theme": theme, "n_successful": n_succ, "n_struggling": n_strug, "associated_successful": a,
               "associated_struggling": b, "share_successful": share_s, "share_struggling": share_t,
               "difference_pp": 100 * (share_s - share_t),
               "relative_difference": (1 - share_t / share_s) if share_s else np.nan,
               "mean_rate_successful": rates[labels].mean() if n_succ else np.nan,
               "mean_rate_struggling": rates[~labels].mean() if n_strug else np.nan,
               "odds_ratio": np.nan, "fisher_p": np.nan, "permutation_p": np.nan,
               "ci_low_pp": np.nan, "ci_high_pp": np.nan, "bootstrap_note": "",
               "relative_note": ("a group has no cases" if not n_succ else "" if a else "no successful case shows it")}
        if n_succ and n_strug:
            odds, p = fisher_exact([[a, n_succ - a], [b, n_strug - b]], alternative="two-sided")
            row["odds_ratio"], row["fisher_p"] = float(odds), float(p)
            rng = np.random.default_rng([settings.seed, position])
            row["permutation_p"] = permutation_p(values, labels, settings.permutations, rng)
            low, high = bootstrap_interval(values, labels, settings.bootstrap, rng)
            if low == high:
                row["bootstrap_note"] = NO_VARIATION
            else:
                row["ci_low_pp"], row["ci_high_pp"] = 100 * low, 100 * high
        else:
            row["bootstrap_note"] = "a group has no cases"
        rows.append(row)
    findings = pd.DataFrame(rows, columns=[c for c in FINDING_COLUMNS if c != "q"])
    tested = findings["fisher_p"].notna()
    findings["q"] = np.nan
    if tested.any():
        findings.loc[tested, "q"] = multipletests(findings.loc[tested, "fisher_p"], method="fdr_bh")[1]
    return findings[FINDING_COLUMNS]


def average_relative_difference(findings: pd.DataFrame) -> float:
    """The mean over themes of the relative difference (themes where it is defined)."""
    values = findings["relative_difference"].dropna()
    return float(values.mean()) if len(values) else float("nan")


def _scenario_columns(class_table: pd.DataFrame, index: str) -> list[tuple[str, str, float]]:
    """(column, achievement index, tolerance): ``class_at_<t>`` under the study's index, then
    ``class_<other index>_at_<t>`` for the other indices the classification kept."""
    found = [(c, index, float(c.removeprefix("class_at_"))) for c in class_table.columns if c.startswith("class_at_")]
    for column in class_table.columns:
        match = re.fullmatch(r"class_([a-z]+)_at_([0-9.]+)", column)
        if match and match.group(1) != index:
            found.append((column, match.group(1), float(match.group(2))))
    return found


def sensitivity(counts: pd.DataFrame, class_table: pd.DataFrame, presences: Sequence[Presence],
                settings: Settings | None = None, index: str = "median") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The comparison under every tolerance (columns ``class_at_*`` of ``class_table``), every other
    achievement index the table holds (``class_<index>_at_*``) and every presence rule; and, per theme,
    whether 'successful cases are more often associated' holds in all."""
    rows = []
    for column, index_name, tolerance in _scenario_columns(class_table, index):
        classes = class_table.set_index("case_id")[column]
        for presence in presences:
            findings = compare(associate(counts, presence), classes, settings)
            for finding in findings.to_dict("records"):
                rows.append({"tolerance": tolerance, "index": index_name, "presence": presence.label(),
                             **{k: finding[k] for k in ("theme", "n_successful", "n_struggling", "share_successful",
                                                        "share_struggling", "difference_pp", "fisher_p", "q")}})
    table = pd.DataFrame(rows)
    if table.empty:
        return table, pd.DataFrame(columns=["theme", "scenarios", "successful_more_often", "survives"])
    summary = (table.assign(positive=table["difference_pp"] > 0)
               .groupby("theme").agg(scenarios=("positive", "size"), successful_more_often=("positive", "sum"),
                                     min_difference_pp=("difference_pp", "min"),
                                     max_difference_pp=("difference_pp", "max"))
               .reset_index())
    summary["survives"] = summary["successful_more_often"] == summary["scenarios"]
    tested = table.assign(significant=table["fisher_p"] < 0.05)
    extra = tested.groupby("theme").agg(significant=("significant", "sum"), max_p=("fisher_p", "max"),
                                        min_p=("fisher_p", "min"))
    extra["scenario_results"] = tested.groupby("theme").apply(_scenario_text, include_groups=False)
    summary = summary.join(extra, on="theme")
    return table, summary


def _scenario_text(rows: pd.DataFrame) -> str:
    """Every scenario's difference and p-value, e.g. ``tolerance 0.10, >= 1 references: +12.5 pp, p = 0.45``."""
    parts = []
    for row in rows.to_dict("records"):
        p = row["fisher_p"]
        index = f"{row['index']} index, " if "index" in row else ""
        parts.append(f"tolerance {row['tolerance']:.2f}, {index}{row['presence']}: {row['difference_pp']:+.1f} pp, "
                     + (f"p = {p:.3f}" if p == p else "no test"))
    return "; ".join(parts)
