"""Why a case has its class: every metric, target, result by period, payment, the rule that decided
and, for *insufficient data*, exactly which evidence is missing."""

from __future__ import annotations

import math

from sibkit.errors import SibkitError
from sibkit.indigo import Dataset
from sibkit.indigo.values import date_floor
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
from sibkit.outcomes.rules import TARGET_KIND_LABELS


def _clean(value: object) -> object:
    value = _value(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


_QUARTERS = {(1, 3): 1, (4, 6): 2, (7, 9): 3, (10, 12): 4}


def period_label(start: object, end: object) -> str:
    """A result's period in words: ``2021-Q3`` (a calendar quarter), ``2021-07`` (one month), ``2021``
    (a calendar year), else ``2020-08 to 2024-09``; ``to 2024-09`` without a start."""
    first, last = date_floor(_clean(start)), date_floor(_clean(end))
    if last is None:
        return f"from {_clean(start)}" if first is not None else "an unknown period"
    if first is None:
        return f"to {str(_clean(end))[:7]}"
    if first.year == last.year and (first.month, last.month) in _QUARTERS:
        return f"{last.year}-Q{_QUARTERS[(first.month, last.month)]}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{last.year}-{last.month:02d}"
    if first.year == last.year and (first.month, last.month) == (1, 12):
        return str(last.year)
    return f"{first.year}-{first.month:02d} to {last.year}-{last.month:02d}"


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
            **{k: _clean(metric[k]) for k in ("metric_id", "definition", "target", "target_kind", "target_kind_why",
                                              "price", "price_currency", "max_payment", "max_payment_from",
                                              "max_payment_currency", "weight", "achieved", "result_type",
                                              "period_start", "period_end", "result_stage", "elapsed_share",
                                              "compared_with", "ratio", "note")},
            "results": [{"type": _clean(r["result_type"]), "period_start": _clean(r["period_start_date"]),
                         "period_end": _clean(r["period_end_date"]),
                         "period": period_label(r["period_start_date"], r["period_end_date"]),
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
    left_out = classification.payments_left_out
    account = {"case_id": case_id, "name": case.get("name"), "stage": case.get("stage"),
               "evidence_stage": case.get("evidence_stage"), "class": case["class"],
               "computed_class": case["computed_class"], "decided_by": case["decided_by"], "why": why,
               "tolerance": classification.tolerance, "index": classification.index, "rules": rules,
               "interim": classification.interim, "target_kinds": list(classification.target_kinds),
               "payment_kinds": list(classification.payment_kinds),
               "indices": readings, "metrics": metric_accounts, "payments_not_linked_to_a_metric": unlinked,
               "payments": {k: case.get(k) for k in ("payments_made", "payments_made_from", "maximum_payment",
                                                      "maximum_payment_from", "payment_currency", "payment_ratio",
                                                      "payment_stage", "payment_elapsed_share", "payment_note")},
               "payments_left_out": [{k: _clean(v) for k, v in row.items() if k != "case_id"} for row in
                                     left_out[left_out["case_id"] == case_id].to_dict("records")],
               "override": ({k: case.get(f"override_{k}") for k in ("reason", "source", "document", "page", "quote")}
                            if case.get("overridden") else None)}
    account["missing"] = missing_evidence(account) if case["computed_class"] == INSUFFICIENT else []
    return account


def _why(case: dict[str, object], rules: list[dict[str, object]], tolerance: float) -> str:
    if case.get("overridden"):
        return (f"a manual override sets {case['class']} (computed: {case['computed_class']}): "
                f"{case.get('override_reason') or 'no reason given'}")
    if str(case["decided_by"]).startswith("not classified"):
        return f"{case['decided_by']} (the study classifies completed projects only)"
    skipped: list[str] = []  # rules before the deciding one, passed over for want of a value
    for rule in rules:
        if rule["value"] is None:
            skipped.append(str(rule["rule"]))
            continue
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


def _number_text(value: object) -> str:
    if value is None:
        return "–"
    number = float(value)  # type: ignore[arg-type]
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.2f}"


def _result_line(metric: dict[str, object], result: dict[str, object]) -> str:
    """``result for 2021-Q3 (interim): 41 of a target of 50 = 82.0% (compared)``."""
    kind = f" ({str(result['type']).lower()})" if result["type"] else ""
    head = f"result for {result['period']}{kind}: "
    if result["number"] is None:
        return head + f"{_short(result['outcomes_achieved'], 60) or 'no number'} (not a number)"
    text = head + _number_text(result["number"])
    target = metric["target"]
    if target is not None and target > 0:  # type: ignore[operator]
        text += f" of a target of {_number_text(target)}"
    chosen = (metric["ratio"] is not None and result["number"] == metric["achieved"]
              and result["period_end"] == metric["period_end"] and result["type"] == metric["result_type"])
    if chosen:
        compared = metric["compared_with"]
        if compared is not None and target is not None and abs(float(compared) - float(target)) > 1e-9:  # type: ignore[arg-type]
            text += f", compared with {_number_text(compared)} pro rata"
        text += f" = {float(metric['ratio']):.1%} (compared)"  # type: ignore[arg-type]
    return text


def explain_lines(account: dict[str, object]) -> list[str]:
    """The account in words, for the terminal: what decided, each metric's target and its kind, every
    result by period ("result for 2021-Q3: 41 of a target of 50"), "no result recorded", payments and
    what was left out."""
    stage = f"; evidence {account['evidence_stage']}" if account.get("evidence_stage") else ""
    lines = [f"{account['case_id']} {account['name'] or ''} (stage {account['stage'] or 'unknown'}{stage})",
             f"class: {account['class']}" + (f" (computed: {account['computed_class']})"
                                             if account["class"] != account["computed_class"] else ""),
             f"why: {account['why']}", ""]
    rules = account["rules"]
    lines.append(f"Rules in order ({' first, then '.join(r['rule'] for r in rules)}; "  # type: ignore[union-attr]
                 f"tolerance {account['tolerance']:g}; achievement reads the {account['index']} index; "
                 f"interim results: {str(account.get('interim', 'flag')).replace('_', ' ')}):")
    decided = False
    for rule in rules:  # type: ignore[union-attr]
        if rule["verdict"] is None:
            lines.append(f"  {rule['rule']}: {rule['reads']}: no value")
            continue
        note = "" if not decided else " (not used: an earlier rule decided)"
        lines.append(f"  {rule['rule']}: {rule['reads']} {rule['verdict']}{note}")
        decided = True
    lines.append("Indices:")
    for reading in account["indices"].values():  # type: ignore[union-attr]
        value = reading["value"]
        lines.append(f"  {reading['label']}: {'–' if value is None else f'{value:.3f}'} -> {reading['class']}")
    compared_kinds = ", ".join(TARGET_KIND_LABELS[k] for k in account.get("target_kinds", []))  # type: ignore[union-attr]
    lines.append(f"Outcome metrics ({len(account['metrics'])}; targets compared: {compared_kinds or 'none'}):")  # type: ignore[arg-type]
    for metric in account["metrics"]:  # type: ignore[union-attr]
        lines.append(f"  {metric['metric_id']}: {_short(metric['definition'])}")
        left = ""
        if metric["target"] is None:
            lines.append("    no numeric target")
        else:
            kind = metric.get("target_kind")
            label = TARGET_KIND_LABELS.get(str(kind), "no kind") if kind else "no kind"
            left = " — left out" if str(metric["note"] or "").startswith("target left out") else ""
            why = metric.get("target_kind_why")
            lines.append(f"    target {_number_text(metric['target'])} ({label}: {why}){left}")
        price = (f"price {metric['price']:,.2f} {metric['price_currency'] or ''}".rstrip()
                 if metric["price"] is not None else "no price")
        weight = f", weight {metric['weight']:.3f}" if metric["weight"] is not None else ""
        lines.append(f"    {price}, maximum payment {_fmt(metric['max_payment'])}{weight}")
        if not metric["results"]:
            lines.append("    no result recorded")
        for result in metric["results"]:
            lines.append("    " + _result_line(metric, result))
        if metric["ratio"] is None and metric["results"] and metric["target"] is not None and not left:
            lines.append(f"    not compared: {metric['note']}")
        elif metric["ratio"] is not None and metric["note"]:
            lines.append(f"    {metric['note']}")
        for paid in metric["payments"]:
            lines.append(f"    payment {paid['type'] or '?'} to {paid['period_end'] or '?'}: {_fmt(paid['amount'])} "
                         f"{paid['currency'] or ''}".rstrip())
    pay = account["payments"]
    currency = f" {pay['payment_currency']}" if pay["payment_currency"] else ""  # type: ignore[index]
    lines.append(f"Payments: {_fmt(pay['payments_made'])}{currency} made "  # type: ignore[index]
                 f"({pay['payments_made_from'] or 'none found'}) of a maximum of "  # type: ignore[index]
                 f"{_fmt(pay['maximum_payment'])}{currency} ({pay['maximum_payment_from'] or 'none found'}): "  # type: ignore[index]
                 f"ratio {_fmt(pay['payment_ratio'], 3)}; payment evidence {pay.get('payment_stage') or 'unknown'}"  # type: ignore[union-attr]
                 + (f"; {pay['payment_note']}" if pay.get("payment_note") else ""))  # type: ignore[union-attr]
    left_out = account.get("payments_left_out") or []
    if left_out:
        lines.append(f"Payments left out ({len(left_out)}; counted kinds: "  # type: ignore[arg-type]
                     f"{', '.join(account.get('payment_kinds', []))}):")  # type: ignore[arg-type]
        for item in left_out:  # type: ignore[union-attr]
            lines.append(f"  {period_label(item['period_start'], item['period_end'])}: {_fmt(item['amount'])} "
                         f"{item['currency'] or ''} — {item['kind_label']} (note: {item['note'] or 'none'})")
    if account["override"]:
        o = account["override"]
        where = f"; document {o['document']}" + (f" p. {o['page']}" if o["page"] else "") if o["document"] else ""  # type: ignore[index]
        quote = f' — "{_short(o["quote"], 160)}"' if o.get("quote") else ""  # type: ignore[union-attr]
        lines.append(f"Override: {o['reason'] or ''} ({o['source'] or 'no source'}{where}){quote}")  # type: ignore[index]
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
