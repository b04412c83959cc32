"""Why a case has its class: every metric, target, result by period, payment, the rule that decided
and, for *insufficient data*, exactly which evidence is missing."""

from __future__ import annotations

import math

from sibkit.errors import SibkitError
from sibkit.indigo import Dataset
from sibkit.outcomes.classify import (
    INDEX_COLUMNS,
    INDEX_LABELS,
    INDICES,
    INSUFFICIENT,
    Classification,
    _number,
    _rows,
    _value,
)


def _clean(value: object) -> object:
    value = _value(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def explain(dataset: Dataset, classification: Classification, case_id: str) -> dict[str, object]:
    """The whole account of one classified case, as plain values (JSON-ready)."""
    cases = classification.cases.set_index("case_id")
    if case_id not in cases.index:
        shown = ", ".join(list(cases.index)[:5]) + (", ..." if len(cases) > 5 else "")
        raise SibkitError(f"{case_id} is not among the classified cases ({len(cases)} cases: {shown})")
    case = {k: _clean(v) for k, v in cases.loc[case_id].to_dict().items()}
    metrics = classification.metrics[classification.metrics["case_id"] == case_id]
    results = _rows(dataset, "results", case_id)
    payments = _rows(dataset, "outcome_payments", case_id)
    threshold = 1 - classification.tolerance
    metric_accounts = []
    for metric in metrics.to_dict("records"):
        own = [r for r in results if r["outcome_metric_id"] == metric["metric_id"]]
        paid = [p for p in payments if _value(p["outcome_metric_id"]) == metric["metric_id"]]
        metric_accounts.append({
            **{k: _clean(metric[k]) for k in ("metric_id", "definition", "target", "price", "price_currency",
                                              "max_payment", "max_payment_from", "max_payment_currency", "weight",
                                              "achieved", "result_type", "period_end", "ratio", "note")},
            "results": [{"type": _clean(r["result_type"]), "period_start": _clean(r["period_start_date"]),
                         "period_end": _clean(r["period_end_date"]),
                         "outcomes_achieved": _clean(r["outcomes_achieved"]),
                         "number": _number(r["outcomes_achieved"])} for r in own],
            "payments": [{"type": _clean(p["type"]), "period_end": _clean(p["period_end_date"]),
                          "amount": _number(p["money_amount"]), "currency": _clean(p["money_currency"])} for p in paid],
        })
    unlinked = [{"type": _clean(p["type"]), "period_end": _clean(p["period_end_date"]),
                 "amount": _number(p["money_amount"]), "currency": _clean(p["money_currency"])}
                for p in payments if _value(p["outcome_metric_id"]) is None]
    readings = {name: {"label": INDEX_LABELS[name], "value": case.get(INDEX_COLUMNS[name]),
                       "class": case.get(f"class_by_{name}")} for name in INDICES}
    rules = []
    for rule in classification.rules:
        if rule == "achievement":
            value, label = case.get(INDEX_COLUMNS[classification.index]), INDEX_LABELS[classification.index]
        else:
            value, label = case.get("payment_ratio"), "payment ratio (payments made / maximum)"
        rules.append({"rule": rule, "reads": label, "value": value,
                      "verdict": None if value is None else (
                          f"{value:.3f} >= {threshold:.2f}: successful" if value >= threshold - 1e-12
                          else f"{value:.3f} < {threshold:.2f}: struggling")})
    why = _why(case, rules, classification.tolerance)
    account = {"case_id": case_id, "name": case.get("name"), "stage": case.get("stage"), "class": case["class"],
               "computed_class": case["computed_class"], "decided_by": case["decided_by"], "why": why,
               "tolerance": classification.tolerance, "index": classification.index, "rules": rules,
               "indices": readings, "metrics": metric_accounts, "payments_not_linked_to_a_metric": unlinked,
               "payments": {k: case.get(k) for k in ("payments_made", "payments_made_from", "maximum_payment",
                                                      "maximum_payment_from", "payment_currency", "payment_ratio")},
               "override": ({k: case.get(f"override_{k}") for k in ("reason", "source", "document", "page")}
                            if case.get("overridden") else None)}
    account["missing"] = missing_evidence(account) if case["computed_class"] == INSUFFICIENT else []
    return account


def _why(case: dict[str, object], rules: list[dict[str, object]], tolerance: float) -> str:
    if case.get("overridden"):
        return (f"a manual override sets {case['class']} (computed: {case['computed_class']}): "
                f"{case.get('override_reason') or 'no reason given'}")
    if str(case["decided_by"]).startswith("not classified"):
        return f"{case['decided_by']} (the study classifies completed projects only)"
    skipped = [r["rule"] for r in rules if r["value"] is None]
    for rule in rules:
        if rule["value"] is not None:
            before = f"{', '.join(skipped)} had no value; " if skipped else ""
            return (f"{before}the {rule['rule']} rule decided: {rule['reads']} {rule['verdict']} "
                    f"(tolerance {tolerance:g})")
    return "no rule had a value: " + "; ".join(f"{r['rule']} ({r['reads']}) missing" for r in rules)


def missing_evidence(account: dict[str, object]) -> list[str]:
    """What INDIGO would need to hold for the case to be classified."""
    missing = []
    metrics = account["metrics"]
    if not metrics:
        missing.append("no outcome metrics recorded (projects_outcome_metrics): no target to compare results with")
    for metric in metrics:  # type: ignore[union-attr]
        if metric["ratio"] is None:
            label = f"metric {metric['metric_id']}"
            if metric["target"] is None:
                missing.append(f"{label}: no numeric target (targeted number of service users or beneficiaries)")
            elif metric["target"] <= 0:
                missing.append(f"{label}: the target is zero")
            if not metric["results"]:
                missing.append(f"{label}: no result recorded (projects_results)")
            elif all(r["number"] is None for r in metric["results"]):
                missing.append(f"{label}: {len(metric['results'])} result(s) but none gives outcomes achieved "
                               "as a number")
    if account["index"] == "weighted" and metrics and not any(m["weight"] for m in metrics):  # type: ignore[union-attr]
        missing.append("weighted index: no metric with both a ratio and a price (projects_outcome_pricings)")
    payments = account["payments"]
    if payments["payments_made"] is None:  # type: ignore[index]
        missing.append("no outcome payments made (payments of type Actual, the project's total outcome payments "
                       "made, or commitments' payments made)")
    if payments["maximum_payment"] is None:  # type: ignore[index]
        missing.append("no maximum potential outcome payment (the project's, or its commitments')")
    return missing


def explain_lines(account: dict[str, object]) -> list[str]:
    """The account as lines of text for the terminal."""
    lines = [f"{account['case_id']} {account['name'] or ''} (stage {account['stage'] or 'unknown'})",
             f"class: {account['class']}" + (f" (computed: {account['computed_class']})"
                                             if account["class"] != account["computed_class"] else ""),
             f"why: {account['why']}", ""]
    lines.append(f"Rules in order (tolerance {account['tolerance']:g}, achievement reads the "
                 f"{account['index']} index):")
    for rule in account["rules"]:  # type: ignore[union-attr]
        lines.append(f"  {rule['rule']}: {rule['reads']}: {rule['verdict'] or 'no value'}")
    lines.append("Indices:")
    for reading in account["indices"].values():  # type: ignore[union-attr]
        value = reading["value"]
        lines.append(f"  {reading['label']}: {'–' if value is None else f'{value:.3f}'} -> {reading['class']}")
    lines.append(f"Outcome metrics ({len(account['metrics'])}):")  # type: ignore[arg-type]
    for metric in account["metrics"]:  # type: ignore[union-attr]
        weight = f", weight {metric['weight']:.3f}" if metric["weight"] is not None else ""
        price = (f", price {metric['price']:,.2f} {metric['price_currency'] or ''}".rstrip()
                 if metric["price"] is not None else ", no price")
        ratio = f"ratio {metric['ratio']:.3f}" if metric["ratio"] is not None else f"no ratio ({metric['note']})"
        lines.append(f"  {metric['metric_id']}: {_short(metric['definition'])}")
        lines.append(f"    target {_fmt(metric['target'])}{price}, maximum payment {_fmt(metric['max_payment'])}"
                     f"{weight}; {ratio}")
        for result in metric["results"]:
            lines.append(f"    result {result['type'] or '?'} {result['period_start'] or '?'} to "
                         f"{result['period_end'] or '?'}: {result['outcomes_achieved']}")
        for paid in metric["payments"]:
            lines.append(f"    payment {paid['type'] or '?'} to {paid['period_end'] or '?'}: {_fmt(paid['amount'])} "
                         f"{paid['currency'] or ''}".rstrip())
    pay = account["payments"]
    lines.append(f"Payments: made {_fmt(pay['payments_made'])} ({pay['payments_made_from'] or 'none found'}), "  # type: ignore[index]
                 f"maximum {_fmt(pay['maximum_payment'])} ({pay['maximum_payment_from'] or 'none found'}), "  # type: ignore[index]
                 f"ratio {_fmt(pay['payment_ratio'], 3)}")  # type: ignore[index]
    if account["override"]:
        o = account["override"]
        where = f"; document {o['document']}" + (f" p. {o['page']}" if o["page"] else "") if o["document"] else ""  # type: ignore[index]
        lines.append(f"Override: {o['reason'] or ''} ({o['source'] or 'no source'}{where})")  # type: ignore[index]
    if account["missing"]:
        lines.append("Missing evidence:")
        lines += [f"  - {item}" for item in account["missing"]]  # type: ignore[union-attr]
    return lines


def _fmt(value: object, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{float(value):,.{digits}f}"  # type: ignore[arg-type]


def _short(text: object, limit: int = 100) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
