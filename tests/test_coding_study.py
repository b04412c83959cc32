"""Coding a study's documents, counts, kwic, re-coding and the review loop, in a real SQLite file."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import func, select

from sibkit.coding import (
    case_theme_counts,
    code_documents,
    decision_log,
    export_rows,
    import_decisions,
    kwic,
    load_codebook,
    parse_codebook,
    references,
    write_review_file,
)
from sibkit.corpus import add_indigo_records
from sibkit.corpus.extraction import Extracted
from sibkit.corpus.importer import store_document
from sibkit.store import Reference, ReviewDecision, open_store

CASE = "INDIGO-POJ-0121"


def add_text(store, text: str, case_ids: list[str], title: str, pages: list[int] | None = None) -> int:
    import hashlib

    outcome = store_document(store, sha256=hashlib.sha256(text.encode()).hexdigest(),
                             extracted=Extracted(text=text, pages=pages or [0], kind="text"), case_ids=case_ids,
                             title=title, doc_type="evaluation", origin=title)
    return outcome.document_id


BOOK = """
name: small
themes:
  - id: partnership
    name: Partnership
    terms: [partnership working, partner* NEAR/2 close*]
  - id: coproduction
    name: Co-production
    terms: [co-produc*]
"""


@pytest.fixture()
def store(tmp_path: Path):
    return open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")


def test_codes_indigo_records_with_the_default_codebook(store, dataset) -> None:
    add_indigo_records(store, dataset, [CASE])
    report = code_documents(store, load_codebook("relational-sib"))
    assert report.documents_coded == 1
    refs = references(store)
    # the Reboot West record says "The service will include some co-production with young people":
    # the only co-production hit, and the text of every reference is what the matcher found
    coprod = refs[refs["theme"] == "co-production"]
    assert list(coprod["text"]) == ["co-production"]
    from sibkit.corpus import record_text

    text = record_text(dataset, CASE)[1]
    assert list(coprod["start"]) == [m.start() for m in re.finditer("co-production", text)]
    assert set(refs["case_ids"]) == {(CASE,)}


def test_counts_rates_and_coverage(store) -> None:
    text_a = "Partnership working was strong. Close partners co-produced plans. Partnership working again."
    text_b = "Nothing relevant here at all."
    add_text(store, text_a, ["A"], "a.txt")
    add_text(store, text_b, ["A", "B"], "b.txt")
    code_documents(store, parse_codebook(BOOK))
    counts = case_theme_counts(store, ["A", "B"], ["partnership", "coproduction"]).set_index(["case_id", "theme"])
    # text_a: "Partnership working" twice (0-19, 66-85) and "Close partners" (32-46): 3 partnership refs;
    # "co-produced" (47-58): 1 co-production ref. Words: 11 in text_a ("co-produced" is one word) + 5 = 16.
    assert counts.loc[("A", "partnership"), "references"] == 3
    assert counts.loc[("A", "coproduction"), "references"] == 1
    assert counts.loc[("A", "partnership"), "words"] == 16
    assert counts.loc[("A", "partnership"), "rate_per_10k"] == pytest.approx(3 / 16 * 10_000)
    covered = 19 + 14 + 19
    assert counts.loc[("A", "partnership"), "coverage"] == pytest.approx(covered / (len(text_a) + len(text_b)))
    assert counts.loc[("A", "partnership"), "documents_mentioning"] == 1
    assert counts.loc[("B", "partnership"), "references"] == 0
    assert not counts.loc[("A", "partnership"), "reviewed"]
    context = kwic(store, "coproduction", width=10)
    assert list(context["left"]) == ["partners"] and list(context["text"]) == ["co-produced"]  # " partners "
    assert list(context["right"]) == ["plans. Pa"]  # " plans. Pa", white space trimmed


def test_recoding_touches_only_changed_themes_and_keeps_decisions(store) -> None:
    text = "Partnership working and co-production. Close partners met. Much later, partnership working."
    add_text(store, text, ["A"], "a.txt")
    code_documents(store, parse_codebook(BOOK))
    with store.session() as session:
        first = {(r.theme, r.start): r.id for r in session.scalars(select(Reference))}
        decided = first[("partnership", 0)]
        session.add(ReviewDecision(reference_id=decided, coder="ana", decision="accept"))
    changed = BOOK.replace("terms: [partnership working, partner* NEAR/2 close*]", "terms: [close partner*]")
    report = code_documents(store, parse_codebook(changed))
    assert report.themes_changed == ["partnership"]
    with store.session() as session:
        after = {(r.theme, r.start): r.id for r in session.scalars(select(Reference))}
        assert session.scalar(select(func.count()).select_from(ReviewDecision)) == 1
    assert after[("coproduction", 24)] == first[("coproduction", 24)]  # untouched theme: same row
    # partnership hits were "Partnership working" 0-19, "Close partners" 39-53 (NEAR) and
    # "partnership working" 71-90
    assert after[("partnership", 0)] == decided  # decided reference kept although its term is gone
    assert ("partnership", 71) not in after  # undecided old hit removed
    assert ("partnership", 39) in after  # "Close partners", now found by the new term


def fill(path: Path, decisions: dict[int, str]) -> None:
    book = openpyxl.load_workbook(path)
    sheet = book.active
    header = [cell.value for cell in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        reference_id = int(row[header.index("id")].value)
        if reference_id in decisions:
            row[header.index("decision")].value = decisions[reference_id]
    book.save(path)


def test_review_round_trip_through_xlsx(store, tmp_path: Path) -> None:
    text = "Partnership working and co-production. Close partners met. Much later, partnership working."
    add_text(store, text, ["A"], "a.txt")
    code_documents(store, parse_codebook(BOOK))
    rows = export_rows(store)
    assert len(rows) == 4 and rows["decision"].eq("").all()
    assert rows.loc[rows["theme"] == "coproduction", "context"].iloc[0].startswith(
        "Partnership working and [[co-production]]")
    path = tmp_path / "review.xlsx"
    write_review_file(rows, path)
    ids = {(t, s): i for i, t, s in zip(rows["id"], rows["theme"],
                                        [references(store).set_index("reference_id").at[i, "start"] for i in
                                         rows["id"]], strict=True)}
    fill(path, {ids[("partnership", 0)]: "accept", ids[("coproduction", 24)]: "reject",
                ids[("partnership", 39)]: "coproduction"})
    themes = {"partnership", "coproduction"}
    result = import_decisions(store, path, "ana", themes)
    assert (result.decisions, result.problems) == (3, [])
    assert len(export_rows(store)) == 1  # only the undecided hit is exported again
    counts = case_theme_counts(store, ["A"], ["partnership", "coproduction"]).set_index("theme")
    # partnership: 0 accepted, 39 recoded away, 71 undecided -> reviewed, so only the accepted one counts
    assert counts.loc["partnership", "reviewed"] and counts.loc["partnership", "effective_references"] == 1
    # coproduction: 24 rejected, 39 recoded into it -> 1
    assert counts.loc["coproduction", "effective_references"] == 1
    # a second coder, and ana changing her mind: history kept, latest per coder counts
    second = tmp_path / "review2.xlsx"
    write_review_file(export_rows(store, include_reviewed=True), second)
    fill(second, {ids[("partnership", 0)]: "reject"})
    import_decisions(store, second, "ana", themes)
    import_decisions(store, second, "ben", themes)
    log = decision_log(store)
    assert len(log) == 5 and list(log["coder"]) == ["ana", "ana", "ana", "ana", "ben"]
    counts = case_theme_counts(store, ["A"], ["partnership"]).set_index("theme")
    assert counts.loc["partnership", "effective_references"] == 0


def test_bad_review_rows_are_reported_and_the_rest_stored(store, tmp_path: Path) -> None:
    document_id = add_text(store, "Partnership working matters.", ["A"], "a.txt")
    code_documents(store, parse_codebook(BOOK))
    path = tmp_path / "review.csv"
    exported = export_rows(store)
    assert list(exported["id"]) == [1]
    rows = [exported.iloc[0].to_dict() | {"decision": "accept"},
            {"id": 999, "decision": "accept"}, {"id": 1, "decision": "maybe"},
            {"id": 1, "decision": "recode", "new_theme": "nowhere"},
            {"decision": "accept", "note": "a span I coded", "document_id": document_id, "start": 20, "end": 28,
             "theme": "coproduction"},
            {"decision": "accept", "document_id": document_id, "start": 20, "end": 500, "theme": "coproduction"}]
    pd.DataFrame(rows, dtype=object).fillna("").to_csv(path, index=False)
    result = import_decisions(store, path, "ana", {"partnership", "coproduction"})
    assert result.decisions == 2 and result.manual_references == 1
    assert result.problems == [
        "review.csv row 3: reference 999 is not in this study's database",
        "review.csv row 4: decision 'maybe' is not accept, reject, recode, overrule or a theme id",
        "review.csv row 5: recode needs new_theme, one of the codebook's themes (got 'nowhere')",
        f"review.csv row 7: document {document_id} has no characters 20-500",
    ]
    manual = references(store).query("origin == 'manual'")
    assert list(manual["text"]) == ["matters."] and bool(manual["reviewed"].iloc[0])
