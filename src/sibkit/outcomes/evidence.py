"""The evidence template: one row per case with everything INDIGO holds about its outcomes, its
current class and why, and blank columns for the researcher's own judgement from an evaluation
(class, document, page, quote, reason); the study's ``outcomes.overrides`` reads it back.

``sibkit classify STUDY --evidence-template evidence.xlsx`` writes it (sheets ``evidence``,
``metrics`` and ``how to fill``); after filling in ``judgement_*`` cells, name the file in the study
(``outcomes: {overrides: evidence.xlsx}``); ``sibkit.outcomes.judgements`` reads it.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from sibkit import spreadsheet
from sibkit.errors import SibkitError
from sibkit.indigo import Dataset
from sibkit.outcomes.classify import INDEX_COLUMNS, Classification
from sibkit.outcomes.explain import explain, period_label
from sibkit.outcomes.judgements import JUDGEMENT_COLUMNS, SHEET
from sibkit.outcomes.rules import CLASSES, TARGET_KIND_LABELS

EVIDENCE_COLUMNS = ("case_id", "name", "indigo_stage", "evidence_stage", "current_class", "decided_by", "why",
                    "achievement_index", "achievement_value", "payment_ratio", "payments_made", "maximum_payment",
                    "payment_currency", "metrics", "payments_left_out", "targets_left_out", "documents_listed",
                    *JUDGEMENT_COLUMNS)
HOW_TO_FILL = (
    "One row per case. The columns up to documents_listed are what INDIGO holds and how sibkit classified it;",
    "change nothing there. To give your own judgement from an evaluation, fill the judgement_ columns:",
    f"judgement_class: one of {', '.join(CLASSES)} (required for the row to count);",
    "judgement_document: the document it rests on: a document held in the study's corpus (its id, SHA-256 or exact "
    "title) or any title or address;",
    "judgement_page: the page (1, 2, ...), judgement_quote: the passage, judgement_reason: why, in a sentence.",
    "Then name this file in the study: outcomes: {overrides: <this file>.xlsx}, and run sibkit classify or sibkit run.",
    "Rows with an empty judgement_class are left as sibkit classified them; a bad row is one warning and is ignored.",
)


def _clean(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _num(value: object, digits: int = 0) -> str:
    value = _clean(value)
    if value is None:
        return ""
    return f"{float(value):,.{digits}f}"  # type: ignore[arg-type]


def _metric_lines(account: dict[str, object]) -> str:
    lines = []
    for metric in account["metrics"]:  # type: ignore[union-attr]
        target = metric["target"]
        kind = TARGET_KIND_LABELS.get(str(metric["target_kind"]), "") if metric["target_kind"] else ""
        head = f"{metric['metric_id']}: " + (f"target {_num(target)} ({kind})" if target is not None
                                             else "no numeric target")
        if not metric["results"]:
            lines.append(head + "; no result recorded")
            continue
        result = max(metric["results"], key=lambda r: str(r["period_end"] or ""))
        chosen = metric["ratio"] is not None
        period = period_label(metric["period_start"], metric["period_end"])
        shown = (f"{metric['result_type'] or 'result'} for {period}: {_num(metric['achieved'])}" if chosen else
                 f"latest result for {result['period']}: {result['outcomes_achieved']}")
        ratio = f" = {float(metric['ratio']):.1%}" if chosen else f" (not compared: {metric['note']})"
        lines.append(f"{head}; {shown}{ratio}")
    return "\n".join(lines)


def evidence_rows(dataset: Dataset, classification: Classification,
                  documents: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ``evidence`` sheet as a DataFrame (``documents``: the selection's ``items``, to list each
    case's documents of the counted kinds; optional)."""
    rows = []
    for case in classification.cases.to_dict("records"):
        account = explain(dataset, classification, case["case_id"])
        payments_out = "\n".join(f"{period_label(p['period_start'], p['period_end'])}: {_num(p['amount'])} "
                                 f"{p['currency'] or ''} ({p['kind_label']}; note: {p['note'] or 'none'})"
                                 for p in account["payments_left_out"])  # type: ignore[union-attr]
        targets = classification.targets_left_out
        targets_out = "\n".join(f"{t['metric_id']}: {_num(t['target'])} ({t['kind_label']}: {t['why']})"
                                for t in targets[targets["case_id"] == case["case_id"]].to_dict("records"))
        listed = ""
        if documents is not None and len(documents):
            own = documents[(documents["case_id"] == case["case_id"]) & documents["counted"].astype(bool)]
            listed = "\n".join(f"{d['kind_label']}: {d['title'] or ''}" + (f" <{d['url']}>" if _clean(d["url"]) else "")
                               for d in own.to_dict("records"))
        rows.append({
            "case_id": case["case_id"], "name": case["name"], "indigo_stage": case["stage"],
            "evidence_stage": case["evidence_stage"], "current_class": case["class"],
            "decided_by": case["decided_by"], "why": account["why"],
            "achievement_index": classification.index,
            "achievement_value": _clean(case[INDEX_COLUMNS[classification.index]]),
            "payment_ratio": _clean(case["payment_ratio"]), "payments_made": _clean(case["payments_made"]),
            "maximum_payment": _clean(case["maximum_payment"]), "payment_currency": case["payment_currency"],
            "metrics": _metric_lines(account), "payments_left_out": payments_out, "targets_left_out": targets_out,
            "documents_listed": listed, **{column: None for column in JUDGEMENT_COLUMNS},
        })
    return pd.DataFrame(rows, columns=list(EVIDENCE_COLUMNS))


def write_evidence_template(dataset: Dataset, classification: Classification, path: Path,
                            documents: pd.DataFrame | None = None) -> Path:
    """Write the evidence workbook (``.xlsx``) for ``classification``; returns the path."""
    from openpyxl.styles import Alignment
    from openpyxl.worksheet.datavalidation import DataValidation

    if path.suffix.lower() != ".xlsx":
        raise SibkitError(f"{path}: the evidence template is an .xlsx workbook")
    frame = evidence_rows(dataset, classification, documents)
    metric_columns = ["case_id", "metric_id", "definition", "target", "target_kind", "target_kind_why", "achieved",
                      "result_type", "period_start", "period_end", "result_stage", "compared_with", "ratio", "note"]
    metrics = classification.metrics[[c for c in metric_columns if c in classification.metrics.columns]]
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        spreadsheet.safe_frame(frame).to_excel(writer, index=False, sheet_name=SHEET)
        spreadsheet.safe_frame(metrics).to_excel(writer, index=False, sheet_name="metrics")
        pd.DataFrame({"how to fill the evidence sheet": list(HOW_TO_FILL)}).to_excel(
            writer, index=False, sheet_name="how to fill")
        sheet = writer.sheets[SHEET]
        widths = {"case_id": 17, "name": 30, "why": 50, "metrics": 70, "payments_left_out": 40,
                  "targets_left_out": 40, "documents_listed": 60, "judgement_quote": 50, "judgement_reason": 40,
                  "judgement_document": 30}
        for number, column in enumerate(frame.columns, start=1):
            letter = sheet.cell(row=1, column=number).column_letter
            sheet.column_dimensions[letter].width = widths.get(column, 16)
            if column in ("why", "metrics", "payments_left_out", "targets_left_out", "documents_listed"):
                for cell in sheet[letter][1:]:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.freeze_panes = "B2"
        choose = DataValidation(type="list", formula1='"' + ",".join(CLASSES) + '"', allow_blank=True)
        letter = sheet.cell(row=1, column=frame.columns.get_loc("judgement_class") + 1).column_letter
        choose.add(f"{letter}2:{letter}{max(2, len(frame) + 1)}")
        sheet.add_data_validation(choose)
        for name in (SHEET, "metrics", "how to fill"):
            spreadsheet.cells_as_text(writer.sheets[name])
    return path
