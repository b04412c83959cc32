"""Tampered and broken review files: every decision lands on the hit it was made for or is refused
by row; bad cells cost their row only; re-importing adds nothing; exports carry no formulas."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sibkit import spreadsheet
from sibkit.coding import code_documents, decision_log, export_rows, import_decisions, parse_codebook
from sibkit.coding.review import parse_count, write_review_file
from sibkit.corpus.extraction import Extracted
from sibkit.corpus.importer import store_document
from sibkit.errors import SibkitError
from sibkit.store import open_store

BOOK = """
name: small
themes:
  - id: partnership
    name: Partnership
    terms: [partnership working]
  - id: coproduction
    name: Co-production
    terms: [co-produc*]
"""
THEMES = {"partnership", "coproduction"}
TEXT = " ".join(f"Section {i}: partnership working and co-production, item {i}." for i in range(30))


def add_text(store, text: str, title: str) -> int:  # type: ignore[no-untyped-def]
    outcome = store_document(store, sha256=hashlib.sha256(text.encode()).hexdigest(),
                             extracted=Extracted(text=text, kind="text"), case_ids=["A"], title=title,
                             doc_type="evaluation", origin=title)
    assert outcome.document_id is not None
    return outcome.document_id


def coded_store(path: Path, title: str = "Evaluation report"):  # type: ignore[no-untyped-def]
    store = open_store(f"sqlite:///{path}")
    add_text(store, TEXT, title)
    code_documents(store, parse_codebook(BOOK))
    return store


@pytest.fixture()
def store(tmp_path: Path):
    return coded_store(tmp_path / "study.sqlite")


def test_edited_and_shuffled_rows_are_refused_by_row(store, tmp_path: Path) -> None:
    rows = export_rows(store).assign(decision="accept")
    assert len(rows) == 60
    rows.loc[0, "theme"] = "coproduction"
    rows.loc[1, "term"] = "something else"
    rows.loc[2, "context"] = rows.loc[2, "context"].replace("item", "ITEM")
    rows.loc[3, "document"] = "Another report"
    shuffled = rows.loc[10:19, "id"].tolist()
    rows.loc[10:19, "id"] = shuffled[1:] + shuffled[:1]  # ids moved against their rows
    path = tmp_path / "review.csv"
    write_review_file(rows, path)
    result = import_decisions(store, path, "ana", THEMES)
    refused_rows = sorted(int(p.split(" row ")[1].split(":")[0]) - 2 for p in result.problems)
    assert refused_rows == [0, 1, 2, 3, *range(10, 20)]
    assert all("does not match reference" in p for p in result.problems)
    assert "theme changed" in result.problems[0] and "term changed" in result.problems[1]
    assert result.decisions == 60 - 14
    log = decision_log(store)
    accepted = set(log["reference_id"])
    assert accepted == set(rows["id"].drop(index=[0, 1, 2, 3, *range(10, 20)]).astype(int))


def test_reimport_is_detected_and_appends_nothing(store, tmp_path: Path) -> None:
    rows = export_rows(store).assign(decision="reject")
    path = tmp_path / "review.xlsx"
    write_review_file(rows, path)
    first = import_decisions(store, path, "ana", THEMES)
    assert (first.decisions, first.repeated, first.already_imported) == (60, 0, False)
    second = import_decisions(store, path, "ana", THEMES)
    assert (second.decisions, second.repeated, second.already_imported) == (0, 60, True)
    other = import_decisions(store, path, "ben", THEMES)  # another coder's decisions are new
    assert other.decisions == 60
    assert len(decision_log(store)) == 120


def test_the_review_sheet_is_read_by_name(store, tmp_path: Path) -> None:
    rows = export_rows(store).assign(decision="accept")
    path = tmp_path / "review.xlsx"
    write_review_file(rows, path)
    book = openpyxl.load_workbook(path)
    old = book.create_sheet("old", 0)  # a stale first sheet
    old.append(["id", "decision", "fingerprint"])
    old.append([1, "reject", "x"])
    book.save(path)
    result = import_decisions(store, path, "ana", THEMES)
    assert (result.decisions, result.problems) == (60, [])
    assert set(decision_log(store)["decision"]) == {"accept"}
    del book["review"]
    book.save(path)
    with pytest.raises(SibkitError, match="no sheet named 'review'"):
        import_decisions(store, path, "ana", THEMES)


def test_bad_cells_cost_their_row_only(store, tmp_path: Path) -> None:
    rows = export_rows(store).assign(decision="accept").astype(object)
    bad_ids = ["1e400", "inf", "nan", "-1", "1.5", "99999999999999999999", "0x10", "1 2"]
    for index, bad in enumerate(bad_ids):
        rows.loc[index, "id"] = bad
    rows.loc[20, "note"] = "a NUL \x00 in the note"
    rows.loc[21, "note"] = "n" * 20_000
    manual = {"decision": "accept", "document_id": "1e30", "start": "0", "end": "5", "theme": "partnership"}
    manual_ok = {"decision": "accept", "document_id": "1", "start": "0", "end": "7", "theme": "partnership",
                 "term": "my span"}
    frame = pd.concat([rows, pd.DataFrame([manual, manual_ok], dtype=object)], ignore_index=True).fillna("")
    path = tmp_path / "review.csv"
    frame.to_csv(path, index=False)
    result = import_decisions(store, path, "ana", THEMES)
    assert len(result.problems) == len(bad_ids) + 3
    for problem, bad in zip(result.problems, bad_ids, strict=False):
        assert f"id {bad!r} is not a reference number" in problem
    assert "control character" in result.problems[len(bad_ids)]
    assert "at most 10,000" in result.problems[len(bad_ids) + 1]
    assert "whole numbers" in result.problems[-1]
    assert (result.decisions, result.manual_references) == (60 - len(bad_ids) - 2 + 1, 1)
    again = import_decisions(store, path, "ana", THEMES)  # the manual reference is not added twice
    assert (again.decisions, again.manual_references, again.repeated) == (0, 0, 60 - len(bad_ids) - 2 + 1)


def test_unreadable_workbooks_are_one_clear_error(store, tmp_path: Path) -> None:
    path = tmp_path / "review.xlsx"
    write_review_file(export_rows(store).assign(decision="accept"), path)
    data = path.read_bytes()
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(SibkitError, match=r"truncated\.xlsx: not a readable \.xlsx"):
        import_decisions(store, truncated, "ana", THEMES)
    doctype = tmp_path / "doctype.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(doctype, "w") as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "xl/workbook.xml":
                declaration, _, rest = body.partition(b"?>") if body.startswith(b"<?xml") else (b"", b"", body)
                body = (declaration + b"?>" if declaration else b"") + b'<!DOCTYPE x [<!ENTITY e "e">]>' + rest
            target.writestr(info, body)
    with pytest.raises(SibkitError, match="declares a DOCTYPE"):
        import_decisions(store, doctype, "ana", THEMES)
    with pytest.raises(SibkitError, match="at most 80"):
        import_decisions(store, path, "c" * 81, THEMES)
    assert len(decision_log(store)) == 0


def test_exports_neutralise_formulas_and_still_import(tmp_path: Path) -> None:
    store = coded_store(tmp_path / "study.sqlite", title="=cmd|' /C calc'!A0")
    rows = export_rows(store).assign(decision="accept")
    path = tmp_path / "review.csv"
    write_review_file(rows, path)
    with path.open(newline="", encoding="utf-8") as handle:
        cells = [row["document"] for row in csv.DictReader(handle)]
    assert set(cells) == {"'=cmd|' /C calc'!A0"}
    assert import_decisions(store, path, "ana", THEMES).decisions == 60
    xlsx = tmp_path / "review.xlsx"
    write_review_file(rows, xlsx)
    sheet = openpyxl.load_workbook(xlsx)["review"]
    assert sheet["C2"].value == "'=cmd|' /C calc'!A0" and sheet["C2"].data_type == "s"
    empty = export_rows(open_store(f"sqlite:///{tmp_path / 'empty.sqlite'}"))
    write_review_file(empty, tmp_path / "empty.csv")
    assert (tmp_path / "empty.csv").read_text(encoding="utf-8").startswith("id,case_ids,document")


def test_spreadsheet_neutralisation_of_every_dangerous_start() -> None:
    frame = pd.DataFrame({"a": ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain", None], "n": range(8)})
    buffer = io.StringIO()
    spreadsheet.to_csv(frame, buffer)
    lines = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert [row[0] for row in lines[1:]] == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "plain", ""]
    assert [row[1] for row in lines[1:]] == [str(i) for i in range(8)]


@given(st.text(max_size=30))
def test_neutralise_round_trips(text: str) -> None:
    safe = spreadsheet.neutralise(text)
    assert not safe.startswith(spreadsheet.FORMULA_STARTS)
    assert spreadsheet.restore(safe) == text or (text.startswith("'") and text[1:].startswith(
        spreadsheet.FORMULA_STARTS))


@given(st.text(max_size=25))
def test_parse_count_is_strict(text: str) -> None:
    value = parse_count(text)
    if value is not None:
        assert 0 <= value < 10**15 and text.strip().lstrip("+").split(".")[0].lstrip("0") in (str(value), "")
