"""The report's first paragraph: what the findings rest on, one sentence per fact.

``FindingsBasis`` is the seam where each area's figures meet: the release of the dataset (the
``releases`` area), the document kinds the selection counted, the cases' stage and what the
classification left out (payments that are not for outcomes, targets that are not contracted: the
selection and outcomes areas), the groups and the detectable difference (analysis). ``findings_basis``
fills it from a study run (what other areas expose is gathered by ``report.run`` into
``StudyResults.provided``); a field a provider does not give yet stays ``None`` and its sentence says
plainly what that means for the findings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sibkit.kinds import KINDS
from sibkit.words import counted

if TYPE_CHECKING:
    from sibkit.report.results import StudyResults

DETECTABLE_BASELINE = 0.2


@dataclass(frozen=True)
class FindingsBasis:
    """What the findings rest on (see the module docstring)."""

    data_source: str  # where the dataset was read from
    data_sha256: str  # the release's SHA-256 (of the export's CSV files, as ``sibkit data list`` shows it)
    n_successful: int
    n_struggling: int
    n_insufficient: int
    detectable_pp: float  # the smallest difference detectable with 80% power, from ``detectable_baseline``
    detectable_baseline: float = DETECTABLE_BASELINE
    published_low: float | None = None  # the published effect in percentage points, when the study names one
    published_high: float | None = None
    release: str | None = None  # e.g. "2025-05-20": the release's date (releases); None: not recorded
    min_documents: int | None = None  # the selection's minimum of documents per case; None: no such step
    kinds_counted: tuple[str, ...] | None = None  # the document kinds that count toward it; None: every kind
    stages: Mapping[str, int] = field(default_factory=dict)  # compared cases by stage
    stage_source: str = "INDIGO's stage"  # what the stages are
    interim_rule: str | None = None  # how interim results are judged (outcomes); None: against lifetime targets
    payments_left_out: Mapping[str, int] | None = None  # payment kind -> payments left out; None: not told apart
    targets_left_out: Mapping[str, int] | None = None  # target kind -> metrics left out; None: not told apart
    # compared cases (by class) the achievement rule decides on a target of unknown kind; None: not told
    unknown_targets: Mapping[str, int] | None = None


def _listing(counts: Mapping[str, int]) -> str:
    parts = [f"{n:,} {kind}" for kind, n in counts.items() if n]
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] if parts else ""


def release_sentence(basis: FindingsBasis) -> str:
    digest = f"SHA-256 {basis.data_sha256[:12]}…" if basis.data_sha256 else "no hash"
    if basis.release:
        return f"Data: the INDIGO impact bond dataset, release of {basis.release} ({digest})."
    return (f"Data: the INDIGO impact bond dataset read from {basis.data_source or 'the local copy'} ({digest}); "
            "its release date is not recorded.")


def kinds_sentence(basis: FindingsBasis) -> str:
    if basis.min_documents is None:
        return "Cases were selected without a minimum number of documents."
    if basis.kinds_counted is None or set(basis.kinds_counted) >= {kind.label for kind in KINDS}:
        return (f"Cases were selected with at least {basis.min_documents} documents of any kind INDIGO lists "
                "(web pages, project updates and contract notices count like evaluations).")
    kinds = list(basis.kinds_counted)
    named = ", ".join(kinds[:-1]) + (" or " if len(kinds) > 1 else "") + kinds[-1] if kinds else "no kind"
    return f"Cases were selected with at least {basis.min_documents} documents of these kinds: {named}."


def groups_sentence(basis: FindingsBasis) -> str:
    text = f"The comparison has {basis.n_successful} successful and {basis.n_struggling} struggling cases"
    if basis.n_insufficient:
        text += (f"; {counted(basis.n_insufficient, 'more case')} "
                 f"{'has' if basis.n_insufficient == 1 else 'have'} too little outcome data to classify and "
                 f"{'is' if basis.n_insufficient == 1 else 'are'} left out")
    return text + "."


def stage_sentence(basis: FindingsBasis) -> str:
    compared = basis.n_successful + basis.n_struggling
    if not basis.stages or not compared:
        return ""
    complete = sum(n for stage, n in basis.stages.items() if str(stage).casefold() == "complete")
    interim = compared - complete
    if not interim:
        return f"All {compared} compared cases are complete."
    how = basis.interim_rule or "their interim results are compared with the whole contract's targets"
    verb = "is" if interim == 1 else "are"
    return f"{interim} of the {compared} compared cases {verb} not complete ({basis.stage_source}); {how}."


def detectable_sentence(basis: FindingsBasis) -> str:
    if not basis.n_successful or not basis.n_struggling:
        missing = "successful" if not basis.n_successful else "struggling"
        return (f"With no {missing} cases there is nothing to compare: the findings below describe the other "
                "group only and can neither support nor contradict the published effect.")
    start = f"{100 * basis.detectable_baseline:.0f}%"
    if math.isnan(basis.detectable_pp):
        text = (f"With {basis.n_successful} against {basis.n_struggling} cases, no difference is detectable with 80% "
                f"power by Fisher's exact test (for a theme in {start} of struggling cases, even all successful ones "
                "would not be)")
    else:
        end = 100 * basis.detectable_baseline + basis.detectable_pp
        text = (f"With {basis.n_successful} against {basis.n_struggling} cases, the smallest difference Fisher's exact "
                f"test detects with 80% power is {basis.detectable_pp:.1f} percentage points (a theme in {start} of "
                f"struggling cases would have to be in {end:.1f}% of successful ones)")
    if basis.published_low is not None and basis.published_high is not None:
        effect = (f"{basis.published_low:g}" if basis.published_low == basis.published_high
                  else f"{basis.published_low:g} to {basis.published_high:g}")
        small = math.isnan(basis.detectable_pp) or basis.detectable_pp > basis.published_high
        text += (f"; the published effect is {effect} points" + (", far smaller: a difference of that size would "
                                                                 "usually go undetected here" if small else ""))
    return text + "."


def left_out_sentence(basis: FindingsBasis) -> str:
    if basis.payments_left_out is None and basis.targets_left_out is None:
        return ("Payments and targets are not told apart by kind: every payment INDIGO records counts as an outcome "
                "payment and every target as a contracted one.")
    if not sum((basis.payments_left_out or {}).values()) and not sum((basis.targets_left_out or {}).values()):
        return "No payment or target was left out of the classification."
    parts = []
    if basis.payments_left_out is not None:
        total = sum(basis.payments_left_out.values())
        parts.append(f"{counted(total, 'payment')} not for outcomes" + (f" ({_listing(basis.payments_left_out)})"
                                                                       if total else ""))
    if basis.targets_left_out is not None:
        total = sum(basis.targets_left_out.values())
        parts.append(f"{counted(total, 'target')} that are not contracted expectations"
                     + (f" ({_listing(basis.targets_left_out)})" if total else ""))
    return "Left out of the classification: " + " and ".join(parts) + "."


def unknown_targets_sentence(basis: FindingsBasis) -> str:
    resting = sum((basis.unknown_targets or {}).values())
    if not resting:
        return ""
    compared = basis.n_successful + basis.n_struggling
    verb = "is" if resting == 1 else "are"
    return (f"{resting} of the {compared} compared cases ({_listing(basis.unknown_targets or {})}) {verb} classified "
            "on a target of unknown kind (the only target among a case's metrics, or one two metrics share): it may "
            "be the number of people served rather than an expected number of outcomes.")


SENTENCES = (release_sentence, kinds_sentence, groups_sentence, stage_sentence, detectable_sentence,
             left_out_sentence, unknown_targets_sentence)


def basis_paragraph(basis: FindingsBasis) -> str:
    """The report's first paragraph."""
    return " ".join(s for s in (sentence(basis) for sentence in SENTENCES) if s)


def findings_basis(results: StudyResults) -> FindingsBasis:
    """The basis of a study run, from what each area's results say today (the seam: fill a field here
    when its provider exposes it)."""
    classes = results.classification["class"] if len(results.classification) else None
    n_s, n_t = int(results.overall.get("n_successful", 0)), int(results.overall.get("n_struggling", 0))
    n_insufficient = int((classes == "insufficient data").sum()) if classes is not None else 0
    compared = results.classification[results.classification["class"].isin(["successful", "struggling"])] \
        if classes is not None else results.classification
    stages = compared["stage"].fillna("unknown").value_counts().to_dict() if "stage" in compared else {}
    detectable = math.nan
    if len(results.detectable):
        row = results.detectable[results.detectable["struggling_share"] == DETECTABLE_BASELINE]
        if len(row):
            detectable = float(row["detectable_pp"].iloc[0])
    published = [p.difference_pp for p in results.study.analysis.published if p.difference_pp is not None]
    minimum = [s.min_documents for s in results.study.selection if getattr(s, "min_documents", None) is not None]
    given = results.provided
    return FindingsBasis(
        data_source=results.dataset_source, data_sha256=results.dataset_sha256, n_successful=n_s, n_struggling=n_t,
        n_insufficient=n_insufficient, detectable_pp=detectable,
        published_low=published[0].low if published else None, published_high=published[0].high if published else None,
        release=given.get("release"), min_documents=int(minimum[-1]) if minimum else None,
        kinds_counted=given.get("kinds_counted"), stages=given.get("stages", stages),
        stage_source=given.get("stage_source", "INDIGO's stage"), interim_rule=given.get("interim_rule"),
        payments_left_out=given.get("payments_left_out"), targets_left_out=given.get("targets_left_out"),
        unknown_targets=given.get("unknown_targets"))
