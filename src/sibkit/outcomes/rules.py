"""The rules that decide which outcome evidence counts: kinds of payment, kinds of target, and the
stage of a result. Each rule is stated here once, in words and in code, and tested by hand.

Payments (``payment_kind``), from INDIGO's note on each outcome payment:

- ``relief``: a COVID, grant or claim payment, not a payment for outcomes achieved: the note names
  COVID-19 (covid, coronavirus, pandemic), a grant, a claim payment, relief, furlough or a support
  payment (e.g. "covid claim payment");
- ``other``: a payment the note says is partly something else: a temporary payment, an advance, a
  loan, a fee or bonus, "part of this payment";
- ``outcome``: every other payment (no note, or a note such as "capped payments").

Targets (``target_kinds``), INDIGO's "targeted number of service users or beneficiaries" of each
metric, which is sometimes an expected number of outcomes and sometimes the number of people served:

- ``cohort`` (cohort size) when at least three metrics of the case have a numeric target and all have
  the same one (Pan-London's 20 metrics, all 320: entering accommodation and 24 months in it cannot
  both be expected of all 320 people), or when the target equals the target of a metric that counts
  registrations, sign-ups, enrolments, referrals or starts (the Skill Mill's reoffending target, 252,
  is its registrations target);
- ``unknown`` when the case's other metrics give no target to compare with: the one metric with a
  target among several (often the whole cohort written against the first metric), or two metrics
  sharing one target;
- ``contracted`` otherwise (a target of its own). A metric without a numeric target has no kind.

Stage (``result_stage``): a result is *final* when INDIGO calls it Final, or when the project is
Complete and the result's period ends at or after the end of service provision; otherwise *interim*.
The share of the contract elapsed at a date (``elapsed_share``) counts whole months from the start of
service provision (else the contract's signature) to the end of service provision (actual, else
anticipated, else start plus the actual, else anticipated, duration in months), both months included.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sibkit.indigo.values import date_floor

SUCCESSFUL, STRUGGLING, INSUFFICIENT = "successful", "struggling", "insufficient data"
CLASSES = (SUCCESSFUL, STRUGGLING, INSUFFICIENT)
OUTCOME, RELIEF, OTHER_PAYMENT = "outcome", "relief", "other"
PAYMENT_KINDS = (OUTCOME, RELIEF, OTHER_PAYMENT)
PAYMENT_KIND_LABELS = {OUTCOME: "outcome payment", RELIEF: "COVID, grant or claim payment",
                       OTHER_PAYMENT: "payment partly for something else"}
CONTRACTED, COHORT, UNKNOWN = "contracted", "cohort", "unknown"
TARGET_KINDS = (CONTRACTED, COHORT, UNKNOWN)
TARGET_KIND_LABELS = {CONTRACTED: "contracted", COHORT: "cohort size", UNKNOWN: "unknown"}
FINAL, INTERIM = "final", "interim"
COMPLETE = "complete"

_RELIEF = re.compile(r"\b(covid(?:-?19)?|coronavirus|pandemic|grants?|claim payments?|relief|furlough|"
                     r"support payments?)\b", re.IGNORECASE)
_PARTLY_OTHER = re.compile(r"\b(temporary payments?|advances?|loans?|fees?|bonus(?:es)?|part of this payment)\b",
                           re.IGNORECASE)
_REGISTRATION = re.compile(r"\b(registers|registered|registering|registrations?|signs? up|signed up|signing up|"
                           r"sign-ups?|intake|enrol(?:s|led|ment|ments)?|enroll(?:s|ed|ment|ments)?|referrals?|"
                           r"(?:is|are) referred|starts? on|joins? the)\b", re.IGNORECASE)
_METRIC_PREFIX = re.compile(r"^\s*(?:(?:key stage \d+,?\s*)?metric\s*\d+\s*[:.)-]\s*)?", re.IGNORECASE)
#: a registration metric says so at the start of its definition (its first clause)
REGISTRATION_WINDOW = 60


def payment_kind(note: object) -> str:
    """``outcome``, ``relief`` or ``other`` from a payment's note (see the module docstring)."""
    text = str(note or "")
    if _RELIEF.search(text):
        return RELIEF
    if _PARTLY_OTHER.search(text):
        return OTHER_PAYMENT
    return OUTCOME


def counts_registrations(definition: object) -> bool:
    """Whether a metric's definition counts people registering, signing up, enrolling, referred or starting
    (said in its first clause: the first 60 characters after a "Metric 1:" prefix, up to a full stop)."""
    text = _METRIC_PREFIX.sub("", str(definition or ""), count=1)[:REGISTRATION_WINDOW]
    return bool(_REGISTRATION.search(text.split(". ")[0]))


def target_kinds(metrics: Sequence[tuple[str, object, float | None]]) -> dict[str, tuple[str | None, str]]:
    """Per metric id: (target kind, why) for ``(metric id, definition, numeric target or None)``."""
    with_target = [(mid, definition, target) for mid, definition, target in metrics
                   if target is not None and target > 0]
    out: dict[str, tuple[str | None, str]] = {}
    for mid, _, target in metrics:
        if target is None:
            out[mid] = (None, "no numeric target")
        elif target <= 0:
            out[mid] = (None, "target is zero")
    if not with_target:
        return out
    values = {target for _, _, target in with_target}
    if len(with_target) >= 3 and len(values) == 1:
        value = with_target[0][2]
        for mid, _, _ in with_target:
            out[mid] = (COHORT, f"the same target ({value:,g}) on all {len(with_target)} metrics with a target: "
                                "the number of people served, not an expectation per outcome")
        return out
    registrations = {target: mid for mid, definition, target in with_target if counts_registrations(definition)}
    for mid, definition, target in with_target:
        if target in registrations and registrations[target] != mid and not counts_registrations(definition):
            out[mid] = (COHORT, f"equal to the registrations target of {registrations[target]} ({target:,g}): "
                                "the cohort, not a contracted expectation")
        elif len(metrics) >= 2 and len(with_target) == 1:
            out[mid] = (UNKNOWN, f"the only target among {len(metrics)} metrics: it may be the cohort's size")
        elif len(with_target) == 2 and len(values) == 1:
            out[mid] = (UNKNOWN, "both metrics have this target: it may be the cohort's size")
        else:
            out[mid] = (CONTRACTED, "a target of its own")
    return out


def month_index(value: object) -> int | None:
    """Months since year 0 of a (partial) date: ``2021-07`` -> 2021 * 12 + 6."""
    day = date_floor(value)
    return None if day is None else day.year * 12 + day.month - 1


def service_months(start: object, end: object, duration_months: object = None) -> tuple[int, int] | None:
    """(first, last) month of service provision, both included; None when not known."""
    first = month_index(start)
    if first is None:
        return None
    last = month_index(end)
    if last is None and duration_months is not None:
        try:
            months = float(duration_months)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            months = float("nan")
        if months == months and months > 0:
            last = first + round(months) - 1
    if last is None or last < first:
        return None
    return first, last


def elapsed_share(service: tuple[int, int] | None, at: object) -> float | None:
    """The share of the service months elapsed by the end of month ``at`` (0 to 1); None when unknown."""
    when = month_index(at)
    if service is None or when is None:
        return None
    first, last = service
    share = (when - first + 1) / (last - first + 1)
    return min(1.0, max(0.0, share))


def result_stage(result_type: object, project_complete: bool, period_end: object,
                 service: tuple[int, int] | None) -> str:
    """``final`` or ``interim`` (see the module docstring)."""
    if str(result_type or "").strip().casefold() == FINAL:
        return FINAL
    when = month_index(period_end)
    if project_complete and service is not None and when is not None and when >= service[1]:
        return FINAL
    return INTERIM
