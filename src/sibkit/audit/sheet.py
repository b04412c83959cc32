"""The audit sample as a sheet to mark outside the browser (``sibkit review audit -o``) and read back
(``--import``): one row per sentence, a ``themes`` cell to fill with theme ids (``;``-separated) or
``none``, and a fingerprint tying the row to its sentence (document, offsets, text)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sibkit import spreadsheet
from sibkit.audit.sample import mark, sampled_sentences, standing_marks
from sibkit.errors import SibkitError
from sibkit.store import Store, with_retry

SHEET = "audit"
COLUMNS = ["sentence_id", "document", "sentence", "themes", "note", "fingerprint"]


def fingerprint(sentence_id: int, document_id: int, start: int, end: int, digest: str) -> str:
    parts = [str(sentence_id), str(document_id), str(start), str(end), digest]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def export_sheet(store: Store, path: Path, coder: str | None = None) -> int:
    """Write the sampled sentences ``coder`` has not marked (all of them without a coder); returns how many."""
    marks = standing_marks(store)
    rows = []
    for s in sampled_sentences(store):
        if coder is not None and coder in marks.get(int(s["sentence_id"]), {}):  # type: ignore[arg-type]
            continue
        rows.append({"sentence_id": s["sentence_id"], "document": s["title"] or f"document {s['document_id']}",
                     "sentence": s["text"], "themes": "", "note": "",
                     "fingerprint": fingerprint(int(s["sentence_id"]), int(s["document_id"]),  # type: ignore[arg-type]
                                                int(s["start"]), int(s["end"]), str(s["digest"]))})  # type: ignore[arg-type]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            spreadsheet.safe_frame(frame).to_excel(writer, index=False, sheet_name=SHEET)
            sheet = writer.sheets[SHEET]
            for column, width in zip("ABCDEF", (10, 30, 100, 30, 30, 22), strict=True):
                sheet.column_dimensions[column].width = width
            sheet.freeze_panes = "A2"
            spreadsheet.cells_as_text(sheet)
    elif suffix == ".csv":
        spreadsheet.to_csv(frame, path)
    else:
        raise SibkitError(f"{path}: write the audit sheet as .xlsx or .csv")
    return len(frame)


def _read(path: Path) -> pd.DataFrame:
    from sibkit.coding.review import MAX_REVIEW_FILE_BYTES, _check_workbook

    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise SibkitError(f"{path}: audit sheets are .xlsx or .csv")
    try:
        if path.stat().st_size > MAX_REVIEW_FILE_BYTES:
            raise SibkitError(f"{path}: over the {MAX_REVIEW_FILE_BYTES:,} byte limit for a sheet")
        if suffix == ".xlsx":
            _check_workbook(path)
            frame = pd.read_excel(path, sheet_name=SHEET, dtype=str, engine="openpyxl")
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except SibkitError:
        raise
    except FileNotFoundError:
        raise SibkitError(f"{path}: no such file") from None
    except Exception as exc:  # a broken workbook or CSV: one line
        raise SibkitError(f"{path}: cannot read the audit sheet ({type(exc).__name__}: {str(exc)[:200]})") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    for needed in ("sentence_id", "themes", "fingerprint"):
        if needed not in frame.columns:
            raise SibkitError(f"{path}: no {needed!r} column (write the sheet with `sibkit review audit -o`)")
    return frame.fillna("").astype(str).map(spreadsheet.restore)


@dataclass
class SheetResult:
    marks: int = 0
    repeated: int = 0
    blank: int = 0
    problems: list[str] = field(default_factory=list)


def import_sheet(store: Store, path: Path, coder: str, themes: set[str]) -> SheetResult:
    """Append ``coder``'s mark of every filled row; a bad row is one problem line naming it, the others go
    on; all marks of the sheet are stored in one transaction (each row in a savepoint)."""
    from sibkit.coding.review import check_coder

    coder = check_coder(coder)
    frame = _read(path)
    known = {int(s["sentence_id"]): s for s in sampled_sentences(store)}  # type: ignore[arg-type]

    def work() -> SheetResult:
        result = SheetResult()
        with store.session(write=True) as session:
            for number, row in enumerate(frame.to_dict("records"), start=2):
                where = f"{path.name} row {number}"
                cell = row.get("themes", "").strip()
                if not cell:
                    result.blank += 1
                    continue
                try:
                    sentence_id = int(row["sentence_id"].strip())
                except ValueError:
                    result.problems.append(f"{where}: sentence_id {row['sentence_id'][:40]!r} is not a number")
                    continue
                sentence = known.get(sentence_id)
                if sentence is None or fingerprint(sentence_id, int(sentence["document_id"]),  # type: ignore[arg-type]
                                                   int(sentence["start"]), int(sentence["end"]),  # type: ignore[arg-type]
                                                   str(sentence["digest"])) != row["fingerprint"].strip():
                    result.problems.append(f"{where}: the fingerprint does not match audit sentence {sentence_id}; "
                                           "skipped (export the sheet again)")
                    continue
                try:
                    with session.begin_nested():
                        stored = mark(session, coder, sentence_id, cell.replace(",", ";").split(";"), themes,
                                      row.get("note", "").strip())
                except SibkitError as exc:
                    result.problems.append(f"{where}: {exc}; skipped")
                    continue
                if stored is None:
                    result.repeated += 1
                else:
                    result.marks += 1
        return result

    return with_retry(work, what="audit marks")
