"""The instrument's error in a study: per theme, precision from the study's own review and the miss rate
from its recall audit.

Precision: of the theme's keyword hits (origin ``auto``) that were reviewed, the share accepted for the
theme (recoded or rejected ones were wrong), with a Wilson 95% interval.

Miss rate: of the audited sentences (drawn at random from those no counted hit touched, marked by a
coder, and still untouched by a counted hit), the share that expresses the theme, with a Wilson 95%
score interval (Wilson 1927; recommended over the Wald interval for small samples and shares near 0 by
Brown, Cai & DasGupta 2001, and less conservative than Clopper-Pearson's exact interval). With several
coders, a sentence expresses a theme when at least half of the coders who marked it said so (a tie
counts as expressed: the cautious side for a miss rate). The sample is drawn without replacement from
a population far larger than the sample, so no finite-population correction is applied (the interval
is then a little wide, never too narrow).

Scaled to the study: missed sentences ≈ miss rate × unhit sentences, and the implied recall (per
sentence) = H·P / (H·P + m·U), with H the sentences holding a counted hit of the theme, P its precision
(1 where no hit was reviewed: an upper bound), m the miss rate and U the unhit sentences; its interval
puts the miss rate's bounds in place of m (the precision's uncertainty is not carried).
"""

from __future__ import annotations

import pandas as pd

from sibkit.audit.sample import population, sampled_sentences, standing_marks

COLUMNS = ["theme", "reviewed", "accepted", "precision", "precision_low", "precision_high", "audited_sentences",
           "audit_hits", "miss_rate", "miss_low", "miss_high", "unhit_sentences", "hit_sentences",
           "missed_estimate", "recall", "recall_low", "recall_high", "recall_basis"]


def wilson(successes: int, trials: int) -> tuple[float, float]:
    """Wilson's 95% score interval for a binomial proportion (trials > 0), from statsmodels."""
    if trials <= 0:
        raise ValueError("Wilson's interval needs at least one trial")
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(successes, trials, alpha=0.05, method="wilson")
    return max(0.0, float(low)), min(1.0, float(high))


def implied_recall(hit_sentences: int, precision: float, miss_rate: float, unhit_sentences: int) -> float | None:
    found = hit_sentences * precision
    missed = miss_rate * unhit_sentences
    return found / (found + missed) if found + missed > 0 else None


def review_precision(source: object, themes: list[str]) -> dict[str, tuple[int, int]]:
    """Per theme: (keyword hits reviewed, accepted for the theme)."""
    from sibkit.coding.coder import as_store, references

    refs = references(as_store(source))  # type: ignore[arg-type]
    auto = refs[(refs["origin"] == "auto") & refs["reviewed"]]
    out = {}
    for theme in themes:
        mine = auto[auto["theme"] == theme]
        out[theme] = (len(mine), int((mine["counts_for"] == theme).sum()))
    return out


def audit_counts(source: object, themes: list[str]) -> tuple[int, dict[str, int], int, dict[str, int], int]:
    """(audited sentences, per theme how many express it, unhit sentences, per theme hit sentences,
    marked sentences left out because a counted hit now touches them or their text changed)."""
    from sibkit.coding.coder import as_store

    store = as_store(source)  # type: ignore[arg-type]
    found = population(source)
    unhit = {(s.document_id, s.start, s.end): found.digests[s] for s in found.unhit}
    marks = standing_marks(store)
    audited = 0
    left_out = 0
    hits = dict.fromkeys(themes, 0)
    for sentence in sampled_sentences(store):
        coders = marks.get(int(sentence["sentence_id"]))  # type: ignore[arg-type]
        if not coders:
            continue
        key = (sentence["document_id"], sentence["start"], sentence["end"])
        if unhit.get(key) != sentence["digest"]:  # type: ignore[arg-type]
            left_out += 1
            continue
        audited += 1
        for theme in themes:
            votes = sum(theme in marked for marked in coders.values())
            if votes and 2 * votes >= len(coders):
                hits[theme] += 1
    return audited, hits, len(found.unhit), found.hit_by_theme, left_out


def instrument_error(source: object, themes: list[str] | None = None) -> pd.DataFrame:
    """One row per theme (columns ``COLUMNS``; None where not measured): precision from review, the audit's
    miss rate with its Wilson interval, and the recall they imply. ``source``: a Study (its codebook's
    themes with terms) or a Store with ``themes``. ``frame.attrs`` says what the audit rests on."""
    from sibkit.study import Study

    if themes is None:
        if not isinstance(source, Study):
            raise TypeError("instrument_error(store) needs themes; or pass a Study")
        from sibkit.coding import study_codebook

        themes = [t.id for t in study_codebook(source).themes if t.terms]
    precision = review_precision(source, themes)
    audited, audit_hits, unhit, hit_sentences, left_out = audit_counts(source, themes)
    rows = []
    for theme in themes:
        reviewed, accepted = precision[theme]
        p = accepted / reviewed if reviewed else None
        p_low, p_high = wilson(accepted, reviewed) if reviewed else (None, None)
        row = {"theme": theme, "reviewed": reviewed, "accepted": accepted, "precision": p, "precision_low": p_low,
               "precision_high": p_high, "audited_sentences": audited,
               "audit_hits": audit_hits[theme] if audited else 0,
               "unhit_sentences": unhit, "hit_sentences": hit_sentences.get(theme, 0)}
        if audited:
            m = audit_hits[theme] / audited
            low, high = wilson(audit_hits[theme], audited)
            basis = p if p is not None else 1.0
            row.update(miss_rate=m, miss_low=low, miss_high=high, missed_estimate=m * unhit,
                       recall=implied_recall(row["hit_sentences"], basis, m, unhit),
                       recall_low=implied_recall(row["hit_sentences"], basis, high, unhit),
                       recall_high=implied_recall(row["hit_sentences"], basis, low, unhit),
                       recall_basis="reviewed precision" if p is not None else "hits taken as right (not reviewed yet)")
        else:
            row.update(miss_rate=None, miss_low=None, miss_high=None, missed_estimate=None, recall=None,
                       recall_low=None, recall_high=None, recall_basis="no audit yet")
        rows.append(row)
    frame = pd.DataFrame(rows, columns=COLUMNS).astype(object)
    frame = frame.where(frame.notna(), None)
    frame.attrs.update(audited_sentences=audited, unhit_sentences=unhit, left_out=left_out,
                       interval="Wilson 95%")
    return frame
