"""The report's sentences: the evidence base, what the groups can detect, intervals (or why there is
none), the findings once the instrument's error is carried into them. Plain functions of the results."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from sibkit.analysis.instrument import NOTHING_TO_DRAW
from sibkit.report.results import StudyResults, record_only_cases
from sibkit.study.model import Presence
from sibkit.words import counted


def _nan(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def interval_text(low: object, high: object, note: str = "", *, digits: int = 1, signed: bool = True,
                  percent: bool = False) -> str:
    """``+1.0 to +2.0`` (``100%`` style with ``percent``), ``+20% or more`` when there is no upper limit,
    and when there is no interval at all, ``none: <why>``."""
    if _nan(low) or _nan(high):
        return f"none: {note}" if note else "none"
    lo, hi = float(low), float(high)  # type: ignore[arg-type]
    if lo == hi:
        return f"none: {note}" if note else "none: it has no width"

    def show(value: float) -> str:
        if percent:
            return f"{100 * value:+.0f}%" if signed else f"{100 * value:.0f}%"
        return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"

    if math.isinf(hi):
        return f"{show(lo)} or more ({note})" if note else f"{show(lo)} or more"
    return f"{show(lo)} to {show(hi)}"


def evidence_statement(results: StudyResults) -> str:
    """The evidence base in numbers, one paragraph: what was coded, listed and held, the groups."""
    kinds = results.evidence_kinds
    cases = len(results.selected)
    coded = int(kinds["coded"].sum()) if len(kinds) else 0
    listed = int(kinds["listed"].sum()) if len(kinds) else 0
    held_listed = int(kinds.loc[kinds["kind"] != "INDIGO record", "held"].sum()) if len(kinds) else 0
    parts = []
    for row in kinds.to_dict("records") if len(kinds) else []:
        if row["coded"]:
            name = "INDIGO record" if row["kind"] == "INDIGO record" else row["kind"]
            parts.append(counted(int(row["coded"]), name, "INDIGO records" if name == "INDIGO record" else None))
    words = _record_words(results)
    text = (f"This report rests on {counted(coded, 'coded document')} for {counted(cases, 'case')}"
            + (f": {', '.join(parts)}" if parts else "") + (f" ({words})" if words else "") + ". ")
    listed_parts = [f"{int(r['listed']):,} {r['kind']}" for r in kinds.to_dict("records") if r["listed"]] \
        if len(kinds) else []
    text += (f"INDIGO lists {counted(listed, 'document')} for these cases"
             + (f" ({', '.join(listed_parts)})" if listed_parts else "")
             + f"; the study's corpus holds {counted(held_listed, 'document')} besides the INDIGO records. ")
    only = len(record_only_cases(results))
    text += f"{only} of {cases} cases are coded from their INDIGO record alone."
    return text


def _record_words(results: StudyResults) -> str:
    documents = results.documents
    if documents.empty:
        return ""
    records = documents[(documents["doc_type"] == "indigo_record") & (documents["status"] == "ok")]
    records = records.drop_duplicates("document_id")
    if records.empty:
        return ""
    words = records["words"].astype(int)
    return (f"database descriptions of {int(words.min()):,}-{int(words.max()):,} words, "
            f"median {int(words.median()):,}")


def detectable_sentence(results: StudyResults) -> str:
    """The minimum detectable difference for the group sizes, in words."""
    if results.detectable.empty:
        return ""
    parts = []
    for row in results.detectable.to_dict("records"):
        share = f"{100 * row['struggling_share']:.0f}%"
        value = row["detectable_pp"]
        parts.append(f"{value:.1f} percentage points when {share} of struggling cases show a practice" if value == value
                     else f"none at all when {share} of struggling cases show it (even every successful case "
                     "would not be enough)")
    method = results.detectable["method"].iloc[0]
    return ("With these group sizes, the smallest difference Fisher's test detects with 80% power at α 0.05 "
            f"({method} power) is " + "; and ".join(parts) + ".")


def _published_pp(results: StudyResults) -> tuple[float, float] | None:
    for result in results.study.analysis.published:
        if result.difference_pp is not None:
            return result.difference_pp.low, result.difference_pp.high
    return None


def findings_paragraph(results: StudyResults) -> list[str]:
    """The findings' first paragraph, sentence by sentence: the groups, what they can detect beside the
    published effect (absolute and relative readings, the power to see it), and how verdicts are read."""
    n_s, n_t = int(results.overall.get("n_successful", 0)), int(results.overall.get("n_struggling", 0))
    sentences = [f"The comparison has {n_s} successful and {n_t} struggling cases."]
    table = results.detectable
    row = table[table["struggling_share"] == 0.2].iloc[0] if len(table) and (table["struggling_share"] == 0.2).any() \
        else None
    published = _published_pp(results)
    if row is not None:
        value = float(row["detectable_pp"])
        if math.isnan(value):
            sentences.append("With groups this small no difference is detectable with 80% power by Fisher's exact "
                             "test, however large.")
        else:
            sentences.append(f"The smallest difference Fisher's exact test detects with 80% power at α 0.05 is "
                             f"{value:.1f} percentage points (a theme in 20% of struggling cases would have to be in "
                             f"{20 + value:.1f}% of successful ones).")
        if published is not None:
            low, high = published
            effect = f"{low:g}" if low == high else f"{low:g} to {high:g}"
            text = f"The published effect is {effect} percentage points"
            if "power_published_low" in row and not _nan(row["power_published_low"]):
                text += (f": this comparison would detect it with a probability of only "
                         f"{100 * float(row['power_published_low']):.0f}%"
                         + ("" if low == high else f" to {100 * float(row['power_published_high']):.0f}%"))
            sentences.append(text + ", so a result that is not significant here is no evidence against it.")
            relative = (f"{20 * (1 + low / 100):.1f}%" if low == high
                        else f"{20 * (1 + low / 100):.1f}% to {20 * (1 + high / 100):.1f}%")
            points = f"{0.2 * low:.1f}" if low == high else f"{0.2 * low:.1f} to {0.2 * high:.1f}"
            sentences.append(f"Read as relative figures (successful cases {effect}% more often than struggling "
                             "ones), the published effect is smaller still: a theme in 20% of struggling cases "
                             f"would be in {relative} of successful ones, {points} percentage points.")
    sentences.append("Verdicts read Newcombe intervals adjusted for the family of themes a published claim covers "
                     "(Bonferroni), and say “no evidence either way” when an interval cannot tell the published "
                     "effect from none.")
    return sentences


def _figure_sources_words(sources: list[tuple[str, str]]) -> str:
    """Where the figures came from, given (precision source, recall source) per theme: " (relational-sib 6
    as measured)" from one source, else per figure with the number of themes each source gave, e.g. the
    study's own review for precision and the codebook's figures for recall."""
    if len({where for pair in sources for where in pair}) == 1:
        return f" ({sources[0][0]})"
    parts = []
    for index, figure in ((0, "precision"), (1, "recall")):
        counted = Counter(pair[index] for pair in sources)
        parts.append(f"{figure} from " + ", ".join(
            f"{where} for {count} theme{'' if count == 1 else 's'}" for where, count in
            sorted(counted.items(), key=lambda item: (-item[1], item[0]))))
    return ": " + "; ".join(parts)


def instrument_sentences(results: StudyResults) -> list[str]:
    """What the Monte Carlo over the instrument's error found, in words (empty when not measured)."""
    found = results.carried_error
    if found is None or not found.measured:
        return []
    table = found.themes
    measured = table[table["source"] != "not measured"]
    names = dict(zip(results.themes["theme"], results.themes["name"], strict=True)) if len(results.themes) else {}
    survivors = [names.get(t, t) for t in found.survivors]
    sentences = [f"{len(measured)} of {len(table)} themes have measured precision and recall"
                 + _figure_sources_words(list(zip(measured["precision_source"], measured["recall_source"],
                                                  strict=True))) + "."]
    if getattr(found, "on", None):
        sentences.append(f"Measured on {'; '.join(text.rstrip('.') for text in found.on)}.")
    drawn = int(measured["figures_drawn"].fillna(False).astype(bool).sum()) if "figures_drawn" in measured else 0
    if drawn == len(measured):
        sentences.append("Each figure's own sampling error is drawn too, from the counts it was measured on (the "
                         "range under a figure holds 95% of its draws).")
    elif drawn:
        sentences.append(f"For {drawn} of them the figures' own sampling error is drawn too, from the counts they "
                         "were measured on (the range under a figure holds 95% of its draws); the others' figures "
                         "are taken as exact.")
    else:
        sentences.append("The figures are taken as exact: the counts they were measured on are not known, so their "
                         "own sampling error is not drawn.")
    if survivors:
        sentences.append(f"The direction of the difference and the verdict hold in at least 95% of draws for "
                         f"{_join(survivors)}.")
    else:
        sentences.append("No theme with a hit keeps its difference's direction and verdict in 95% of the draws: "
                         "every such finding is within the instrument's error.")
    undrawn = [names.get(t, t) for t in table.loc[table["note"] == NOTHING_TO_DRAW, "theme"]]
    if undrawn:
        one = len(undrawn) == 1
        sentences.append(f"No case has a hit for {_join(undrawn)}: nothing is drawn for {'it' if one else 'them'}, "
                         f"so {'its row says' if one else 'their rows say'} nothing of the instrument's error.")
    overall = found.overall
    if not _nan(overall.get("same_sign")):
        sentences.append(f"The overall relative association keeps its sign in {100 * overall['same_sign']:.0f}% of "
                         "draws.")
    return sentences


def less_often_text(value: object) -> str:
    """How much less often struggling cases show a theme (1 - share struggling / share successful), said as
    "more often" when they show it more often (a negative value)."""
    if _nan(value):
        return "–"
    share = float(value)  # type: ignore[arg-type]
    if round(100 * share) < 0:
        return f"{-100 * share:.0f}% more often"
    return f"{100 * share:.0f}%"


def presence_clause(presence: Presence) -> str:
    """The presence rule as the clause "A case is associated with a theme when ..." ends with."""
    verb = "counts" if presence.min_references == 1 else "count"
    return f"{presence.label()} of it {verb} after review"


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + (items[-1] if items else "")
