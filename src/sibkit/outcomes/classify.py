"""Success classification of impact bonds from INDIGO's outcome data, with its evidence.

- achievement ratio: for each outcome metric with a numeric target (targeted number of service
  users or beneficiaries) of a kind the study compares with (``target_kinds``: contracted and
  unknown by default; cohort sizes left out, see ``rules.target_kinds``) and a result with a numeric
  "outcomes achieved" (the final result, else the one with the latest period end): achieved / target;
  the case's ratio is the median.
- payment ratio: outcome payments made / maximum potential outcome payment. Made: the sum of
  outcome payments of type Actual of the kinds the study counts (``payment_kinds``: outcome payments
  by default; COVID, grant and claim payments and payments partly for something else left out and
  listed, see ``rules.payment_kind``), else the project's total outcome payments made, else the sum
  over its outcome payment commitments. Maximum: the project's maximum potential outcome payment,
  else the sum over its commitments. Amounts in one currency, USD where they differ.
- stage: evidence is *complete* when every result compared is final (and, for payments, the project
  is Complete), else *interim*; interim evidence is flagged, compared pro rata (the target or maximum
  times the share of the contract elapsed), or left out, as the study says (``interim``).
- class: the first ratio in the rule order that exists; *successful* if >= 1 - tolerance,
  *struggling* below; *insufficient data* if none exists. A manual override wins.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sibkit import spreadsheet
from sibkit.errors import SibkitError
from sibkit.indigo import Dataset
from sibkit.indigo.values import date_floor, parse_number
from sibkit.outcomes.judgements import read_overrides
from sibkit.outcomes.rules import (
    CLASSES,
    COMPLETE,
    CONTRACTED,
    FINAL,
    INSUFFICIENT,
    INTERIM,
    OUTCOME,
    PAYMENT_KIND_LABELS,
    PAYMENT_KINDS,
    STRUGGLING,
    SUCCESSFUL,
    TARGET_KIND_LABELS,
    TARGET_KINDS,
    UNKNOWN,
    elapsed_share,
    payment_kind,
    result_stage,
    service_months,
    target_kinds,
)

RULES = ("achievement", "payment")
RULE_ORDERS = {"achievement_first": ("achievement", "payment"), "payment_first": ("payment", "achievement")}
FINANCE = "overall_project_finance_"
INTERIM_CHOICES = ("flag", "pro_rata", "exclude")
DEFAULT_PAYMENT_KINDS = (OUTCOME,)
DEFAULT_TARGET_KINDS = (CONTRACTED, UNKNOWN)


def _value(value: object) -> object | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


_APPROXIMATE = re.compile(r"^(?:~|c\.|ca\.|circa|approx(?:\.|imately)?|about|around)\s*", re.IGNORECASE)
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:[,\u00a0\u202f ]\d{3})+(?:\.\d+)?")


def parse_count(value: object) -> float | None:
    """A number from a figure typed as text, leniently: ``1,234``, ``1 234``, ``~120``, ``approx. 85``.

    Prose that merely contains numbers ("1809 people got a job") is not a figure: None, as for
    empty values, so the caller can record the text as unparsed evidence.
    """
    value = _value(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    text = _APPROXIMATE.sub("", str(value).strip()).strip()
    if _GROUPED.fullmatch(text):
        text = re.sub(r"[,\u00a0\u202f ]", "", text)
    try:
        return parse_number(text)
    except ValueError:
        return None


def _number(value: object) -> float | None:
    return parse_count(value)


PAYMENT_COLUMNS = ["case_id", "period_start", "period_end", "amount", "currency", "payment_kind", "kind_label", "note"]
TARGET_COLUMNS = ["case_id", "metric_id", "definition", "target", "target_kind", "kind_label", "why"]


@dataclass
class Classification:
    """Per-case classes with evidence; per-metric evidence; load warnings.

    For the report's first paragraph: ``stage_table()`` (cases per class and stage of evidence),
    ``payments_left_out`` and ``targets_left_out`` (one row per payment or metric target the rules
    left out, with its kind and why), ``left_out_summary()`` (their counts), and the settings that
    made them: ``payment_kinds``, ``target_kinds``, ``interim``."""

    cases: pd.DataFrame
    metrics: pd.DataFrame
    tolerance: float
    warnings: list[str] = field(default_factory=list)
    sensitivity: pd.DataFrame | None = None  # case_id, class at each tolerance, index and rule order, changes
    rules: tuple[str, ...] = ("achievement", "payment")
    index: str = "median"
    payment_kinds: tuple[str, ...] = DEFAULT_PAYMENT_KINDS
    target_kinds: tuple[str, ...] = DEFAULT_TARGET_KINDS
    interim: str = "flag"
    payments_left_out: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PAYMENT_COLUMNS))
    targets_left_out: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TARGET_COLUMNS))

    def stage_table(self) -> pd.DataFrame:
        """class, stage (complete or interim), cases: one row per class and stage present."""
        if self.cases.empty:
            return pd.DataFrame(columns=["class", "stage", "cases"])
        counts = self.cases.groupby(["class", "evidence_stage"]).size()
        rows = [{"class": klass, "stage": stage, "cases": int(counts[(klass, stage)])}
                for klass in CLASSES for stage in (COMPLETE, INTERIM) if (klass, stage) in counts.index]
        return pd.DataFrame(rows, columns=["class", "stage", "cases"])

    def left_out_summary(self) -> dict[str, object]:
        """What the rules left out, in counts: payments by kind (and their cases), targets by kind."""
        payments = self.payments_left_out
        targets = self.targets_left_out
        return {
            "payments": len(payments), "payment_cases": int(payments["case_id"].nunique()),
            "payments_by_kind": {str(k): int(v) for k, v in payments.groupby("payment_kind").size().items()},
            "payment_amounts": {str(k): float(v) for k, v in payments.groupby("currency")["amount"].sum().items()},
            "targets": len(targets), "target_cases": int(targets["case_id"].nunique()),
            "targets_by_kind": {str(k): int(v) for k, v in targets.groupby("target_kind").size().items()},
            "payment_kinds_counted": list(self.payment_kinds), "target_kinds_counted": list(self.target_kinds),
            "interim": self.interim,
        }

    def write_tables(self, folder: Path) -> list[Path]:
        """classification.csv (per case), classification-metrics.csv, classification-left-out.csv (payments
        and targets the rules left out) and, if any, classification-sensitivity.csv."""
        folder.mkdir(parents=True, exist_ok=True)
        tables = {"classification.csv": self.cases, "classification-metrics.csv": self.metrics,
                  "classification-left-out.csv": self.left_out_table()}
        if self.sensitivity is not None:
            tables["classification-sensitivity.csv"] = self.sensitivity
        written = []
        for name, frame in tables.items():
            spreadsheet.to_csv(frame, folder / name)
            written.append(folder / name)
        return written

    def left_out_table(self) -> pd.DataFrame:
        """Payments and targets left out, one table: what (payment or target), case_id, item, amount or
        target, kind, why."""
        rows = [{"what": "payment", "case_id": r["case_id"],
                 "item": f"{r['period_start'] or '?'} to {r['period_end'] or '?'}", "value": r["amount"],
                 "currency": r["currency"], "kind": r["kind_label"], "why": r["note"]}
                for r in self.payments_left_out.to_dict("records")]
        rows += [{"what": "target", "case_id": r["case_id"], "item": r["metric_id"], "value": r["target"],
                  "currency": None, "kind": r["kind_label"], "why": r["why"]}
                 for r in self.targets_left_out.to_dict("records")]
        return pd.DataFrame(rows, columns=["what", "case_id", "item", "value", "currency", "kind", "why"])

    def to_json(self) -> dict[str, dict[str, object]]:
        out: dict[str, dict[str, object]] = {}
        metrics = self.metrics.groupby("case_id") if len(self.metrics) else None
        for row in self.cases.to_dict("records"):
            entry = {k: _json(v) for k, v in row.items() if k != "case_id"}
            if metrics is not None and row["case_id"] in metrics.groups:
                entry["metrics"] = [{k: _json(v) for k, v in m.items() if k != "case_id"}
                                    for m in metrics.get_group(row["case_id"]).to_dict("records")]
            else:
                entry["metrics"] = []
            entry["payments_left_out"] = [{k: _json(v) for k, v in p.items() if k != "case_id"} for p in
                                          self.payments_left_out[self.payments_left_out["case_id"] == row["case_id"]]
                                          .to_dict("records")]
            if self.sensitivity is not None:
                classes = self.sensitivity.set_index("case_id").loc[row["case_id"]]
                entry["sensitivity"] = {column.removeprefix("class_at_"): classes[column]
                                        for column in self.sensitivity.columns if column.startswith("class_at_")}
                entry["changes_with_tolerance"] = bool(classes["changes"])
                entry["changes_with_rule_order"] = bool(classes["changes_with_rule_order"])
            out[row["case_id"]] = entry
        return out


def _json(value: object) -> object:
    value = _value(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return value
    return value


_NEEDED = {
    "outcome_metrics": ["project_id", "id", "definition", "targeted_number_of_service_users_or_beneficiaries_total"],
    "results": ["project_id", "outcome_metric_id", "result_type", "period_start_date", "period_end_date",
                "outcomes_achieved"],
    "outcome_payments": ["project_id", "type", "money_amount", "money_amount_usd", "money_currency",
                         "outcome_metric_id", "period_start_date", "period_end_date", "notes"],
    "outcome_pricings": ["project_id", "outcome_metric_id", "currency", "price_per_unit_amount",
                         "price_per_unit_amount_usd", "maximum_price_if_all_targets_achieved_amount"],
    "outcome_payment_commitments": ["project_id", *(
        f"{figure}_{part}" for figure in ("total_outcome_payments", "maximum_potential_outcome_payment")
        for part in ("amount", "amount_usd", "currency"))],
}


def _rows(dataset: Dataset, table: str, project_id: str) -> list[dict[str, object]]:
    """One project's rows of a table as plain records, narrowed to the columns classification reads."""
    def build() -> dict[str, list[dict[str, object]]]:
        grouped: dict[str, list[dict[str, object]]] = {}
        frame = dataset[table]
        columns = [c for c in _NEEDED[table] if c in frame.columns]
        for record in frame[columns].to_dict("records"):
            record.update({c: None for c in _NEEDED[table] if c not in record})
            grouped.setdefault(str(record["project_id"]), []).append(record)
        return grouped

    return dataset.cached(f"outcomes:{table}", build).get(project_id, [])


_DATES = ("dates_start_date_of_service_provision", "dates_outcomes_contract_signed",
          "dates_actual_end_date_of_service_provision", "dates_anticipated_end_date_of_service_provision",
          "dates_actual_duration_of_service_provision", "dates_anticipated_duration_of_service_provision")


def _project(dataset: Dataset, project_id: str) -> dict[str, object]:
    records = dataset.cached("outcomes:projects", lambda: {
        row["id"]: row for row in dataset.projects[[c for c in dataset.projects.columns
                                                     if c in ("id", "name", "stage_development", *_DATES)
                                                     or c.startswith(FINANCE)]].to_dict("records")})
    record = records[project_id]
    for column in _DATES:
        record.setdefault(column, None)
    return record


def _service(project: dict[str, object]) -> tuple[int, int] | None:
    """The project's months of service provision (see ``rules.service_months``)."""
    start = (_value(project["dates_start_date_of_service_provision"])
             or _value(project["dates_outcomes_contract_signed"]))
    end = (_value(project["dates_actual_end_date_of_service_provision"])
           or _value(project["dates_anticipated_end_date_of_service_provision"]))
    duration = (_value(project["dates_actual_duration_of_service_provision"])
                or _value(project["dates_anticipated_duration_of_service_provision"]))
    return service_months(start, end, duration)


def _is_complete(project: dict[str, object]) -> bool:
    return str(_value(project["stage_development"]) or "").strip().casefold() == COMPLETE


def _latest(results: list[dict[str, object]]) -> dict[str, object] | None:
    """The final result, else the one with the latest period end (ties: the later row)."""
    finals = [r for r in results if str(_value(r["result_type"]) or "").casefold() == "final"]
    pool = finals or results
    if not pool:
        return None
    earliest = pd.Timestamp.min.date()
    return max(enumerate(pool), key=lambda item: (date_floor(item[1]["period_end_date"]) or earliest, item[0]))[1]


def achievement(dataset: Dataset, project_id: str, *, targets: Sequence[str] = TARGET_KINDS,
                interim: str = "flag") -> tuple[float | None, list[dict[str, object]]]:
    """The case's achievement ratio (median over metrics) and per-metric evidence.

    ``targets``: the kinds of target compared with (``rules.target_kinds``; the others get no ratio
    and a note); ``interim``: what an interim result is compared with (``flag``: the target, as a
    final result; ``pro_rata``: the target times the share of the contract elapsed at the result's
    period end; ``exclude``: nothing, no ratio)."""
    project = _project(dataset, project_id)
    service, complete = _service(project), _is_complete(project)
    results = _rows(dataset, "results", project_id)
    prices = {str(p["outcome_metric_id"]): p for p in _rows(dataset, "outcome_pricings", project_id)}
    evidence: list[dict[str, object]] = []
    ratios: list[float] = []
    metrics = _rows(dataset, "outcome_metrics", project_id)
    numbers = [_number(m["targeted_number_of_service_users_or_beneficiaries_total"]) for m in metrics]
    kinds = target_kinds([(str(m["id"]), m["definition"], n) for m, n in zip(metrics, numbers, strict=True)])
    for metric, target in zip(metrics, numbers, strict=True):
        target_kind, target_why = kinds[str(metric["id"])]
        own = [r for r in results if r["outcome_metric_id"] == metric["id"]]
        numeric = [r for r in own if _number(r["outcomes_achieved"]) is not None]
        unparsed = [str(r["outcomes_achieved"]) for r in own if _number(r["outcomes_achieved"]) is None
                    and _value(r["outcomes_achieved"]) is not None and str(r["outcomes_achieved"]).strip()]
        chosen = _latest(numeric)
        achieved = _number(chosen["outcomes_achieved"]) if chosen is not None else None
        stage = (result_stage(chosen["result_type"], complete, chosen["period_end_date"], service)
                 if chosen is not None else None)
        share = elapsed_share(service, chosen["period_end_date"]) if chosen is not None else None
        ratio, compared = None, None
        if target is None:
            note = "no numeric target"
        elif target <= 0:
            note = "target is zero"
        elif target_kind not in targets:
            note = f"target left out: {TARGET_KIND_LABELS[str(target_kind)]} ({target_why})"
        elif chosen is None or achieved is None:
            note = ("outcomes achieved is text, not a number" if unparsed
                    else "no result with outcomes achieved" if own else "no result")
        elif stage == INTERIM and interim == "exclude":
            note = "interim result left out (the study compares final results only)"
        else:
            compared, note = target, ""
            if stage == INTERIM and interim == "pro_rata":
                if share:
                    compared = target * share
                    note = f"interim: compared with {share:.1%} of the target (pro rata)"
                else:
                    note = "interim, not pro-rated (no service dates)"
            ratio = achieved / compared
            ratios.append(ratio)
        price = prices.get(str(metric["id"]), {})
        evidence.append({
            "metric_id": metric["id"], "definition": _value(metric["definition"]), "target": target,
            "target_kind": target_kind, "target_kind_why": target_why,
            "price": _number(price.get("price_per_unit_amount")),
            "price_usd": _number(price.get("price_per_unit_amount_usd")),
            "price_currency": _value(price.get("currency")),
            "stated_maximum": _number(price.get("maximum_price_if_all_targets_achieved_amount")),
            "achieved": achieved, "result_type": _value(chosen["result_type"]) if chosen is not None else None,
            "period_start": _value(chosen["period_start_date"]) if chosen is not None else None,
            "period_end": _value(chosen["period_end_date"]) if chosen is not None else None,
            "result_stage": stage, "elapsed_share": share, "compared_with": compared,
            "ratio": ratio, "note": note, "results": len(own), "unparsed_results": len(unparsed),
            "unparsed_text": _shorten(unparsed[0]) if unparsed else None,
        })
    _weights(evidence)
    return (statistics.median(ratios) if ratios else None), evidence


def _weights(evidence: list[dict[str, object]]) -> None:
    """Each metric's maximum outcome payment (price x target, else INDIGO's stated maximum for the metric)
    and its weight: its share of the maximum payments of the metrics that have both a ratio and a maximum.
    Amounts in the prices' one currency, else in USD (price in USD x target)."""
    currencies = {e["price_currency"] for e in evidence if e["price"] is not None and e["price_currency"]}
    in_usd = len(currencies) > 1
    for e in evidence:
        price = e["price_usd"] if in_usd else e["price"]
        if price is not None and e["target"] is not None and e["target"] > 0:
            e["max_payment"], e["max_payment_from"] = price * e["target"], "price x target" + (" (USD)" if in_usd
                                                                                                 else "")
        elif e["stated_maximum"] is not None and not in_usd:
            e["max_payment"], e["max_payment_from"] = e["stated_maximum"], "stated maximum if all targets achieved"
        else:
            e["max_payment"], e["max_payment_from"] = None, ("no price" if e["price"] is None and e["price_usd"] is None
                                                             else "no numeric target")
        e["max_payment_currency"] = "USD" if in_usd else next(iter(currencies), None)
    total = math.fsum(e["max_payment"] for e in evidence if e["ratio"] is not None and e["max_payment"])
    for e in evidence:
        e["weight"] = (e["max_payment"] / total if total and e["ratio"] is not None and e["max_payment"] else None)


INDICES = ("median", "weighted", "share")
INDEX_COLUMNS = {"median": "achievement_ratio", "weighted": "weighted_index", "share": "share_at_target"}
INDEX_LABELS = {"median": "median achievement ratio", "weighted": "weighted achievement index",
                "share": "share of metrics at or above target"}


def indices(evidence: Sequence[dict[str, object]]) -> dict[str, float | int | None]:
    """The three readings of a case's outcome metrics.

    - median: median over metrics with a ratio of achieved / target;
    - weighted: sum of weight x ratio over metrics with a ratio and a maximum payment (weights from
      ``_weights``, summing to 1), None when no such metric;
    - share: metrics with ratio >= 1 (at or above target) / metrics with a ratio.
    """
    ratios = [float(e["ratio"]) for e in evidence if e["ratio"] is not None]
    weighted = [(float(e["weight"]), float(e["ratio"])) for e in evidence
                if e["ratio"] is not None and e.get("weight") is not None]
    return {
        "achievement_ratio": statistics.median(ratios) if ratios else None,
        "weighted_index": math.fsum(w * r for w, r in weighted) if weighted else None,
        "share_at_target": sum(r >= 1 - 1e-12 for r in ratios) / len(ratios) if ratios else None,
        "metrics_weighted": len(weighted),
    }


def _shorten(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sum(values: Iterable[object]) -> float | None:
    numbers = [n for n in (_number(v) for v in values) if n is not None]
    return math.fsum(numbers) if numbers else None


def _currencies(values: Iterable[object]) -> set[str]:
    return {str(v).strip().upper() for v in values if _value(v) is not None and str(v).strip()}


def payment(dataset: Dataset, project_id: str, *, kinds: Sequence[str] = PAYMENT_KINDS,
            interim: str = "flag") -> dict[str, object]:
    """Payments made, the maximum, the ratio and where each figure came from; the stage of the
    payment evidence; ``left_out``: the Actual payments whose kind (``rules.payment_kind``) is not in
    ``kinds``. ``interim`` as for ``achievement`` (pro rata: the maximum times the share of the
    contract elapsed at the last Actual payment's period end)."""
    project = _project(dataset, project_id)
    every_actual = [p for p in _rows(dataset, "outcome_payments", project_id)
                    if str(_value(p["type"]) or "").casefold() == "actual"]
    kind_of = [payment_kind(_value(record["notes"])) for record in every_actual]
    actual = [record for record, kind in zip(every_actual, kind_of, strict=True) if kind in kinds]
    left_out = [(record, kind) for record, kind in zip(every_actual, kind_of, strict=True) if kind not in kinds]
    commitments = _rows(dataset, "outcome_payment_commitments", project_id)

    def column(records: list[dict[str, object]], name: str) -> list[object]:
        return [record[name] for record in records]

    made_options = [
        ("outcome payments of type Actual", column(actual, "money_amount") or [0.0],
         column(actual, "money_amount_usd") or [0.0],
         _currencies(column(every_actual, "money_currency")), len(every_actual) > 0),
        ("project total outcome payments made", [project[FINANCE + "total_outcome_payments_made_amount"]],
         [project[FINANCE + "total_outcome_payments_made_amount_usd"]],
         _currencies([project[FINANCE + "total_outcome_payments_made_currency"]]), True),
        ("sum of outcome payment commitments' payments made", column(commitments, "total_outcome_payments_amount"),
         column(commitments, "total_outcome_payments_amount_usd"),
         _currencies(column(commitments, "total_outcome_payments_currency")), True),
    ]
    maximum_prefix = FINANCE + "maximum_potential_outcome_payment_v2_"
    max_options = [
        ("project maximum potential outcome payment", [project[maximum_prefix + "amount"]],
         [project[maximum_prefix + "amount_usd"]], _currencies([project[maximum_prefix + "currency"]]), True),
        ("sum of outcome payment commitments' maxima", column(commitments, "maximum_potential_outcome_payment_amount"),
         column(commitments, "maximum_potential_outcome_payment_amount_usd"),
         _currencies(column(commitments, "maximum_potential_outcome_payment_currency")), True),
    ]

    def first(options: Sequence[tuple]) -> tuple[str, float | None, float | None, set[str]] | None:
        for name, native, usd, currencies, applies in options:
            if applies and (_sum(native) is not None or _sum(usd) is not None):
                return name, _sum(native), _sum(usd), currencies
        return None

    made, maximum = first(made_options), first(max_options)
    out: dict[str, object] = {"payments_made": None, "payments_made_from": None, "maximum_payment": None,
                              "maximum_payment_from": None, "payment_currency": None, "payment_ratio": None,
                              "payment_stage": COMPLETE if _is_complete(project) else INTERIM,
                              "payment_elapsed_share": None, "payment_note": "",
                              "payments_left_out": len(left_out)}
    out["left_out"] = [{"case_id": project_id, "period_start": _value(r["period_start_date"]),
                        "period_end": _value(r["period_end_date"]), "amount": _number(r["money_amount"]),
                        "currency": _value(r["money_currency"]), "payment_kind": kind,
                        "kind_label": PAYMENT_KIND_LABELS[kind], "note": _value(r["notes"])} for r, kind in left_out]
    if made:
        out["payments_made_from"] = made[0]
    if maximum:
        out["maximum_payment_from"] = maximum[0]
    if not made or not maximum:
        if made:
            out["payments_made"] = made[1] if made[1] is not None else made[2]
        if maximum:
            out["maximum_payment"] = maximum[1] if maximum[1] is not None else maximum[2]
        return out
    currencies = made[3] | maximum[3]
    if len(currencies) <= 1 and made[1] is not None and maximum[1] is not None:
        numerator, denominator, currency = made[1], maximum[1], next(iter(currencies), None)
    else:
        numerator, denominator, currency = made[2], maximum[2], "USD"
    out.update(payments_made=numerator, maximum_payment=denominator, payment_currency=currency)
    if numerator is None or not denominator:
        return out
    if out["payment_stage"] == INTERIM and interim == "exclude":
        out["payment_note"] = "interim payments left out (the study compares completed projects only)"
        return out
    if out["payment_stage"] == INTERIM and interim == "pro_rata":
        ends = [r["period_end_date"] for r in every_actual if _value(r["period_end_date"]) is not None]
        last = max(ends, key=lambda e: date_floor(e) or pd.Timestamp.min.date()) if ends else None
        share = elapsed_share(_service(project), last) if made[0] == made_options[0][0] else None
        out["payment_elapsed_share"] = share
        if share:
            denominator = denominator * share
            out["payment_note"] = f"interim: compared with {share:.1%} of the maximum (pro rata)"
        else:
            out["payment_note"] = "interim, not pro-rated (no dated payments or service dates)"
    out["payment_ratio"] = numerator / denominator
    return out


def decide(ratios: dict[str, float | None], rules: Sequence[str], tolerance: float) -> tuple[str, str]:
    """(class, which rule decided) from the ratios, the rule order and the tolerance."""
    for rule in rules:
        ratio = _value(ratios.get(rule))  # NaN or NA: a missing ratio read back from a DataFrame
        if ratio is not None:
            return (SUCCESSFUL if ratio >= 1 - tolerance - 1e-12 else STRUGGLING), rule
    return INSUFFICIENT, "no outcome data"


def _check_kinds(given: Sequence[str], known: Sequence[str], what: str) -> tuple[str, ...]:
    bad = [kind for kind in given if kind not in known]
    if bad:
        raise SibkitError(f"unknown {what} kind {bad[0]!r}; kinds are {', '.join(known)}")
    return tuple(given)


def classify(dataset: Dataset, project_ids: Sequence[str], *, tolerance: float = 0.15,
             rules: Sequence[str] = ("achievement", "payment"), classify_in_implementation: bool = True,
             overrides: Path | str | None = None, sensitivity: Sequence[float] = (),
             index: str = "median", payment_kinds: Sequence[str] = DEFAULT_PAYMENT_KINDS,
             target_kinds: Sequence[str] = DEFAULT_TARGET_KINDS, interim: str = "flag") -> Classification:
    """Classify each named project; unknown ids are one clear error.

    ``index``: which reading of the outcome metrics the achievement rule uses (``median``, ``weighted``,
    ``share``; see ``indices``); the classes under the other two are kept beside it.
    ``payment_kinds`` / ``target_kinds``: the kinds of payment and target that count (``rules``);
    ``interim``: ``flag``, ``pro_rata`` or ``exclude`` (see ``achievement``).
    """
    if index not in INDICES:
        raise SibkitError(f"unknown achievement index {index!r}; indices are {', '.join(INDICES)}")
    if interim not in INTERIM_CHOICES:
        raise SibkitError(f"unknown interim rule {interim!r}; choose one of {', '.join(INTERIM_CHOICES)}")
    payment_kinds = _check_kinds(payment_kinds, PAYMENT_KINDS, "payment")
    target_kinds = _check_kinds(target_kinds, TARGET_KINDS, "target")
    for value in (tolerance, *sensitivity):
        if not 0 <= value < 1:
            raise SibkitError(f"tolerance {value:g} is not between 0 and 1 (e.g. 0.15 for within 15%)")
    bad_rules = [rule for rule in rules if rule not in RULES]
    if bad_rules or not rules:
        raise SibkitError(f"unknown outcome rule {bad_rules[0] if bad_rules else '(none given)'!r}; "
                          f"rules are {', '.join(RULES)}")
    known = set(dataset.projects["id"])
    unknown = [pid for pid in project_ids if pid not in known]
    if unknown:
        raise SibkitError(f"unknown project id {unknown[0]!r}" + (f" (and {len(unknown) - 1} more)"
                                                                    if len(unknown) > 1 else "")
                          + "; ids look like INDIGO-POJ-0001")
    manual, warnings = (read_overrides(Path(overrides), project_ids) if overrides else ({}, []))
    case_rows, metric_rows, left_payments, left_targets = [], [], [], []
    for pid in project_ids:
        ratio_a, evidence = achievement(dataset, pid, targets=target_kinds, interim=interim)
        readings = indices(evidence)
        pay = payment(dataset, pid, kinds=payment_kinds, interim=interim)
        left_payments += pay.pop("left_out")  # type: ignore[arg-type]
        project = _project(dataset, pid)
        stage = _value(project["stage_development"])
        by_index = {}
        for name in INDICES:
            by_index[name] = decide({"achievement": readings[INDEX_COLUMNS[name]], "payment": pay["payment_ratio"]},
                                    rules, tolerance)
        klass, decided_by = by_index[index]
        evidence_stage = _evidence_stage(decided_by, evidence, pay, project)
        if not classify_in_implementation and str(stage or "").casefold() != "complete":
            klass, decided_by = INSUFFICIENT, f"not classified: stage {stage or 'unknown'}"
            by_index = {name: (INSUFFICIENT, decided_by) for name in INDICES}
        computed = klass
        override = manual.get(pid)
        if override:
            klass, decided_by = override.klass, "manual override"
        case_rows.append({
            "case_id": pid, "name": _value(project["name"]), "stage": stage, "evidence_stage": evidence_stage,
            "achievement_ratio": ratio_a, "metrics_with_ratio": sum(e["ratio"] is not None for e in evidence),
            "metrics": len(evidence),
            "interim_metrics": sum(e["ratio"] is not None and e["result_stage"] == INTERIM for e in evidence),
            "targets_left_out": sum(e["target_kind"] is not None and e["target_kind"] not in target_kinds
                                    for e in evidence),
            **pay, "class": klass, "computed_class": computed, "decided_by": decided_by,
            "overridden": override is not None, "override_reason": override.reason if override else None,
            "override_source": override.source if override else None,
            "override_document": (override.document or None) if override else None,
            "override_page": override.page if override else None,
            "override_quote": (override.quote or None) if override else None,
            "achievement_index": index, "weighted_index": readings["weighted_index"],
            "share_at_target": readings["share_at_target"], "metrics_weighted": readings["metrics_weighted"],
            **{f"class_by_{name}": by_index[name][0] for name in INDICES},
            "indices_disagree": len({by_index[name][0] for name in INDICES}) > 1,
        })
        metric_rows += [{"case_id": pid, **e} for e in evidence]
        left_targets += [{"case_id": pid, "metric_id": e["metric_id"], "definition": e["definition"],
                          "target": e["target"], "target_kind": e["target_kind"],
                          "kind_label": TARGET_KIND_LABELS[str(e["target_kind"])], "why": e["target_kind_why"]}
                         for e in evidence if e["target_kind"] is not None and e["target_kind"] not in target_kinds]
    cases = pd.DataFrame(case_rows)
    metrics = pd.DataFrame(metric_rows, columns=METRIC_COLUMNS)
    result = Classification(cases=cases, metrics=metrics, tolerance=tolerance, warnings=warnings,
                            rules=tuple(rules), index=index, payment_kinds=payment_kinds, target_kinds=target_kinds,
                            interim=interim, payments_left_out=pd.DataFrame(left_payments, columns=PAYMENT_COLUMNS),
                            targets_left_out=pd.DataFrame(left_targets, columns=TARGET_COLUMNS))
    if sensitivity:
        result.sensitivity = sensitivity_table(cases, rules, sensitivity, index)
    return result


METRIC_COLUMNS = ["case_id", "metric_id", "definition", "target", "target_kind", "target_kind_why", "achieved",
                  "result_type", "period_start", "period_end", "result_stage", "elapsed_share", "compared_with",
                  "ratio", "note", "results", "unparsed_results", "unparsed_text", "price", "price_usd",
                  "price_currency", "stated_maximum", "max_payment", "max_payment_from", "max_payment_currency",
                  "weight"]


def _evidence_stage(decided_by: str, evidence: list[dict[str, object]], pay: dict[str, object],
                    project: dict[str, object]) -> str:
    """``complete`` or ``interim``: of the results the deciding rule compared (achievement: every
    metric with a ratio final; payment: the project Complete); a case no rule decided takes the
    project's stage."""
    if decided_by == "achievement":
        compared = [e for e in evidence if e["ratio"] is not None]
        return COMPLETE if compared and all(e["result_stage"] == FINAL for e in compared) else INTERIM
    if decided_by == "payment":
        return str(pay["payment_stage"])
    return COMPLETE if _is_complete(project) else INTERIM


def sensitivity_table(cases: pd.DataFrame, rules: Sequence[str], tolerances: Sequence[float],
                      index: str = "median") -> pd.DataFrame:
    """The class of each case under each tolerance with the study's index and rule order
    (``class_at_<tolerance>``, and ``changes``); under each index and tolerance with the study's rule
    order (``class_<index>_at_<tolerance>``, and ``changes_with_index``: the class differs between
    indices at some tolerance); and under each index, rule order and tolerance
    (``class_<index>_<achievement_first|payment_first>_at_<tolerance>``, and
    ``changes_with_rule_order``: with the study's index the two orders differ at some tolerance).
    Overrides kept; a case the study does not classify stays insufficient data."""
    def klass(row: dict[str, object], name: str, order: Sequence[str], tolerance: float) -> str:
        found, _ = decide({"achievement": row.get(INDEX_COLUMNS[name]), "payment": row["payment_ratio"]},
                          order, tolerance)
        if row["overridden"]:
            return str(row["class"])
        if str(row["decided_by"]).startswith("not classified"):
            return INSUFFICIENT
        return found

    rows = []
    for row in cases.to_dict("records"):
        entry: dict[str, object] = {"case_id": row["case_id"]}
        grid: dict[str, object] = {}
        orders: dict[str, object] = {}

        for name in INDICES:
            for tolerance in tolerances:
                grid[f"class_{name}_at_{tolerance:g}"] = klass(row, name, rules, tolerance)
                if name == index:
                    entry[f"class_at_{tolerance:g}"] = grid[f"class_{name}_at_{tolerance:g}"]
                for order_name, order in RULE_ORDERS.items():
                    orders[f"class_{name}_{order_name}_at_{tolerance:g}"] = klass(row, name, order, tolerance)
        entry["changes"] = len({v for k, v in entry.items() if k.startswith("class_at_")}) > 1
        entry.update(grid)
        entry["changes_with_index"] = any(
            len({grid[f"class_{name}_at_{tolerance:g}"] for name in INDICES}) > 1 for tolerance in tolerances)
        entry.update(orders)
        entry["changes_with_rule_order"] = any(
            len({orders[f"class_{index}_{order_name}_at_{tolerance:g}"] for order_name in RULE_ORDERS}) > 1
            for tolerance in tolerances)
        rows.append(entry)
    return pd.DataFrame(rows)


def rule_order_counts(sensitivity: pd.DataFrame, index: str, tolerance: float) -> pd.DataFrame:
    """Cases per class under each rule order (columns ``achievement_first``, ``payment_first``) at one
    index and tolerance, from a ``sensitivity_table``."""
    counts = {order: sensitivity[f"class_{index}_{order}_at_{tolerance:g}"].value_counts() for order in RULE_ORDERS}
    return pd.DataFrame({order: [int(found.get(klass, 0)) for klass in CLASSES] for order, found in counts.items()},
                        index=pd.Index(CLASSES, name="class"))
