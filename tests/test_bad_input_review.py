"""Review files a person got wrong: a reference decided twice with different words, a file without the
columns every row needs. Each is one clear line naming the file (and rows); nothing contradictory is
stored, and the rows that are fine still land."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from test_hostile_review import BOOK, THEMES  # the same two-theme codebook

from sibkit.coding import code_documents, decision_log, export_rows, import_decisions, parse_codebook
from sibkit.coding.review import write_review_file
from sibkit.corpus.extraction import Extracted
from sibkit.corpus.importer import store_document
from sibkit.errors import SibkitError
from sibkit.store import open_store

TEXT = "Partnership working was strong. Co-production with families followed. Partnership working again."


@pytest.fixture()
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    outcome = store_document(store, sha256=hashlib.sha256(TEXT.encode()).hexdigest(),
                             extracted=Extracted(text=TEXT, kind="text"), case_ids=["A"], title="Report",
                             doc_type="evaluation", origin="report.txt")
    assert outcome.document_id is not None
    code_documents(store, parse_codebook(BOOK))
    return store


def test_a_reference_decided_differently_twice_in_one_file_is_stored_for_neither_row(store, tmp_path: Path) -> None:
    rows = export_rows(store).assign(decision="accept")
    assert len(rows) == 3  # partnership working (twice), co-produc*
    repeat = rows.iloc[[1]].assign(decision="reject")
    same = rows.iloc[[2]]  # the same decision again: harmless, stored once
    path = tmp_path / "review.csv"
    write_review_file(pd.concat([rows, repeat, same], ignore_index=True), path)
    result = import_decisions(store, path, "ana", THEMES)
    second = int(rows.iloc[1]["id"])
    # rows 2-4 are the export's three rows, 5 repeats row 3 with another decision, 6 repeats row 4 as it was
    assert result.problems == [f"review.csv rows 3, 5: reference {second} is decided differently "
                               "(accept, reject); decide it once; neither row stored"]
    assert result.decisions == 2 and result.skipped == 2
    log = decision_log(store)
    assert sorted(log["reference_id"]) == sorted(int(i) for i in rows["id"] if int(i) != second)
    assert set(log["decision"]) == {"accept"}


def test_a_file_without_a_fingerprint_column_is_one_line_and_stores_nothing(store, tmp_path: Path) -> None:
    rows = export_rows(store).assign(decision="accept").drop(columns=["fingerprint"])
    path = tmp_path / "review.csv"
    write_review_file(rows, path)
    with pytest.raises(SibkitError) as caught:
        import_decisions(store, path, "ana", THEMES)
    assert str(caught.value) == (f"{path}: no 'fingerprint' column, so its 3 decided rows cannot be checked "
                                 "against their references; decide on a file written by `sibkit review export`")
    assert decision_log(store).empty
    write_review_file(rows.iloc[:1], path)
    with pytest.raises(SibkitError, match="so its 1 decided row cannot be checked against its reference;"):
        import_decisions(store, path, "ana", THEMES)


def test_a_file_without_an_id_column_is_one_line_not_a_line_per_row(store, tmp_path: Path) -> None:
    rows = export_rows(store).assign(decision="accept").drop(columns=["id"])
    path = tmp_path / "review.csv"
    write_review_file(rows, path)
    with pytest.raises(SibkitError) as caught:
        import_decisions(store, path, "ana", THEMES)
    assert str(caught.value) == (f"{path}: no 'id' column (nor document_id, start and end for manual references); "
                                 "export a review file with `sibkit review export`")
    assert decision_log(store).empty


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_review_csv_saved_with_semicolons_or_tabs_is_read(store, tmp_path: Path, delimiter: str) -> None:
    rows = export_rows(store).assign(decision="reject")
    path = tmp_path / "review.csv"
    write_review_file(rows, path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)  # saved again as a spreadsheet set to a
    frame.to_csv(path, sep=delimiter, index=False, encoding="utf-8-sig")  # language with a decimal comma does
    assert "," not in path.read_text(encoding="utf-8-sig").splitlines()[0]
    result = import_decisions(store, path, "ana", THEMES)
    assert result.problems == [] and result.decisions == 3
    assert set(decision_log(store)["decision"]) == {"reject"}
