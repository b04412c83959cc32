"""The review loop without the web: export unreviewed hits to XLSX or CSV, import decisions.

Every decision is appended (coder, time, decision) in one transaction per imported file; rows
that cannot be read are reported by row number and skipped, the others are kept.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from sibkit.coding.coder import as_store, kwic
from sibkit.errors import SibkitError
from sibkit.store import Document, Reference, ReviewDecision, Store
from sibkit.store.models import utcnow
from sibkit.study import Study

EXPORT_COLUMNS = ["id", "case_ids", "document", "page", "theme", "term", "context", "decision", "new_theme", "note"]
HIT_OPEN, HIT_CLOSE = "[[", "]]"
DECISIONS = ("accept", "reject", "recode")


def export_rows(store: Store | Study, *, theme: str | None = None, case_id: str | None = None, width: int = 80,
                include_reviewed: bool = False) -> pd.DataFrame:
    """One row per unreviewed hit, the hit marked [[like this]] in its context; decision empty."""
    table = kwic(store, theme, case_id, width)
    if not include_reviewed:
        table = table[~table["reviewed"]]
    return pd.DataFrame({
        "id": table["reference_id"], "case_ids": table["case_ids"].map(" ".join), "document": table["title"],
        "page": table["page"], "theme": table["theme"], "term": table["term"],
        "context": table["left"] + " " + HIT_OPEN + table["text"] + HIT_CLOSE + " " + table["right"],
        "decision": "", "new_theme": "", "note": "",
    }, columns=EXPORT_COLUMNS)


def write_review_file(frame: pd.DataFrame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            frame.to_excel(writer, index=False, sheet_name="review")
            sheet = writer.sheets["review"]
            for column, width in zip("ABCDEFGHIJ", (8, 18, 30, 6, 22, 20, 100, 10, 16, 30), strict=True):
                sheet.column_dimensions[column].width = width
            sheet.freeze_panes = "A2"
            for row in sheet.iter_rows(min_row=2):  # document text starting with "=" stays text, never a formula
                for cell in row:
                    if cell.data_type == "f":
                        cell.data_type = "s"
    elif suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        raise SibkitError(f"{path}: write the review file as .xlsx or .csv")


def read_review_file(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            frame = pd.read_excel(path, dtype=str, engine="openpyxl")
        elif suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            raise SibkitError(f"{path}: review files are .xlsx or .csv")
    except (OSError, ValueError) as exc:
        raise SibkitError(f"{path}: cannot read the review file ({exc})") from None
    return frame.fillna("")


@dataclass
class ImportResult:
    decisions: int = 0
    manual_references: int = 0
    problems: list[str] = field(default_factory=list)


def import_decisions(store: Store, path: Path, coder: str, themes: set[str],
                     now: dt.datetime | None = None) -> ImportResult:
    """Append each row's decision (accept, reject, recode to another theme, or a theme id meaning
    recode) for ``coder``; rows without an id but with document, start, end and theme add manual
    references, accepted by the coder."""
    coder = coder.strip()
    if not coder:
        raise SibkitError("--coder is required: decisions are stored with who made them")
    frame = read_review_file(path)
    if "decision" not in frame.columns:
        raise SibkitError(f"{path}: no 'decision' column; export a review file with `sibkit review export`")
    result = ImportResult()
    decided_at = now or utcnow()
    with store.session() as session:
        known_refs = set(session.scalars(select(Reference.id)))
        for line, row in enumerate(frame.to_dict("records"), start=2):
            where = f"{path.name} row {line}"
            decision = str(row.get("decision", "")).strip().lower()
            ref_text = str(row.get("id", "")).strip()
            if not decision and ref_text:
                continue  # not decided yet
            new_theme = str(row.get("new_theme", "")).strip() or None
            if decision in themes:
                decision, new_theme = "recode", decision
            if decision not in DECISIONS:
                result.problems.append(f"{where}: decision {decision!r} is not accept, reject, recode or a theme id")
                continue
            if decision == "recode" and (new_theme is None or new_theme not in themes):
                result.problems.append(f"{where}: recode needs new_theme, one of the codebook's themes "
                                       f"(got {new_theme!r})")
                continue
            if ref_text:
                try:
                    reference_id = int(float(ref_text))
                except ValueError:
                    result.problems.append(f"{where}: id {ref_text!r} is not a reference number")
                    continue
                if reference_id not in known_refs:
                    result.problems.append(f"{where}: reference {reference_id} is not in this study's database")
                    continue
            else:
                created = _manual_reference(session, row, themes, where, result)
                if created is None:
                    continue
                reference_id = created
                result.manual_references += 1
            session.add(ReviewDecision(reference_id=reference_id, coder=coder, decided_at=decided_at,
                                       decision=decision, new_theme=new_theme if decision == "recode" else None,
                                       note=str(row.get("note", "")).strip()))
            result.decisions += 1
    return result


def _manual_reference(session, row: dict, themes: set[str], where: str,  # type: ignore[no-untyped-def]
                      result: ImportResult) -> int | None:
    from sibkit.corpus.normalise import page_of

    try:
        document_id = int(float(str(row.get("document_id", "")).strip()))
        start = int(float(str(row.get("start", "")).strip()))
        end = int(float(str(row.get("end", "")).strip()))
    except ValueError:
        result.problems.append(f"{where}: a manual reference needs document_id, start and end as numbers")
        return None
    theme = str(row.get("theme", "")).strip()
    if theme not in themes:
        result.problems.append(f"{where}: theme {theme!r} is not in the codebook")
        return None
    document = session.get(Document, document_id)
    if document is None or not 0 <= start < end <= len(document.text):
        result.problems.append(f"{where}: document {document_id} has no characters {start}-{end}")
        return None
    reference = Reference(document_id=document_id, theme=theme, term=str(row.get("term", "")).strip() or "(manual)",
                          start=start, end=end, page=page_of(start, document.pages), origin="manual",
                          codebook_hash="")
    session.add(reference)
    session.flush()
    return reference.id


def decision_log(source: Store | Study) -> pd.DataFrame:
    """The whole review log, oldest first (``previous_id``: the same coder's decision this one follows,
    set by the workbench; for an undo, noted ``undo``, the decision it withdraws; ``clear`` withdraws a
    decision with none to restore)."""
    with as_store(source).session() as session:
        rows = session.execute(select(ReviewDecision.id, ReviewDecision.reference_id, ReviewDecision.coder,
                                      ReviewDecision.decided_at, ReviewDecision.decision, ReviewDecision.new_theme,
                                      ReviewDecision.note, ReviewDecision.previous_id)
                               .order_by(ReviewDecision.id)).all()
    return pd.DataFrame(rows, columns=["id", "reference_id", "coder", "decided_at", "decision", "new_theme", "note",
                                       "previous_id"]).astype({"previous_id": "Int64"})
