"""The review loop without the web: export unreviewed hits to XLSX or CSV, import decisions.

Every decision is appended (coder, time, decision) in one transaction per imported file; rows
that cannot be read, or no longer match the hit they were exported for (a fingerprint of the
reference and of what the row showed), are reported by row number and skipped, the others are
kept. Importing a file twice appends nothing the second time.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from sibkit import spreadsheet
from sibkit.coding.coder import as_store, kwic
from sibkit.errors import SibkitError, in_one_line
from sibkit.store import Document, Reference, ReviewDecision, Store, Suggestion, among, with_retry
from sibkit.store.models import utcnow
from sibkit.study import Study
from sibkit.text.structure import ZONE_WORDS
from sibkit.words import counted

EXPORT_COLUMNS = ["id", "case_ids", "document", "page", "theme", "term", "score", "negated", "zone", "context",
                  "decision", "new_theme", "note", "fingerprint"]
HIT_OPEN, HIT_CLOSE = "[[", "]]"
#: ``overrule``: accept, and count the hit despite its negation or its zone (a reference list, a table of
#: contents, a running header, a repeated sentence); a plain accept of such a hit leaves it uncounted
DECISIONS = ("accept", "reject", "recode", "overrule")
#: the sheet a review workbook is read from (by name, never "the first sheet")
SHEET = "review"
MAX_REVIEW_FILE_BYTES = 200 * 1024 * 1024
MAX_NOTE_CHARS = 10_000
MAX_CODER_CHARS = 80
_COUNT = re.compile(r"\+?(\d{1,15})(?:\.0*)?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def fingerprint(reference_id: int, document_id: int, start: int, end: int, theme: str, term: str,
                cells: dict[str, str]) -> str:
    """A short hash tying an exported row to its reference (document, offsets, theme, term) and to
    what the row showed the reviewer (document title, theme, term, context)."""
    parts = [str(reference_id), str(document_id), str(start), str(end), theme, term,
             *(str(cells.get(name, "")) for name in ("document", "theme", "term", "context"))]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:20]


def export_rows(store: Store | Study, *, theme: str | None = None, case_id: str | None = None, width: int = 80,
                include_reviewed: bool = False) -> pd.DataFrame:
    """One row per unreviewed hit, the hit marked [[like this]] in its context; ``negated`` ("yes" when
    the hit lies in a negated clause) and ``zone`` (empty for the document's body, else where it lies:
    reference list, table of contents, running header, repeated sentence) say why it would not count
    as it stands; decision empty; a fingerprint that import checks so a decision cannot land on another hit.

    Keyword hits come first, in document order; then suggestions (``sibkit suggest``), marked
    ``(suggested)`` in the term column, best first by their score: the probability of acceptance
    learned from review decisions where the theme has enough of them, else the similarity score."""
    store = as_store(store)
    table = kwic(store, theme, case_id, width)
    if not include_reviewed and len(table):
        table = table[~table["reviewed"].astype(bool)]
    if table.empty:
        return pd.DataFrame(columns=EXPORT_COLUMNS)
    with store.session() as session:
        rows = session.execute(select(Suggestion.reference_id, Suggestion.score, Suggestion.rank_score,
                                      Suggestion.paragraph_start, Suggestion.paragraph_end, Reference.document_id,
                                      Reference.start, Reference.end)
                               .join(Reference, Reference.id == Suggestion.reference_id)
                               .where(among(Suggestion.reference_id, table["reference_id"]))).all()
        texts = dict(session.execute(select(Document.id, Document.text).where(
            among(Document.id, sorted({row.document_id for row in rows})))).all())
    suggested = {row.reference_id: row for row in rows}
    score = table["reference_id"].map({r.reference_id: r.rank_score if r.rank_score is not None else r.score
                                       for r in rows})
    table = table.assign(score=score.round(3), suggested=score.notna())
    if suggested:  # a suggested sentence is shown in its paragraph (up to three times the width either side)
        left, right = table["left"].tolist(), table["right"].tolist()
        for position, reference_id in enumerate(table["reference_id"]):
            row = suggested.get(reference_id)
            if row is not None:
                text, start, end = texts[row.document_id], row.start, row.end
                left[position] = " ".join(text[max(row.paragraph_start, start - 3 * width):start].split())
                right[position] = " ".join(text[end:min(row.paragraph_end, end + 3 * width)].split())
        table = table.assign(left=left, right=right)
    table = table.sort_values(["suggested", "score"], ascending=[True, False], kind="stable")
    frame = pd.DataFrame({
        "id": table["reference_id"], "case_ids": table["case_ids"].map(" ".join), "document": table["title"],
        "page": table["page"], "theme": table["theme"], "term": table["term"], "score": table["score"],
        "negated": table["negated"].map({True: "yes", False: ""}),
        "zone": table["zone"].map(lambda zone: "" if zone == "body" else ZONE_WORDS.get(zone, zone)),
        "context": table["left"] + " " + HIT_OPEN + table["text"] + HIT_CLOSE + " " + table["right"],
        "decision": "", "new_theme": "", "note": "", "fingerprint": "",
    }, columns=EXPORT_COLUMNS).reset_index(drop=True)
    identities = _identities(as_store(store), [int(i) for i in frame["id"]])
    frame["fingerprint"] = [
        fingerprint(int(row["id"]), *identities[int(row["id"])], cells={k: str(row[k]) for k in row})
        for row in frame.to_dict("records")]
    return frame


def _identities(store: Store, ids: list[int]) -> dict[int, tuple[int, int, int, str, str]]:
    """reference id -> (document id, start, end, theme, term), read in batches."""
    found: dict[int, tuple[int, int, int, str, str]] = {}
    with store.session() as session:
        for offset in range(0, len(ids), 500):
            batch = ids[offset:offset + 500]
            for rid, did, start, end, theme, term in session.execute(
                    select(Reference.id, Reference.document_id, Reference.start, Reference.end, Reference.theme,
                           Reference.term).where(Reference.id.in_(batch))):
                found[rid] = (did, start, end, theme, term)
    return found


def write_review_file(frame: pd.DataFrame, path: Path) -> None:
    """The review file as XLSX (sheet ``review``) or CSV; text that looks like a formula is neutralised."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            spreadsheet.safe_frame(frame).to_excel(writer, index=False, sheet_name=SHEET)
            sheet = writer.sheets[SHEET]
            for column, width in zip("ABCDEFGHIJKLMN", (8, 18, 30, 6, 22, 20, 8, 9, 18, 100, 10, 16, 30, 22),
                                     strict=True):
                sheet.column_dimensions[column].width = width
            sheet.freeze_panes = "A2"
            spreadsheet.cells_as_text(sheet)  # document text starting with "=" stays text, never a formula
    elif suffix == ".csv":
        spreadsheet.to_csv(frame, path)
    else:
        raise SibkitError(f"{path}: write the review file as .xlsx or .csv")


def read_review_file(path: Path) -> pd.DataFrame:
    """Every cell as text (formula neutralisation undone), from the ``review`` sheet of an XLSX or a CSV."""
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise SibkitError(f"{path}: review files are .xlsx or .csv")
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise SibkitError(f"{path}: not a regular file")
    except OSError as exc:
        raise SibkitError(f"{path}: cannot read the review file ({exc.strerror or exc})") from None
    if size > MAX_REVIEW_FILE_BYTES:
        raise SibkitError(f"{path}: {size:,} bytes, over the {MAX_REVIEW_FILE_BYTES:,} byte limit for a review file")
    try:
        if suffix == ".xlsx":
            _check_workbook(path)
            frame = pd.read_excel(path, sheet_name=SHEET, dtype=str, engine="openpyxl")
        else:
            from sibkit.corpus.importer import CSV_FIELD_LIMIT, decode_table_bytes, table_delimiter

            csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
            text = decode_table_bytes(path.read_bytes())
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, engine="python",
                                sep=table_delimiter(text))
    except SibkitError:
        raise
    except ValueError as exc:
        if f"'{SHEET}'" in str(exc) or "not found" in str(exc):
            raise SibkitError(f"{path}: no sheet named {SHEET!r}; sibkit reads that sheet by name (write the file "
                              "with `sibkit review export`)") from None
        raise SibkitError(f"{path}: cannot read the review file ({in_one_line(exc)})") from None
    except Exception as exc:  # truncated zip, XML with a DOCTYPE, broken CSV: one line, not a traceback
        raise SibkitError(f"{path}: cannot read the review file ({type(exc).__name__}: {in_one_line(exc)})") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    frame = frame.fillna("").astype(str).map(spreadsheet.restore)
    if suffix == ".xlsx" and "id" in frame.columns:
        for row, formula in _formulas_in(path, "id").items():  # pandas reads a formula's cached value: often none
            if row < len(frame):
                frame.loc[frame.index[row], "id"] = formula
    return frame


def _formulas_in(path: Path, column: str) -> dict[int, str]:
    """Row (0 = the first under the header) -> formula text, for the cells of ``column`` that hold a formula."""
    import openpyxl

    found: dict[int, str] = {}
    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        rows = book[SHEET].iter_rows()
        header = [str(c.value or "").strip().lower() for c in next(rows, ())]
        if column not in header:
            return found
        at = header.index(column)
        for number, cells in enumerate(rows):
            cell = cells[at] if at < len(cells) else None
            if cell is not None and getattr(cell, "data_type", "") == "f":
                found[number] = str(cell.value)
    finally:
        book.close()
    return found


def _check_workbook(path: Path) -> None:
    """Refuse an XLSX that is no zip, unpacks to far more than it weighs, or declares a DOCTYPE."""
    spreadsheet.check_workbook(path, MAX_REVIEW_FILE_BYTES)


def parse_count(text: str) -> int | None:
    """A whole number ≥ 0 written as digits (``12``, or ``12.0`` as a spreadsheet may store it); anything
    else (``1e400``, ``inf``, ``-1``, ``1.5``, 16+ digits) is None."""
    match = _COUNT.fullmatch(text.strip())
    return int(match.group(1)) if match else None


def check_coder(coder: str) -> str:
    """The coder's name as stored: non-empty, at most 80 characters, no control characters."""
    coder = (coder or "").strip()
    if not coder:
        raise SibkitError("--coder is required: decisions are stored with who made them")
    if len(coder) > MAX_CODER_CHARS:
        raise SibkitError(f"--coder is {len(coder)} characters long; at most {MAX_CODER_CHARS}")
    if _CONTROL.search(coder):
        raise SibkitError("--coder contains a control character")
    return coder


@dataclass
class ImportResult:
    decisions: int = 0
    manual_references: int = 0
    problems: list[str] = field(default_factory=list)
    #: decided rows that repeat the coder's latest decision on that reference (not stored again)
    repeated: int = 0
    #: rows refused (each problem names one row, or the rows deciding one reference differently)
    skipped: int = 0

    @property
    def already_imported(self) -> bool:
        """Every decided row repeats what the coder last decided: the file was imported before."""
        return self.repeated > 0 and self.decisions == 0 and self.manual_references == 0


def import_decisions(store: Store, path: Path, coder: str, themes: set[str],
                     now: dt.datetime | None = None) -> ImportResult:
    """Append each row's decision (accept, reject, recode to another theme, a theme id meaning recode,
    or overrule: accept and count it despite its negation or zone) for ``coder``; rows without an id
    but with document_id, start, end and theme add manual references, accepted by the coder.

    Each row with an id must carry the fingerprint written by :func:`export_rows` and still match
    its reference, else it is refused (by row). A decision equal to the coder's latest on that
    reference is not appended again. Rows are stored in one transaction, each row in its own
    savepoint, so a row the database refuses is reported and the others are kept."""
    coder = check_coder(coder)
    frame = read_review_file(path)
    if "decision" not in frame.columns:
        raise SibkitError(f"{path}: no 'decision' column; export a review file with `sibkit review export`")
    if "id" not in frame.columns and not {"document_id", "start", "end"} <= set(frame.columns):
        raise SibkitError(f"{path}: no 'id' column (nor document_id, start and end for manual references); "
                          "export a review file with `sibkit review export`")
    has_fingerprints = "fingerprint" in frame.columns
    rows = frame.to_dict("records")
    decided_with_id = sum(1 for r in rows if str(r.get("id", "")).strip() and str(r.get("decision", "")).strip())
    if not has_fingerprints and decided_with_id:
        against = "its reference" if decided_with_id == 1 else "their references"
        raise SibkitError(f"{path}: no 'fingerprint' column, so its {counted(decided_with_id, 'decided row')} cannot "
                          f"be checked against {against}; decide on a file written by `sibkit review export`")
    wanted = [parse_count(str(r.get("id", ""))) for r in rows]
    identities = _identities(store, sorted({i for i in wanted if i is not None}))
    conflicts = _conflicts(path, rows, themes)
    decided_at = now or utcnow()
    return with_retry(lambda: _import_rows(store, path, rows, coder, themes, identities, has_fingerprints,
                                           decided_at, conflicts), what=f"import of {path.name}")


def _conflicts(path: Path, rows: list[dict], themes: set[str]) -> dict[int, str | None]:
    """Rows (by line) that decide one reference in different words (each a decision that would be stored on its
    own): the first line of each such reference -> the problem to report, the others -> None. None of them is
    stored: which one the person meant cannot be told."""
    said: dict[int, list[tuple[int, tuple[str, str | None, str]]]] = {}
    for line, row in enumerate(rows, start=2):
        decision = str(row.get("decision", "")).strip().lower()
        reference_id = parse_count(str(row.get("id", "")))
        if not decision or reference_id is None:
            continue
        new_theme = str(row.get("new_theme", "")).strip() or None
        if decision in themes:
            decision, new_theme = "recode", decision
        if decision not in DECISIONS or (decision == "recode" and new_theme not in themes):
            continue  # refused on its own row, whatever the others say
        key = (decision, new_theme if decision == "recode" else None, str(row.get("note", "")).strip())
        said.setdefault(reference_id, []).append((line, key))
    conflicts: dict[int, str | None] = {}
    for reference_id, lines in said.items():
        keys = list(dict.fromkeys(key for _, key in lines))
        if len(keys) < 2:
            continue
        said_as = list(dict.fromkeys(decision + (f" {theme}" if theme else "") for decision, theme, _ in keys))
        words = ", ".join(said_as) + (" with different notes" if len(said_as) < len(keys) else "")
        numbers = ", ".join(str(line) for line, _ in lines)
        conflicts[lines[0][0]] = (f"{path.name} rows {numbers}: reference {reference_id} is decided differently "
                                  f"({words}); decide it once; neither row stored")
        conflicts.update({line: None for line, _ in lines[1:]})
    return conflicts


def _import_rows(store: Store, path: Path, rows: list[dict], coder: str, themes: set[str],
                 identities: dict[int, tuple[int, int, int, str, str]], has_fingerprints: bool,
                 decided_at: dt.datetime, conflicts: dict[int, str | None]) -> ImportResult:
    result = ImportResult()
    with store.session(write=True) as session:
        latest = _latest_decisions(session, coder, list(identities))
        titles = dict(session.execute(select(Document.id, Document.title).where(
            among(Document.id, sorted({v[0] for v in identities.values()})))).all()) if identities else {}
        for line, row in enumerate(rows, start=2):
            where = f"{path.name} row {line}"
            if line in conflicts:
                result.skipped += 1
                if (problem := conflicts[line]) is not None:
                    result.problems.append(problem)
                continue
            try:
                with session.begin_nested():
                    _import_row(session, row, where, coder=coder, themes=themes, identities=identities,
                                titles=titles, latest=latest, has_fingerprints=has_fingerprints,
                                decided_at=decided_at, result=result)
            except _RowRefused as exc:
                result.skipped += 1
                result.problems.append(f"{where}: {exc}")
            except SQLAlchemyError as exc:
                result.skipped += 1
                result.problems.append(f"{where}: the database refused the row "
                                       f"({in_one_line(getattr(exc, 'orig', None) or exc)})")
    return result


class _RowRefused(Exception):
    pass


def _latest_decisions(session, coder: str, ids: list[int]) -> dict[int, tuple[str, str | None, str]]:  # type: ignore[no-untyped-def]
    latest: dict[int, tuple[str, str | None, str]] = {}
    for offset in range(0, len(ids), 500):
        batch = ids[offset:offset + 500]
        for rid, decision, new_theme, note in session.execute(
                select(ReviewDecision.reference_id, ReviewDecision.decision, ReviewDecision.new_theme,
                       ReviewDecision.note).where(ReviewDecision.coder == coder,
                                                  ReviewDecision.reference_id.in_(batch))
                .order_by(ReviewDecision.id)):
            latest[rid] = (decision, new_theme, note or "")
    return latest


def _import_row(session, row: dict, where: str, *, coder: str, themes: set[str],  # type: ignore[no-untyped-def]
                identities: dict[int, tuple[int, int, int, str, str]], titles: dict[int, str],
                latest: dict[int, tuple[str, str | None, str]], has_fingerprints: bool, decided_at: dt.datetime,
                result: ImportResult) -> None:
    decision = str(row.get("decision", "")).strip().lower()
    ref_text = str(row.get("id", "")).strip()
    if not decision and ref_text:
        return  # not decided yet
    if not decision and not any(str(row.get(k, "")).strip() for k in ("document_id", "start", "end")):
        return  # an empty line
    new_theme = str(row.get("new_theme", "")).strip() or None
    if decision in themes:
        decision, new_theme = "recode", decision
    if decision not in DECISIONS:
        raise _RowRefused(f"decision {decision[:40]!r} is not accept, reject, recode, overrule or a theme id")
    if decision == "recode" and (new_theme is None or new_theme not in themes):
        raise _RowRefused(f"recode needs new_theme, one of the codebook's themes (got {new_theme!r})")
    note = str(row.get("note", "")).strip()
    if _CONTROL.search(note):
        raise _RowRefused("the note contains a control character (such as NUL); remove it")
    if len(note) > MAX_NOTE_CHARS:
        raise _RowRefused(f"the note has {len(note):,} characters; at most {MAX_NOTE_CHARS:,}")
    if ref_text:
        reference_id = parse_count(ref_text)
        if reference_id is None and ref_text.startswith("="):
            raise _RowRefused(f"id {ref_text[:40]!r} is a formula, not a reference number (sibkit reads what a cell "
                              "holds, not what a formula computes); type the number")
        if reference_id is None:
            raise _RowRefused(f"id {ref_text[:40]!r} is not a reference number")
        identity = identities.get(reference_id)
        if identity is None:
            raise _RowRefused(f"reference {reference_id} is not in this study's database")
        _verify(row, reference_id, identity, titles, has_fingerprints)
    else:
        reference_id = _manual_reference(session, row, themes, result)
        if reference_id not in latest:
            latest.update(_latest_decisions(session, coder, [reference_id]))
    stored_theme = new_theme if decision == "recode" else None
    if latest.get(reference_id) == (decision, stored_theme, note):
        result.repeated += 1
        return
    session.add(ReviewDecision(reference_id=reference_id, coder=coder, decided_at=decided_at, decision=decision,
                               new_theme=stored_theme, note=note))
    session.flush()
    latest[reference_id] = (decision, stored_theme, note)
    result.decisions += 1


def _verify(row: dict, reference_id: int, identity: tuple[int, int, int, str, str], titles: dict[int, str],
            has_fingerprints: bool) -> None:
    """Refuse a row that no longer describes its reference."""
    if not has_fingerprints:
        raise _RowRefused("no fingerprint column, so the row cannot be checked against its reference; "
                          "decide on a file written by `sibkit review export`")
    given = str(row.get("fingerprint", "")).strip()
    if not given:
        raise _RowRefused(f"no fingerprint for reference {reference_id}; not imported")
    cells = {k: str(row.get(k, "")) for k in ("document", "theme", "term", "context")}
    if given != fingerprint(reference_id, *identity, cells=cells):
        document_id, start, end, theme, term = identity
        changed = [name for name, now in (("theme", theme), ("term", term),
                                          ("document", titles.get(document_id, "")))
                   if name in row and str(row[name]).strip() != str(now).strip()]
        detail = f" ({', '.join(changed)} changed)" if changed else ""
        raise _RowRefused(f"does not match reference {reference_id} (document {document_id}, {start}-{end}, "
                          f"{theme}){detail}: edited or moved rows are not imported")


def _manual_reference(session, row: dict, themes: set[str], result: ImportResult) -> int:  # type: ignore[no-untyped-def]
    from sibkit.corpus.normalise import page_of

    values = [parse_count(str(row.get(k, ""))) for k in ("document_id", "start", "end")]
    if any(v is None for v in values):
        raise _RowRefused("a manual reference needs document_id, start and end as whole numbers")
    document_id, start, end = (int(v) for v in values)  # type: ignore[arg-type]
    theme = str(row.get("theme", "")).strip()
    if theme not in themes:
        raise _RowRefused(f"theme {theme[:80]!r} is not in the codebook")
    document = session.get(Document, document_id)
    if document is None or not 0 <= start < end <= len(document.text):
        raise _RowRefused(f"document {document_id} has no characters {start}-{end}")
    term = str(row.get("term", "")).strip()[:200] or "(manual)"
    if _CONTROL.search(term):
        raise _RowRefused("the term contains a control character")
    existing = session.scalar(select(Reference.id).where(
        Reference.document_id == document_id, Reference.theme == theme, Reference.term == term,
        Reference.start == start, Reference.end == end, Reference.origin == "manual"))
    if existing is not None:
        return int(existing)
    reference = Reference(document_id=document_id, theme=theme, term=term, start=start, end=end,
                          page=page_of(start, document.pages), origin="manual", codebook_hash="")
    session.add(reference)
    session.flush()
    result.manual_references += 1
    return int(reference.id)


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
