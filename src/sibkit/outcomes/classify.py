"""Success classification of impact bonds from INDIGO's outcome data, with its evidence.

- achievement ratio: for each outcome metric with a numeric target (targeted number of service
  users or beneficiaries) and a result with a numeric "outcomes achieved" (the final result,
  else the one with the latest period end): achieved / target; the case's ratio is the median.
- payment ratio: outcome payments made / maximum potential outcome payment. Made: the sum of
  outcome payments of type Actual, else the project's total outcome payments made, else the sum
  over its outcome payment commitments. Maximum: the project's maximum potential outcome
  payment, else the sum over its commitments. Amounts in one currency, USD where they differ.
- class: the first ratio in the rule order that exists; *successful* if >= 1 - tolerance,
  *struggling* below; *insufficient data* if none exists. A manual override wins.
"""

from __future__ import annotations

import csv
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

SUCCESSFUL, STRUGGLING, INSUFFICIENT = "successful", "struggling", "insufficient data"
CLASSES = (SUCCESSFUL, STRUGGLING, INSUFFICIENT)
RULES = ("achievement", "payment")
FINANCE = "overall_project_finance_"


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


@dataclass
class Override:
    case_id: str
    klass: str
    reason: str
    source: str
    document: str = ""  # a document held in the study's corpus: its id, SHA-256 (or a prefix) or exact title
    page: int | None = None


@dataclass
class Classification:
    """Per-case classes with evidence; per-metric evidence; load warnings."""

    cases: pd.DataFrame
    metrics: pd.DataFrame
    tolerance: float
    warnings: list[str] = field(default_factory=list)
    sensitivity: pd.DataFrame | None = None  # case_id, class at each tolerance, changes
    rules: tuple[str, ...] = ("achievement", "payment")
    index: str = "median"

    def write_tables(self, folder: Path) -> list[Path]:
        """classification.csv (per case), classification-metrics.csv and, if any, classification-sensitivity.csv."""
        folder.mkdir(parents=True, exist_ok=True)
        tables = {"classification.csv": self.cases, "classification-metrics.csv": self.metrics}
        if self.sensitivity is not None:
            tables["classification-sensitivity.csv"] = self.sensitivity
        written = []
        for name, frame in tables.items():
            spreadsheet.to_csv(frame, folder / name)
            written.append(folder / name)
        return written

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
            if self.sensitivity is not None:
                classes = self.sensitivity.set_index("case_id").loc[row["case_id"]]
                entry["sensitivity"] = {column.removeprefix("class_at_"): classes[column]
                                        for column in self.sensitivity.columns if column.startswith("class_at_")}
                entry["changes_with_tolerance"] = bool(classes["changes"])
            out[row["case_id"]] = entry
        return out


def _json(value: object) -> object:
    value = _value(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return value
    return value


def read_overrides(path: Path, case_ids: Iterable[str]) -> tuple[dict[str, Override], list[str]]:
    """Manual overrides (case_id, class, reason, source, and optionally document and page: a passage of a
    document held in the study's corpus); bad rows become warnings, not errors."""
    wanted = set(case_ids)
    overrides: dict[str, Override] = {}
    warnings: list[str] = []
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise SibkitError(f"{path}: cannot read the overrides file ({exc})") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = {"case_id", "class"} - set(reader.fieldnames or [])
        if missing:
            raise SibkitError(f"{path}: overrides need the columns case_id, class, reason, source (document, page "
                              "optional) "
                              f"(missing: {', '.join(sorted(missing))})")
        for line, row in enumerate(reader, start=2):
            case_id = (row.get("case_id") or "").strip()
            klass = (row.get("class") or "").strip().lower()
            if case_id not in wanted:
                warnings.append(f"{path.name} row {line}: case {case_id!r} is not in the study; override ignored")
                continue
            if klass not in CLASSES:
                warnings.append(f"{path.name} row {line}: class {klass!r} is not one of {', '.join(CLASSES)}; "
                                "override ignored")
                continue
            if case_id in overrides:
                warnings.append(f"{path.name} row {line}: a second override for {case_id}; this later row wins")
            page_text = (row.get("page") or "").strip()
            page = None
            if page_text:
                if not page_text.isdigit() or int(page_text) < 1:
                    warnings.append(f"{path.name} row {line}: page {page_text!r} is not a page number (1, 2, ...); "
                                    "override kept without its page")
                else:
                    page = int(page_text)
            overrides[case_id] = Override(case_id, klass, (row.get("reason") or "").strip(),
                                          (row.get("source") or "").strip(), (row.get("document") or "").strip(), page)
    return overrides, warnings


_NEEDED = {
    "outcome_metrics": ["project_id", "id", "definition", "targeted_number_of_service_users_or_beneficiaries_total"],
    "results": ["project_id", "outcome_metric_id", "result_type", "period_start_date", "period_end_date",
                "outcomes_achieved"],
    "outcome_payments": ["project_id", "type", "money_amount", "money_amount_usd", "money_currency",
                         "outcome_metric_id", "period_start_date", "period_end_date"],
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


def _project(dataset: Dataset, project_id: str) -> dict[str, object]:
    records = dataset.cached("outcomes:projects", lambda: {
        row["id"]: row for row in dataset.projects[[c for c in dataset.projects.columns
                                                     if c in ("id", "name", "stage_development")
                                                     or c.startswith(FINANCE)]].to_dict("records")})
    return records[project_id]


def _latest(results: list[dict[str, object]]) -> dict[str, object] | None:
    """The final result, else the one with the latest period end (ties: the later row)."""
    finals = [r for r in results if str(_value(r["result_type"]) or "").casefold() == "final"]
    pool = finals or results
    if not pool:
        return None
    earliest = pd.Timestamp.min.date()
    return max(enumerate(pool), key=lambda item: (date_floor(item[1]["period_end_date"]) or earliest, item[0]))[1]


def achievement(dataset: Dataset, project_id: str) -> tuple[float | None, list[dict[str, object]]]:
    """The case's achievement ratio (median over metrics) and per-metric evidence."""
    results = _rows(dataset, "results", project_id)
    prices = {str(p["outcome_metric_id"]): p for p in _rows(dataset, "outcome_pricings", project_id)}
    evidence: list[dict[str, object]] = []
    ratios: list[float] = []
    for metric in _rows(dataset, "outcome_metrics", project_id):
        target = _number(metric["targeted_number_of_service_users_or_beneficiaries_total"])
        own = [r for r in results if r["outcome_metric_id"] == metric["id"]]
        numeric = [r for r in own if _number(r["outcomes_achieved"]) is not None]
        unparsed = [str(r["outcomes_achieved"]) for r in own if _number(r["outcomes_achieved"]) is None
                    and _value(r["outcomes_achieved"]) is not None and str(r["outcomes_achieved"]).strip()]
        chosen = _latest(numeric)
        achieved = _number(chosen["outcomes_achieved"]) if chosen is not None else None
        ratio = None
        if target is None:
            note = "no numeric target"
        elif target <= 0:
            note = "target is zero"
        elif chosen is None or achieved is None:
            note = ("outcomes achieved is text, not a number" if unparsed
                    else "no result with outcomes achieved" if own else "no result")
        else:
            ratio = achieved / target
            ratios.append(ratio)
            note = ""
        price = prices.get(str(metric["id"]), {})
        evidence.append({
            "metric_id": metric["id"], "definition": _value(metric["definition"]), "target": target,
            "price": _number(price.get("price_per_unit_amount")),
            "price_usd": _number(price.get("price_per_unit_amount_usd")),
            "price_currency": _value(price.get("currency")),
            "stated_maximum": _number(price.get("maximum_price_if_all_targets_achieved_amount")),
            "achieved": achieved, "result_type": _value(chosen["result_type"]) if chosen is not None else None,
            "period_end": _value(chosen["period_end_date"]) if chosen is not None else None,
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


def payment(dataset: Dataset, project_id: str) -> dict[str, object]:
    """Payments made, the maximum, the ratio and where each figure came from."""
    project = _project(dataset, project_id)
    actual = [p for p in _rows(dataset, "outcome_payments", project_id)
              if str(_value(p["type"]) or "").casefold() == "actual"]
    commitments = _rows(dataset, "outcome_payment_commitments", project_id)

    def column(records: list[dict[str, object]], name: str) -> list[object]:
        return [record[name] for record in records]

    made_options = [
        ("outcome payments of type Actual", column(actual, "money_amount"), column(actual, "money_amount_usd"),
         _currencies(column(actual, "money_currency")), len(actual) > 0),
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
                              "maximum_payment_from": None, "payment_currency": None, "payment_ratio": None}
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
    if numerator is not None and denominator:
        out["payment_ratio"] = numerator / denominator
    return out


def decide(ratios: dict[str, float | None], rules: Sequence[str], tolerance: float) -> tuple[str, str]:
    """(class, which rule decided) from the ratios, the rule order and the tolerance."""
    for rule in rules:
        ratio = _value(ratios.get(rule))  # NaN or NA: a missing ratio read back from a DataFrame
        if ratio is not None:
            return (SUCCESSFUL if ratio >= 1 - tolerance - 1e-12 else STRUGGLING), rule
    return INSUFFICIENT, "no outcome data"


def classify(dataset: Dataset, project_ids: Sequence[str], *, tolerance: float = 0.15,
             rules: Sequence[str] = ("achievement", "payment"), classify_in_implementation: bool = True,
             overrides: Path | str | None = None, sensitivity: Sequence[float] = (),
             index: str = "median") -> Classification:
    """Classify each named project; unknown ids are one clear error.

    ``index``: which reading of the outcome metrics the achievement rule uses (``median``, ``weighted``,
    ``share``; see ``indices``); the classes under the other two are kept beside it.
    """
    if index not in INDICES:
        raise SibkitError(f"unknown achievement index {index!r}; indices are {', '.join(INDICES)}")
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
    case_rows, metric_rows = [], []
    for pid in project_ids:
        ratio_a, evidence = achievement(dataset, pid)
        readings = indices(evidence)
        pay = payment(dataset, pid)
        project = _project(dataset, pid)
        stage = _value(project["stage_development"])
        by_index = {}
        for name in INDICES:
            by_index[name] = decide({"achievement": readings[INDEX_COLUMNS[name]], "payment": pay["payment_ratio"]},
                                    rules, tolerance)
        klass, decided_by = by_index[index]
        if not classify_in_implementation and str(stage or "").casefold() != "complete":
            klass, decided_by = INSUFFICIENT, f"not classified: stage {stage or 'unknown'}"
            by_index = {name: (INSUFFICIENT, decided_by) for name in INDICES}
        computed = klass
        override = manual.get(pid)
        if override:
            klass, decided_by = override.klass, "manual override"
        case_rows.append({
            "case_id": pid, "name": _value(project["name"]), "stage": stage,
            "achievement_ratio": ratio_a, "metrics_with_ratio": sum(e["ratio"] is not None for e in evidence),
            "metrics": len(evidence), **pay, "class": klass, "computed_class": computed, "decided_by": decided_by,
            "overridden": override is not None, "override_reason": override.reason if override else None,
            "override_source": override.source if override else None,
            "override_document": (override.document or None) if override else None,
            "override_page": override.page if override else None,
            "achievement_index": index, "weighted_index": readings["weighted_index"],
            "share_at_target": readings["share_at_target"], "metrics_weighted": readings["metrics_weighted"],
            **{f"class_by_{name}": by_index[name][0] for name in INDICES},
            "indices_disagree": len({by_index[name][0] for name in INDICES}) > 1,
        })
        metric_rows += [{"case_id": pid, **e} for e in evidence]
    cases = pd.DataFrame(case_rows)
    metrics = pd.DataFrame(metric_rows, columns=["case_id", "metric_id", "definition", "target", "achieved",
                                                 "result_type", "period_end", "ratio", "note", "results",
                                                 "unparsed_results", "unparsed_text", "price", "price_usd",
                                                 "price_currency", "stated_maximum", "max_payment",
                                                 "max_payment_from", "max_payment_currency", "weight"])
    result = Classification(cases=cases, metrics=metrics, tolerance=tolerance, warnings=warnings,
                            rules=tuple(rules), index=index)
    if sensitivity:
        result.sensitivity = sensitivity_table(cases, rules, sensitivity, index)
    return result


def sensitivity_table(cases: pd.DataFrame, rules: Sequence[str], tolerances: Sequence[float],
                      index: str = "median") -> pd.DataFrame:
    """The class of each case under each tolerance with the study's index (``class_at_<tolerance>``,
    and ``changes``), and under each index and tolerance (``class_<index>_at_<tolerance>``, and
    ``changes_with_index``: the class differs between indices at some tolerance). Overrides kept."""
    rows = []
    for row in cases.to_dict("records"):
        entry: dict[str, object] = {"case_id": row["case_id"]}
        grid: dict[str, object] = {}
        for name in INDICES:
            for tolerance in tolerances:
                klass, _ = decide({"achievement": row.get(INDEX_COLUMNS[name]), "payment": row["payment_ratio"]},
                                  rules, tolerance)
                if row["overridden"]:
                    klass = row["class"]
                elif row["decided_by"].startswith("not classified"):
                    klass = INSUFFICIENT
                grid[f"class_{name}_at_{tolerance:g}"] = klass
                if name == index:
                    entry[f"class_at_{tolerance:g}"] = klass
        entry["changes"] = len({v for k, v in entry.items() if k.startswith("class_at_")}) > 1
        entry.update(grid)
        entry["changes_with_index"] = any(
            len({grid[f"class_{name}_at_{tolerance:g}"] for name in INDICES}) > 1 for tolerance in tolerances)
        rows.append(entry)
    return pd.DataFrame(rows)
