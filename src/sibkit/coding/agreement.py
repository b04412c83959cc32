"""How far a study's coders agree: percent agreement, Cohen's kappa, Fleiss' kappa, Krippendorff's alpha.

The ratings come from the review log, read as everywhere else: each coder's latest standing decision on a
reference (a "clear" withdraws it). A unit is rated by a coder when the coder has a standing decision on it.

- ``unit="reference"``: each reference is a unit; a coder's value is the theme the reference counts for
  after their decision (accept: its own theme, recode: the new theme) or ``(none)`` when rejected.
- ``unit="document"`` / ``"case"``: each (document or case, theme) is a unit; a coder rated it when they
  decided on a reference of that theme there (or recoded one to it); the value is whether, after their
  decisions, at least one reference there counts for the theme (present / absent).

The automatic coder (``include_automatic=True``, named ``(automatic)``) accepts every reference the
codebook made (origin ``auto``) and has ``(none)`` for manual references; other origins (suggestions) it
did not judge (missing).

Formulas: Cohen (1960) kappa for two coders on the units both rated; Fleiss (1971) kappa on the units
every chosen coder rated (Fleiss' kappa needs the same number of ratings per unit); Krippendorff's alpha
for nominal data through the coincidence matrix, any number of coders and missing values allowed
(Krippendorff, *Computing Krippendorff's Alpha-Reliability*, 2011); percent agreement as the share of
agreeing pairs of values within each unit, averaged over units with two or more values.

Pooled over themes (the row ``(mean of themes)``): each coefficient is the mean of the per-theme
figures over the themes where it is defined, weighted by each theme's units, so it can never exceed
what the themes themselves support. (Pooling the units of all themes into one table would treat the
theme names as categories: coders who agree on nothing within any theme would still "agree" that a
partnership reference is not about co-production, and a kappa of 0 in every theme became 0.46.)

Krippendorff's alpha carries a 95% bootstrap percentile interval (``alpha_low``, ``alpha_high``):
the units are resampled with replacement (seeded, ``RESAMPLES`` times) and alpha recomputed, as Zapf
et al. (2016, *BMC Medical Research Methodology* 16:93) do; Hayes & Krippendorff (2007,
*Communication Methods and Measures* 1, 77-89) bootstrap the pairable values instead, so their
intervals differ somewhat. The pooled row's interval resamples the units of every theme within each
draw and takes the same weighted mean of the per-theme alphas (a theme whose resample has no
variation keeps its observed alpha in that draw, so themes do not drop in and out of the mean).
Resamples where alpha is undefined (no variation) are left out and counted
(``undefined_resamples``); no interval is given when every resample gives the same value (e.g.
perfect agreement throughout).
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from sqlalchemy import select

from sibkit.errors import SibkitError
from sibkit.store import DocumentCase, Reference, ReviewDecision, Store
from sibkit.study import Study

AUTOMATIC = "(automatic)"
NONE = "(none)"
OVERALL = "(mean of themes)"
UNITS = ("reference", "document", "case")
COLUMNS = ["theme", "unit", "coders", "units", "values", "percent_agreement", "cohen_kappa", "fleiss_kappa",
           "fleiss_units", "krippendorff_alpha", "alpha_low", "alpha_high", "undefined_resamples"]
COEFFICIENTS = ("percent_agreement", "cohen_kappa", "fleiss_kappa", "krippendorff_alpha")
RESAMPLES = 1000
SEED = 12345
POOLED_DEFINITION = (f"Pooled row {OVERALL}: each coefficient is the mean of the per-theme figures over the "
                     "themes where it is defined, weighted by their units, never a table that pools the themes "
                     "(which would count theme names as categories and inflate agreement); alpha's 95% interval: "
                     f"bootstrap percentile over units ({RESAMPLES} seeded resamples)")

# unit -> coder -> value
Ratings = Mapping[Hashable, Mapping[str, Hashable]]


# ---------------------------------------------------------------------------------------------
# the coefficients, on a plain mapping unit -> {coder: value}


def percent_agreement(ratings: Ratings) -> float:
    """Share of agreeing pairs of values within a unit, averaged over units with two or more values."""
    shares = []
    for values in ratings.values():
        pairs = list(combinations(values.values(), 2))
        if pairs:
            shares.append(sum(a == b for a, b in pairs) / len(pairs))
    return sum(shares) / len(shares) if shares else math.nan


def cohen_kappa(ratings: Ratings, first: str, second: str) -> float:
    """Cohen's kappa of two coders over the units both rated (NaN when there is no variation)."""
    from statsmodels.stats.inter_rater import cohens_kappa

    pairs = [(v[first], v[second]) for v in ratings.values() if first in v and second in v]
    if not pairs:
        return math.nan
    categories = sorted({str(x) for pair in pairs for x in pair})
    index = {c: i for i, c in enumerate(categories)}
    table = [[0] * len(categories) for _ in categories]
    for a, b in pairs:
        table[index[str(a)]][index[str(b)]] += 1
    expected = sum(sum(table[i]) * sum(row[i] for row in table) for i in range(len(categories))) / len(pairs) ** 2
    if math.isclose(expected, 1.0):
        return math.nan  # both coders used one and the same category throughout: kappa is undefined
    return float(cohens_kappa(table, return_results=False))


def fleiss_kappa(ratings: Ratings, coders: Sequence[str]) -> tuple[float, int]:
    """Fleiss' kappa over the units every one of ``coders`` rated, and how many units that is."""
    from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

    complete = [[str(values[c]) for c in coders] for values in ratings.values() if all(c in values for c in coders)]
    if len(coders) < 2 or not complete:
        return math.nan, len(complete)
    categories = sorted({x for row in complete for x in row})
    table = [[Counter(row)[c] for c in categories] for row in complete]
    shares = [sum(row[j] for row in table) / (len(table) * len(coders)) for j in range(len(categories))]
    if math.isclose(sum(p * p for p in shares), 1.0):
        return math.nan, len(complete)
    return float(statsmodels_fleiss(table, method="fleiss")), len(complete)


def krippendorff_alpha(ratings: Ratings) -> tuple[float, int]:
    """Krippendorff's alpha for nominal values (missing allowed) and the number of pairable values n.

    o_ck = sum over units of (pairs of values c, k from different coders) / (m_u - 1), m_u the unit's
    values (units with one value are not pairable); n_c = sum_k o_ck; alpha = 1 - D_o / D_e with
    D_o = sum_{c != k} o_ck and D_e = sum_{c != k} n_c n_k / (n - 1)."""
    coincidences: Counter[tuple[str, str]] = Counter()
    for values in ratings.values():
        found = [str(v) for v in values.values()]
        m = len(found)
        if m < 2:
            continue
        for i, c in enumerate(found):
            for j, k in enumerate(found):
                if i != j:
                    coincidences[c, k] += 1 / (m - 1)
    totals: Counter[str] = Counter()
    for (c, _k), count in coincidences.items():
        totals[c] += count
    n = sum(totals.values())
    observed = sum(count for (c, k), count in coincidences.items() if c != k)
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k) / (n - 1) if n > 1 else 0.0
    if expected == 0:
        return math.nan, round(n)
    return 1 - observed / expected, round(n)


def _unit_coincidences(ratings: Ratings) -> np.ndarray:
    """Per pairable unit, its contribution to the coincidence matrix, flattened (units x categories^2)."""
    units = [[str(v) for v in values.values()] for values in ratings.values() if len(values) >= 2]
    categories = sorted({v for unit in units for v in unit})
    index = {c: i for i, c in enumerate(categories)}
    size = len(categories)
    out = np.zeros((len(units), size * size))
    for row, found in enumerate(units):
        counts = np.bincount([index[v] for v in found], minlength=size).astype(float)
        pairs = np.outer(counts, counts) - np.diag(counts)  # n_uc n_uk, and n_uc (n_uc - 1) on the diagonal
        out[row] = (pairs / (len(found) - 1)).ravel()
    return out


def _alpha_from_coincidences(flat: np.ndarray) -> np.ndarray:
    """Nominal alpha from coincidence matrices (draws x categories^2); NaN where D_e is 0."""
    size = math.isqrt(flat.shape[-1])
    matrices = flat.reshape(*flat.shape[:-1], size, size)
    totals = matrices.sum(axis=-1)
    n = totals.sum(axis=-1)
    observed = n - np.trace(matrices, axis1=-2, axis2=-1)
    expected = (n ** 2 - (totals ** 2).sum(axis=-1)) / np.where(n > 1, n - 1, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected > 0, 1 - observed / np.where(expected > 0, expected, 1), np.nan)


def alpha_draws(ratings: Ratings, resamples: int = RESAMPLES, rng: np.random.Generator | None = None) -> np.ndarray:
    """Krippendorff's alpha in ``resamples`` bootstrap resamples of the pairable units (NaN: undefined)."""
    per_unit = _unit_coincidences(ratings)
    if not len(per_unit):
        return np.full(resamples, np.nan)
    rng = rng or np.random.default_rng(SEED)
    weights = rng.multinomial(len(per_unit), np.full(len(per_unit), 1 / len(per_unit)), size=resamples)
    return _alpha_from_coincidences(weights @ per_unit)


def _interval(draws: np.ndarray) -> tuple[float, float, int]:
    """95% percentile interval of the defined draws and how many were undefined; NaNs when the draws do
    not vary (no interval to give)."""
    defined = draws[~np.isnan(draws)]
    undefined = int(len(draws) - len(defined))
    if not len(defined):
        return math.nan, math.nan, undefined
    low, high = (float(v) for v in np.percentile(defined, [2.5, 97.5]))
    return (math.nan, math.nan, undefined) if math.isclose(low, high) else (low, high, undefined)


def coefficients(ratings: Ratings, coders: Sequence[str]) -> dict[str, float | int]:
    """Every coefficient for one set of ratings (the columns of ``reliability``)."""
    pairable = {u: v for u, v in ratings.items() if len(v) >= 2}
    alpha, values = krippendorff_alpha(pairable)
    fleiss, fleiss_units = fleiss_kappa(pairable, coders)
    return {"units": len(pairable), "values": values, "percent_agreement": percent_agreement(pairable),
            "cohen_kappa": cohen_kappa(pairable, coders[0], coders[1]) if len(coders) == 2 else math.nan,
            "fleiss_kappa": fleiss, "fleiss_units": fleiss_units, "krippendorff_alpha": alpha}


def pooled(rows: Sequence[Mapping[str, object]], draws: Sequence[np.ndarray]) -> dict[str, float | int]:
    """The row pooled over themes: each coefficient the mean of the themes' figures where defined, weighted
    by each theme's units (see the module docstring); counts summed; alpha's interval from the same mean of
    the themes' bootstrap draws, a theme whose resample has no variation keeping its observed alpha there."""
    def mean(column: str) -> float:
        found = [(float(r[column]), int(r["units"])) for r in rows  # type: ignore[call-overload]
                 if not math.isnan(float(r[column]))]  # type: ignore[arg-type]
        weight = sum(w for _, w in found)
        return sum(v * w for v, w in found) / weight if weight else math.nan

    out: dict[str, float | int] = {name: int(sum(int(r[name]) for r in rows))  # type: ignore[call-overload]
                                   for name in ("units", "values", "fleiss_units")}
    out.update({name: mean(name) for name in COEFFICIENTS})
    out["alpha_low"], out["alpha_high"], out["undefined_resamples"] = math.nan, math.nan, 0
    counted = [(float(r["krippendorff_alpha"]), int(r["units"]), d)  # type: ignore[call-overload]
               for r, d in zip(rows, draws, strict=True) if not math.isnan(float(r["krippendorff_alpha"]))]
    if counted:
        weights = np.array([w for _, w, _ in counted], dtype=float)
        filled = np.vstack([np.where(np.isnan(d), alpha, d) for alpha, _, d in counted])
        out["alpha_low"], out["alpha_high"], out["undefined_resamples"] = _interval(weights @ filled / weights.sum())
    return out


# ---------------------------------------------------------------------------------------------
# ratings from a study's review log


def standing_decisions(store: Store) -> pd.DataFrame:
    """Each coder's latest decision per reference, without those withdrawn by a "clear"."""
    with store.session() as session:
        rows = session.execute(select(ReviewDecision.id, ReviewDecision.reference_id, ReviewDecision.coder,
                                      ReviewDecision.decided_at, ReviewDecision.decision,
                                      ReviewDecision.new_theme)).all()
    frame = pd.DataFrame(rows, columns=["id", "reference_id", "coder", "decided_at", "decision", "new_theme"])
    latest = frame.sort_values(["decided_at", "id"]).groupby(["reference_id", "coder"]).tail(1)
    return latest[latest["decision"] != "clear"].reset_index(drop=True)


def _reference_table(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    with store.session() as session:
        refs = pd.DataFrame(session.execute(select(Reference.id, Reference.document_id, Reference.theme,
                                                   Reference.origin)).all(),
                            columns=["reference_id", "document_id", "theme", "origin"])
        links = pd.DataFrame(session.execute(select(DocumentCase.document_id, DocumentCase.case_id)).all(),
                             columns=["document_id", "case_id"])
    return refs, links


def _outcome(decision: str, new_theme: str | None, theme: str) -> str:
    if decision in ("accept", "overrule"):
        return theme
    if decision == "recode" and new_theme:
        return new_theme
    return NONE


def coder_values(store: Store, include_automatic: bool = False) -> pd.DataFrame:
    """One row per (reference, coder): the theme the reference counts for after that coder's decision."""
    refs, _ = _reference_table(store)
    decisions = standing_decisions(store).merge(refs, on="reference_id")
    decisions["value"] = [_outcome(d, n, t) for d, n, t in
                          zip(decisions["decision"], decisions["new_theme"], decisions["theme"], strict=True)]
    frame = decisions[["reference_id", "document_id", "theme", "coder", "value"]]
    if include_automatic:
        judged = refs[refs["origin"].isin(["auto", "manual"])]
        automatic = judged.assign(coder=AUTOMATIC,
                                  value=[t if o == "auto" else NONE for t, o in zip(judged["theme"], judged["origin"],
                                                                                     strict=True)])
        frame = pd.concat([frame, automatic[frame.columns]], ignore_index=True)
    return frame


def _ratings_by_theme(values: pd.DataFrame, links: pd.DataFrame, unit: str) -> dict[str, dict[Hashable, dict]]:
    """theme -> unit key -> coder -> value, for one unit of analysis."""
    by_theme: dict[str, dict[Hashable, dict]] = {}
    if unit == "reference":
        for reference_id, theme, coder, value in zip(values["reference_id"], values["theme"], values["coder"],
                                                     values["value"], strict=True):
            by_theme.setdefault(theme, {}).setdefault(reference_id, {})[coder] = value
        return by_theme
    frame = values
    place = "document_id"
    if unit == "case":
        frame = values.merge(links, on="document_id")
        place = "case_id"
    # a reference concerns its own theme and every theme a coder counted it for; a coder rated the unit
    # (place, theme) when they decided on a reference there that concerns the theme
    concerns: dict[int, set[str]] = {}
    for reference_id, theme, value in zip(values["reference_id"], values["theme"], values["value"], strict=True):
        concerns.setdefault(reference_id, {theme}).add(value)
    present: dict[tuple[str, Hashable, str], bool] = {}
    for reference_id, where, coder, value in zip(frame["reference_id"], frame[place], frame["coder"], frame["value"],
                                                 strict=True):
        for target in concerns[reference_id] - {NONE}:
            key = (target, where, coder)
            present[key] = present.get(key, False) or value == target
    for (theme, where, coder), found in present.items():
        by_theme.setdefault(theme, {}).setdefault(where, {})[coder] = "present" if found else "absent"
    return by_theme


def reliability(source: Store | Study, coders: Sequence[str] | None = None, theme: str | None = None,
                unit: str = "reference", include_automatic: bool = False, resamples: int = RESAMPLES,
                seed: int = SEED) -> pd.DataFrame:
    """Agreement per theme and pooled over themes (theme ``(mean of themes)``), one row each; see the
    module docstring.

    Columns: theme, unit, coders, units (units with two or more values), values (pairable values),
    percent_agreement, cohen_kappa (two coders only), fleiss_kappa, fleiss_units (units all coders
    rated), krippendorff_alpha, alpha_low and alpha_high (its 95% bootstrap interval),
    undefined_resamples."""
    from sibkit.coding.coder import as_store

    if unit not in UNITS:
        raise SibkitError(f"--unit {unit!r}: expected one of {', '.join(UNITS)}")
    store = as_store(source)
    values = coder_values(store, include_automatic)
    known = sorted(set(values["coder"]))
    if coders:
        chosen = list(dict.fromkeys(c.strip() for c in coders if c.strip()))
        if include_automatic and AUTOMATIC not in chosen:
            chosen.append(AUTOMATIC)
        missing = [c for c in chosen if c not in known]
        if missing:
            raise SibkitError(f"no decisions by {', '.join(missing)}; coders in this study: "
                              f"{', '.join(c for c in known if c != AUTOMATIC) or 'none yet'}")
    else:
        chosen = known
    if len(chosen) < 2:
        raise SibkitError(f"agreement needs two or more coders; this study has decisions by "
                          f"{', '.join(chosen) or 'nobody yet'} (add --automatic to compare with the codebook)")
    values = values[values["coder"].isin(chosen)]
    _, links = _reference_table(store)
    by_theme = _ratings_by_theme(values, links, unit)
    if theme is not None:
        by_theme = {t: r for t, r in by_theme.items() if t == theme}
    rows, draws = [], []
    for name, ratings in sorted(by_theme.items()):
        row: dict[str, object] = {"theme": name, "unit": unit, "coders": ", ".join(chosen),
                                  **coefficients(ratings, chosen)}
        theme_draws = alpha_draws({u: v for u, v in ratings.items() if len(v) >= 2}, resamples,
                                  np.random.default_rng([seed, zlib.crc32(str(name).encode())]))
        row["alpha_low"], row["alpha_high"], row["undefined_resamples"] = _interval(theme_draws)
        rows.append(row)
        draws.append(theme_draws)
    if theme is None:
        rows.append({"theme": OVERALL, "unit": unit, "coders": ", ".join(chosen), **pooled(rows, draws)})
    return pd.DataFrame(rows, columns=COLUMNS)


def coders_in(source: Store | Study) -> list[str]:
    """Coders with at least one standing decision, alphabetically."""
    from sibkit.coding.coder import as_store

    return sorted(set(standing_decisions(as_store(source))["coder"]))


def study_agreement(source: Store | Study) -> pd.DataFrame:
    """Agreement per reference among all coders when two or more have decided; else an empty table."""
    if len(coders_in(source)) < 2:
        return pd.DataFrame(columns=COLUMNS)
    return reliability(source)
