"""The researcher's own judgements of a case's class (manual overrides), from the file the study's
``outcomes.overrides`` names: a CSV (columns case_id, class, reason, source, and optionally document,
page, quote) or the evidence workbook ``sibkit classify --evidence-template`` writes (sheet
``evidence``, columns ``judgement_class``, ``judgement_document``, ``judgement_page``,
``judgement_quote``, ``judgement_reason``). A bad row is one warning line naming the row, the case
and what is wrong, and is ignored; the other rows go on."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sibkit import spreadsheet
from sibkit.errors import SibkitError
from sibkit.outcomes.rules import CLASSES

SHEET = "evidence"
MAX_EVIDENCE_FILE_BYTES = 50 * 1024 * 1024
JUDGEMENT_COLUMNS = ("judgement_class", "judgement_document", "judgement_page", "judgement_quote",
                     "judgement_reason")


@dataclass
class Override:
    case_id: str
    klass: str
    reason: str
    source: str
    document: str = ""  # a document held in the study's corpus: its id, SHA-256 (or a prefix) or exact title
    page: int | None = None
    quote: str = ""  # the passage of the document the judgement rests on


def read_overrides(path: Path, case_ids: Iterable[str]) -> tuple[dict[str, Override], list[str]]:
    """Manual overrides from a CSV or an evidence workbook (by the file's suffix)."""
    if path.suffix.lower() == ".xlsx":
        return read_evidence_workbook(path, case_ids)
    return read_overrides_csv(path, case_ids)


def read_overrides_csv(path: Path, case_ids: Iterable[str]) -> tuple[dict[str, Override], list[str]]:
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
                                          (row.get("source") or "").strip(), (row.get("document") or "").strip(), page,
                                          (row.get("quote") or "").strip())
    return overrides, warnings


def _page(text: str) -> int | str | None:
    """A page number from a cell (``12``, or ``12.0`` as a spreadsheet stores it); a string saying
    what is wrong otherwise; None when empty."""
    text = text.strip()
    if not text:
        return None
    if text.endswith(".0"):
        text = text[:-2]
    if not text.isdigit() or int(text) < 1 or len(text) > 6:
        return f"page {text!r} is not a page number (1, 2, ...)"
    return int(text)


def read_evidence_workbook(path: Path, case_ids: Iterable[str]) -> tuple[dict[str, Override], list[str]]:
    """Overrides from the filled ``judgement_*`` columns of an evidence workbook; each bad row is one
    warning (and is ignored), a file that cannot be read is one ``SibkitError`` line."""
    wanted = set(case_ids)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SibkitError(f"{path}: cannot read the evidence workbook ({exc.strerror or exc})") from None
    if size > MAX_EVIDENCE_FILE_BYTES:
        raise SibkitError(f"{path}: {size:,} bytes, over the {MAX_EVIDENCE_FILE_BYTES:,} byte limit for an evidence "
                          "workbook")
    spreadsheet.check_workbook(path, MAX_EVIDENCE_FILE_BYTES)
    try:
        frame = pd.read_excel(path, sheet_name=SHEET, dtype=str, engine="openpyxl")
    except ValueError as exc:
        if f"'{SHEET}'" in str(exc) or "not found" in str(exc):
            raise SibkitError(f"{path}: no sheet named {SHEET!r}; write the template with `sibkit classify STUDY "
                              "--evidence-template FILE.xlsx`") from None
        raise SibkitError(f"{path}: cannot read the evidence workbook ({str(exc).splitlines()[0][:200]})") from None
    except Exception as exc:  # a damaged workbook: one line, not a traceback
        raise SibkitError(f"{path}: cannot read the evidence workbook ({type(exc).__name__})") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in ("case_id", "judgement_class") if c not in frame.columns]
    if missing:
        raise SibkitError(f"{path}: the {SHEET} sheet needs the columns case_id and judgement_class "
                          f"(missing: {', '.join(missing)})")
    frame = frame.fillna("").astype(str).map(spreadsheet.restore)
    overrides: dict[str, Override] = {}
    warnings: list[str] = []
    for line, row in enumerate(frame.to_dict("records"), start=2):
        case_id = row["case_id"].strip()
        cells = {c: row.get(c, "").strip() for c in JUDGEMENT_COLUMNS}
        where = f"{path.name} row {line}" + (f" ({case_id})" if case_id else "")
        if not any(cells.values()):
            continue
        klass = cells["judgement_class"].casefold()
        if not klass:
            warnings.append(f"{where}: a judgement without judgement_class; row ignored")
            continue
        if case_id not in wanted:
            warnings.append(f"{where}: case {case_id!r} is not in the study; row ignored")
            continue
        if klass not in CLASSES:
            warnings.append(f"{where}: judgement_class {cells['judgement_class']!r} is not one of "
                            f"{', '.join(CLASSES)}; row ignored")
            continue
        page = _page(cells["judgement_page"])
        if isinstance(page, str):
            warnings.append(f"{where}: {page}; row ignored")
            continue
        if page is not None and not cells["judgement_document"]:
            warnings.append(f"{where}: a page without judgement_document; row ignored")
            continue
        if case_id in overrides:
            warnings.append(f"{where}: a second judgement for {case_id}; this later row wins")
        document = cells["judgement_document"]
        reason = cells["judgement_reason"] or ("the researcher's judgement from " + document if document
                                               else "the researcher's judgement")
        overrides[case_id] = Override(case_id, klass, reason, document or path.name, document, page,
                                      cells["judgement_quote"])
    return overrides, warnings
