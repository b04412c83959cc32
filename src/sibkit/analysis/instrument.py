"""Findings that carry the instrument's error: the comparison re-run many times with theme presence
drawn from the codebook's measured per-theme precision and recall (a seeded Monte Carlo).

The model, for each theme with a measured precision P and recall R:

- each hit that counts for a case (its effective references) is a true passage with probability P,
  independently of the others; the case keeps the theme when its true hits still meet the study's
  presence rule (at least n references, or at least r references per 10,000 words);
- the cases that express the theme but have no hit: the expected number of true positives
  E[TP] (the cases observed with the theme that keep it, summed exactly from the binomial) implies
  E[TP] (1 - R) / R missed cases; each case observed without the theme gains it with probability
  g = min(1, E[TP] (1 - R) / R / N0), N0 the cases observed without it (the base rate of the
  theme among the cases the codebook saw, spread evenly over the others).

Each draw re-runs the comparison of successful with struggling cases: the difference in shares, the
verdict on Bonferroni-adjusted Newcombe intervals against each published range, Fisher's p, and the
overall relative association over the primary themes. A finding *survives* when its difference keeps
its sign (or stays zero) and its verdict holds in at least ``SURVIVES`` of the draws.

Assumptions and limits, said in the report: precision and recall measured on passages are taken to
hold for the cases of this study (per passage, the same in every case and document); hits are
independent (two hits in one case are not more likely to be both wrong); recall per passage is read
as recall per case (a case with many passages on a theme is less likely to be missed entirely, so
misses are if anything overstated); missed cases are spread evenly over the cases without a hit,
whatever their documents' length; a theme no case has a hit for is left absent (a base rate of zero
implies no missed cases), so nothing is drawn for it. Classification error (successful / struggling) is not
modelled.

The measured figures have their own sampling error: a precision of 0.75 from 4 reviewed hits says less than
one from 400. Where the counts behind a figure are known, each draw first draws the figure itself from its
Jeffreys posterior, Beta(x + 1/2, n - x + 1/2) for x of n (precision: hits judged right of hits judged;
recall: true passages found of true passages, or, from a recall audit, the miss rate drawn the same way and
recall recomputed with ``recall_from_audit``); where they are not, the figure is taken as exact and the
table says so (``figures_drawn``).

Each figure comes, per theme, from the first source that has it (see ``measured_error``): precision from
the study's own review, recall from its recall audit, else the codebook's ``measured`` figure, else
nothing ("not measured").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sibkit.analysis.replication import (
    expand_themes,
    family_alpha,
    newcombe_interval,
    verdict,
)
from sibkit.outcomes import STRUGGLING, SUCCESSFUL
from sibkit.study.model import Presence, Published

ERROR_COLUMNS = ["theme", "precision", "recall", "source", "on"]
#: where each figure came from, when they came from different sources (``source`` says both in words)
SOURCE_COLUMNS = ["precision_source", "recall_source"]
#: optional counts behind the figures, for drawing their sampling error: precision as hits judged right of
#: hits judged; recall as true passages found of true passages, or from a recall audit (its hits of the
#: sentences audited, with the study's hit and unhit sentences)
COUNT_COLUMNS = ["precision_right", "precision_judged", "recall_found", "recall_true", "audit_hits",
                 "audited_sentences", "hit_sentences", "unhit_sentences"]
SURVIVES = 0.95
DRAWS = 1000
NOT_MEASURED = "not measured"

MODEL = ("each counted hit is kept with probability = the theme's precision; a case keeps the theme when its "
         "kept hits still meet the presence rule; each case without the theme gains it with probability "
         "g = min(1, E[TP] (1 − recall) / recall / N0), where E[TP] is the expected number of cases that keep the "
         "theme and N0 the cases observed without it")
ASSUMPTIONS = [
    "precision and recall measured on passages hold for this study's cases, the same in every case and document",
    "hits are independent: two hits in one case are no more likely to be both wrong",
    "recall per passage is read as recall per case (a case with many passages is less likely to be missed "
    "entirely, so misses are if anything overstated)",
    "missed cases are spread evenly over the cases without a hit, whatever their documents' length",
    "a theme no case has a hit for stays absent everywhere (the model implies no missed cases from a base rate of "
    "zero), so nothing is drawn for it",
    "a measured figure's own sampling error is drawn from its Jeffreys posterior where its counts are known "
    "(the table's precision and recall say on how many); a figure without counts is taken as exact",
    "no error in the outcome classes is drawn",
]


@dataclass
class InstrumentFindings:
    """Per theme: the measured figures, the observed finding and how it fares over the draws."""

    themes: pd.DataFrame
    overall: dict[str, Any]
    draws: int
    seed: int
    sources: list[str] = field(default_factory=list)
    measured: bool = False
    #: what the figures were measured on, in words (the error table's ``on``), one entry per distinct text
    on: list[str] = field(default_factory=list)

    @property
    def empty_group(self) -> str:
        """"successful" or "struggling" when that group has no case (there is no comparison to re-run), else ""."""
        if not len(self.themes):
            return ""
        first = self.themes.iloc[0]
        return "successful" if not first["n_successful"] else "struggling" if not first["n_struggling"] else ""

    @property
    def survivors(self) -> list[str]:
        frame = self.themes
        return list(frame.loc[frame["survives"].fillna(False).astype(bool), "theme"])


THEME_COLUMNS = [
    "theme", "precision", "recall", "source", "precision_source", "recall_source", "n_successful", "n_struggling",
    "observed_successful", "observed_struggling", "observed_difference_pp", "observed_verdict", "published_low",
    "published_high", "gain_probability", "mean_difference_pp", "low_pp", "high_pp", "same_sign", "verdict_holds",
    "significant", "survives", "note", "figures_drawn", "precision_low", "precision_high", "recall_low",
    "recall_high",
]


NOTHING_TO_DRAW = "no case has a hit: nothing to draw"


def error_table(rows: Mapping[str, Mapping[str, float | None]] | None, source: str, on: str = "") -> pd.DataFrame:
    """A per-theme table (theme, precision, recall, source, on, and any of ``COUNT_COLUMNS`` given) from
    ``{theme: {precision, recall, ...counts}}``."""
    records = []
    for theme, figures in (rows or {}).items():
        precision, recall = figures.get("precision"), figures.get("recall")
        record = {"theme": theme, "precision": math.nan if precision is None else float(precision),
                  "recall": math.nan if recall is None else float(recall), "source": source, "on": on}
        record.update({column: float(figures[column]) for column in COUNT_COLUMNS
                       if figures.get(column) is not None})
        records.append(record)
    columns = ERROR_COLUMNS + [c for c in COUNT_COLUMNS if any(c in r for r in records)]
    return pd.DataFrame(records, columns=columns)


def recall_from_audit(counted_hits: float, precision: float, miss_rate: float, unhit_sentences: float) -> float:
    """Recall per passage from a study's review and recall audit: true hits found ÷ (found + missed), with
    found = counted hits × precision and missed = the audit's miss rate × the sentences with no counted hit."""
    found = counted_hits * precision
    missed = miss_rate * unhit_sentences
    if found + missed <= 0:
        return math.nan
    return found / (found + missed)


def _measured_figures(measured: Any) -> tuple[dict[str, dict[str, float | None]], str]:
    """``Codebook.measured`` as {theme: {precision, recall, counts}} and what it was measured on (dict or
    object). The counts: recall_true = the theme's labelled passages, recall_found = recall x passages, and
    precision_judged = the passages the codebook fired on (``fired``, else found / precision)."""
    def get(item: Any, key: str) -> Any:
        return item.get(key) if isinstance(item, Mapping) else getattr(item, key, None)

    out: dict[str, dict[str, float | None]] = {}
    for theme, figures in dict(get(measured, "themes") or {}).items():
        precision, recall = get(figures, "precision"), get(figures, "recall")
        row: dict[str, float | None] = {"precision": precision, "recall": recall}
        passages, fired = get(figures, "passages"), get(figures, "fired")
        if passages and recall is not None:
            found = round(float(recall) * int(passages))
            row.update(recall_true=float(passages), recall_found=float(found))
            if fired is None and precision:
                fired = round(found / float(precision))
            if fired:
                row.update(precision_judged=float(fired), precision_right=float(min(found, int(fired))))
        out[theme] = row
    return out, str(get(measured, "on") or "")


OWN_SOURCE = "the study's own review and recall audit"
OWN_PRECISION = "the study's own review"
OWN_RECALL = "the study's own recall audit"
OWN_ON = "this study's documents"
_PRECISION_COUNTS = ("precision_right", "precision_judged")
_RECALL_COUNTS = ("recall_found", "recall_true", "audit_hits", "audited_sentences", "hit_sentences",
                  "unhit_sentences")


def _known(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _own_figures(table: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    """The study's own table (the recall audit's ``instrument_error``) as {theme: {precision, recall,
    counts}}, each figure only where the study measured it (reviewed hits; an audit)."""
    if table is None or not len(table) or not {"theme", "precision", "recall"} <= set(table.columns):
        return {}
    renamed = table.rename(columns={"reviewed": "precision_judged", "accepted": "precision_right"})
    out: dict[str, dict[str, Any]] = {}
    for row in renamed.to_dict("records"):
        figures: dict[str, Any] = {}
        if _known(row.get("precision")):
            figures["precision"] = float(row["precision"])
            figures.update({c: float(row[c]) for c in _PRECISION_COUNTS if _known(row.get(c))})
        if _known(row.get("recall")):
            figures["recall"] = float(row["recall"])
            figures.update({c: float(row[c]) for c in _RECALL_COUNTS if _known(row.get(c))})
            if _known(row.get("miss_rate")):
                figures["miss_rate"] = float(row["miss_rate"])
        if figures:
            out[str(row["theme"])] = figures
    return out


def combined_source(precision_from: str, recall_from: str) -> str:
    """One theme's ``source`` in words, from where its precision and where its recall came."""
    if (precision_from, recall_from) == (OWN_PRECISION, OWN_RECALL):
        return OWN_SOURCE
    if precision_from == recall_from:
        return precision_from
    return f"precision: {precision_from}; recall: {recall_from}"


def measured_error(codebook: Any, study_error: Callable[[], pd.DataFrame | None] | None = None) -> pd.DataFrame:
    """Per-theme precision and recall, each figure from the first source that has it for that theme:
    ``study_error()`` (the study's own review for precision and its recall audit for recall: a table with
    theme, precision and recall, None where not measured), then the codebook's ``measured`` figures; a
    theme with neither figure is left out (the report says "not measured"). ``source`` names where each
    figure came from; ``on`` what it was measured on (one line per source)."""
    own = _own_figures(study_error() if study_error is not None else None)
    measured = getattr(codebook, "measured", None)
    book, book_on = _measured_figures(measured) if measured else ({}, "")
    version = getattr(codebook, "version", "")
    book_source = f"{getattr(codebook, 'name', 'codebook')} {version} as measured".strip()
    records = []
    for theme in sorted(set(own) | set(book), key=lambda t: (t not in own, t)):
        mine, theirs = own.get(theme, {}), book.get(theme, {})
        precision_own = "precision" in mine
        recall_own = "recall" in mine
        precision = mine["precision"] if precision_own else theirs.get("precision")
        recall = mine["recall"] if recall_own else theirs.get("recall")
        if not _known(precision) or not _known(recall):
            continue
        record: dict[str, Any] = {"theme": theme, "precision": float(precision), "recall": float(recall)}
        record.update({c: v for c, v in (mine if precision_own else theirs).items() if c in _PRECISION_COUNTS})
        record.update({c: v for c, v in (mine if recall_own else theirs).items() if c in _RECALL_COUNTS})
        if recall_own and not precision_own and {"hit_sentences", "unhit_sentences"} <= set(record) \
                and "miss_rate" in mine:  # the audit's recall rests on a precision: the codebook's, not 1
            again = recall_from_audit(record["hit_sentences"], float(precision), mine["miss_rate"],
                                      record["unhit_sentences"])
            record["recall"] = record["recall"] if math.isnan(again) else again
        precision_from = OWN_PRECISION if precision_own else book_source
        recall_from = OWN_RECALL if recall_own else book_source
        ons = [OWN_ON if precision_own else book_on, OWN_ON if recall_own else book_on]
        record.update(source=combined_source(precision_from, recall_from), precision_source=precision_from,
                      recall_source=recall_from, on="\n".join(dict.fromkeys(text for text in ons if text)))
        records.append(record)
    columns = ERROR_COLUMNS + SOURCE_COLUMNS + [c for c in COUNT_COLUMNS if any(c in r for r in records)]
    return pd.DataFrame(records, columns=columns)


def _present(hits: np.ndarray, words: np.ndarray, presence: Presence) -> np.ndarray:
    if presence.min_references is not None:
        return hits >= presence.min_references
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(words > 0, 1e4 * hits / np.where(words > 0, words, 1), 0.0)
    return rate >= float(presence.min_rate or 0)


def _needed(hits: np.ndarray, words: np.ndarray, presence: Presence) -> np.ndarray:
    """Per case, the fewest of its hits that still meet the presence rule (hits + 1 when none do)."""
    out = hits.astype(int) + 1
    for i, k in enumerate(hits.astype(int)):
        kept = np.arange(k + 1)
        meets = np.flatnonzero(_present(kept, np.full(len(kept), words[i]), presence))
        if len(meets):
            out[i] = int(meets[0])
    return out


def _keep_probability(hits: np.ndarray, needed: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Per draw (rows of ``precision``, shape (draws,)), the expected number of cases whose hits, thinned
    with that precision, still meet the rule: the sum over cases with a hit of P(Binomial(hits, p) >= needed)."""
    from scipy.stats import binom

    with_hits = hits > 0
    if not with_hits.any():
        return np.zeros(len(precision))
    k, need = hits[with_hits][None, :], needed[with_hits][None, :]
    keep = np.where(need <= k, binom.sf(need - 1, k, precision[:, None]), 0.0)
    return keep.sum(axis=1)


def _jeffreys(rng: np.random.Generator, successes: float, trials: float, draws: int) -> np.ndarray:
    return rng.beta(successes + 0.5, trials - successes + 0.5, draws)


def _figure_draws(figures: Mapping[str, Any], precision: float, recall: float, draws: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
    """Precision and recall per draw: from their Jeffreys posteriors where the counts are known, else the
    measured value in every draw. The flag says whether anything was drawn."""
    def count(name: str) -> float | None:
        value = figures.get(name)
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)

    drawn = False
    right, judged = count("precision_right"), count("precision_judged")
    if judged and right is not None and 0 <= right <= judged:
        precisions, drawn = _jeffreys(rng, right, judged, draws), True
    else:
        precisions = np.full(draws, precision)
    audit_hits, audited = count("audit_hits"), count("audited_sentences")
    hit_sentences, unhit = count("hit_sentences"), count("unhit_sentences")
    found, true = count("recall_found"), count("recall_true")
    if audited and audit_hits is not None and hit_sentences is not None and unhit is not None:
        miss_rates = _jeffreys(rng, audit_hits, audited, draws)
        kept = hit_sentences * precisions
        total = kept + miss_rates * unhit
        recalls = np.divide(kept, total, out=np.full(draws, recall), where=total > 0)
        drawn = True
    elif true and found is not None and 0 <= found <= true:
        recalls, drawn = _jeffreys(rng, found, true, draws), True
    else:
        recalls = np.full(draws, recall)
    return np.clip(precisions, 0.0, 1.0), np.clip(recalls, 0.0, 1.0), drawn


def _published_ranges(published: Sequence[Published], parents: Mapping[str, str | None],
                      themes: Sequence[str]) -> dict[str, tuple[float, float, int]]:
    """theme -> (published low, high, size of the claim's family) for the first claim naming it."""
    out: dict[str, tuple[float, float, int]] = {}
    for result in published:
        if result.difference_pp is None:
            continue
        family = [t for t in expand_themes(result.themes, parents) if t in themes]
        for theme in family:
            out.setdefault(theme, (result.difference_pp.low, result.difference_pp.high, len(family)))
    return out


def carry_error(counts: pd.DataFrame, classes: pd.Series, error: pd.DataFrame, presence: Presence, *,
                published: Sequence[Published] = (), parents: Mapping[str, str | None] | None = None,
                primary: Sequence[str] = (), draws: int = DRAWS, seed: int = 12345) -> InstrumentFindings:
    """The comparison re-run ``draws`` times with theme presence drawn from ``error`` (see the module
    docstring). ``counts``: case_id, theme, effective_references, words (``case_theme_counts``);
    ``classes``: class per case; ``error``: theme, precision, recall (and source)."""
    from scipy.stats import fisher_exact

    parents = dict(parents or {})
    groups = classes[classes.isin([SUCCESSFUL, STRUGGLING])]
    successful = (groups == SUCCESSFUL).to_numpy()
    cases = list(groups.index)
    themes = sorted(set(counts["theme"]))
    ranges = _published_ranges(published, parents, themes)
    figures = {row["theme"]: row for row in error.to_dict("records")} if len(error) else {}
    primary_set = set(primary)
    n1, n2 = int(successful.sum()), int((~successful).sum())
    primary_per_draw = np.zeros((draws, len(cases)))
    observed_primary = np.zeros(len(cases))
    fisher_cache: dict[tuple[int, int], float] = {}

    def fisher(a: int, b: int) -> float:
        if (a, b) not in fisher_cache:
            fisher_cache[a, b] = float(fisher_exact([[a, n1 - a], [b, n2 - b]])[1])
        return fisher_cache[a, b]

    def judged(a: int, b: int, theme: str) -> str:
        low, high, size = ranges[theme]
        lo, hi = newcombe_interval(a, n1, b, n2, family_alpha(size))
        return verdict(100 * lo, 100 * hi, low, high)

    rows = []
    for position, theme in enumerate(themes):
        own = counts[counts["theme"] == theme].set_index("case_id").reindex(cases)
        hits = own["effective_references"].fillna(0).to_numpy(dtype=int)
        words = own["words"].fillna(0).to_numpy(dtype=float)
        observed = _present(hits, words, presence)
        a_obs, b_obs = int(observed[successful].sum()), int(observed[~successful].sum())
        difference = 100 * (a_obs / n1 - b_obs / n2) if n1 and n2 else math.nan
        low_pub, high_pub = ranges.get(theme, (math.nan, math.nan, 0))[:2]
        row: dict[str, Any] = {
            "theme": theme, "precision": math.nan, "recall": math.nan, "source": NOT_MEASURED, "n_successful": n1,
            "n_struggling": n2, "observed_successful": a_obs, "observed_struggling": b_obs,
            "observed_difference_pp": difference,
            "observed_verdict": judged(a_obs, b_obs, theme) if theme in ranges and n1 and n2 else "",
            "published_low": low_pub, "published_high": high_pub, "gain_probability": math.nan,
            "mean_difference_pp": math.nan, "low_pp": math.nan, "high_pp": math.nan, "same_sign": math.nan,
            "verdict_holds": math.nan, "significant": math.nan, "survives": None, "note": "", "figures_drawn": False,
            "precision_low": math.nan, "precision_high": math.nan, "recall_low": math.nan, "recall_high": math.nan}
        measured = figures.get(theme)
        precision = float(measured["precision"]) if measured is not None else math.nan
        recall = float(measured["recall"]) if measured is not None else math.nan
        if theme in primary_set:
            observed_primary += observed
        if measured is None or math.isnan(precision) or math.isnan(recall) or not n1 or not n2:
            row["note"] = ("not measured: left as observed" if measured is None or math.isnan(precision)
                           or math.isnan(recall) else "a group has no cases")
            if theme in primary_set:
                primary_per_draw += observed
            rows.append(row)
            continue
        precision, recall = min(max(precision, 0.0), 1.0), min(max(recall, 0.0), 1.0)
        source = str(measured.get("source", ""))
        row.update(precision=precision, recall=recall, source=source,
                   precision_source=str(measured.get("precision_source") or source),
                   recall_source=str(measured.get("recall_source") or source))
        precisions, recalls, drawn = _figure_draws(measured, precision, recall, draws,
                                                   np.random.default_rng([seed, 25, position]))
        present, gain = _drawn_presence(hits, words, observed, presence, precisions, recalls,
                                        np.random.default_rng([seed, 24, position]))
        row.update(figures_drawn=drawn, precision_low=float(np.percentile(precisions, 2.5)),
                   precision_high=float(np.percentile(precisions, 97.5)),
                   recall_low=float(np.percentile(recalls, 2.5)), recall_high=float(np.percentile(recalls, 97.5)))
        a = present[:, successful].sum(axis=1)
        b = present[:, ~successful].sum(axis=1)
        differences = 100 * (a / n1 - b / n2)
        sign = np.sign(round(difference, 9))
        same = (np.sign(np.round(differences, 9)) == sign).mean()
        row.update(gain_probability=float(gain.mean()), mean_difference_pp=float(differences.mean()),
                   low_pp=float(np.percentile(differences, 2.5)), high_pp=float(np.percentile(differences, 97.5)),
                   same_sign=float(same),
                   significant=float(np.mean([fisher(int(x), int(y)) < 0.05 for x, y in zip(a, b, strict=True)])))
        if theme in ranges:
            verdicts = [judged(int(x), int(y), theme) for x, y in zip(a, b, strict=True)]
            row["verdict_holds"] = float(np.mean([v == row["observed_verdict"] for v in verdicts]))
        holds = row["same_sign"] >= SURVIVES and (theme not in ranges or row["verdict_holds"] >= SURVIVES)
        row["survives"] = bool(holds)
        if not hits.any():
            row["survives"] = None  # nothing to draw: no hit anywhere implies no missed case either
            row["note"] = NOTHING_TO_DRAW
        if theme in primary_set:
            primary_per_draw += present
        rows.append(row)
    table = pd.DataFrame(rows, columns=THEME_COLUMNS)
    overall = _overall(observed_primary, primary_per_draw, successful, bool(primary_set))
    sources = sorted({s for s in table["source"] if s != NOT_MEASURED})
    on = sorted({part for text in error["on"] if isinstance(text, str) for part in text.split("\n") if part}) \
        if "on" in error else []
    return InstrumentFindings(themes=table, overall=overall, draws=draws, seed=seed, sources=sources,
                              measured=bool(sources), on=on if sources else [])


def _drawn_presence(hits: np.ndarray, words: np.ndarray, observed: np.ndarray, presence: Presence,
                    precisions: np.ndarray, recalls: np.ndarray,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per draw (row) and case (column), whether the theme is present: each hit kept with the draw's
    precision, and a case without the theme gaining it with the chance that the draw's recall leaves
    a miss for it (the expected misses shared among the cases without the theme). Also each draw's
    chance of a gain."""
    draws = len(precisions)
    kept = rng.binomial(np.broadcast_to(hits, (draws, len(hits))), precisions[:, None])
    present = _present(kept, np.broadcast_to(words, kept.shape), presence)
    expected_tp = _keep_probability(hits, _needed(hits, words, presence), precisions)
    without = int((~observed).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        missed = np.where(recalls > 0, expected_tp * (1 - recalls) / np.where(recalls > 0, recalls, 1), np.inf)
    gain = np.zeros(draws) if without == 0 else np.where(expected_tp > 0, np.minimum(1.0, missed / without), 0.0)
    gains = (rng.random(kept.shape) < gain[:, None]) & ~observed
    return present | gains, gain


def _relative(per_case: np.ndarray, successful: np.ndarray) -> np.ndarray:
    mean_s = per_case[..., successful].mean(axis=-1)
    mean_t = per_case[..., ~successful].mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mean_s > 0, 1 - mean_t / np.where(mean_s > 0, mean_s, 1), np.nan)


def _overall(observed: np.ndarray, per_draw: np.ndarray, successful: np.ndarray, any_primary: bool) -> dict[str, Any]:
    """The overall relative association over the primary themes: observed, and how its sign fares."""
    if not any_primary or not successful.any() or successful.all():
        return {"observed": math.nan, "same_sign": math.nan, "undefined": 0, "low": math.nan, "high": math.nan}
    value = float(_relative(observed, successful))
    draws = _relative(per_draw, successful)
    defined = draws[~np.isnan(draws)]
    same = float((np.sign(defined) == np.sign(value)).mean()) if len(defined) and not math.isnan(value) else math.nan
    return {"observed": value, "same_sign": same, "undefined": int(len(draws) - len(defined)),
            "low": float(np.percentile(defined, 2.5)) if len(defined) else math.nan,
            "high": float(np.percentile(defined, 97.5)) if len(defined) else math.nan}
