"""The paper files' speed-ups keep their answers: the listed documents built once per dataset, and a
DOCX table written cell by cell from one list of a row's cells (benchmarks/bench_paper.py times them)."""

from __future__ import annotations

import importlib
from pathlib import Path

from sibkit.study.selection import document_key


def test_the_listed_documents_are_built_once_per_dataset_and_match_a_fresh_build(dataset) -> None:
    bibliography = importlib.import_module("sibkit.paper.bibliography")
    first = bibliography._listed(dataset)
    assert bibliography._listed(dataset) is first  # the example citations reuse the bibliography's
    assert first == bibliography._build_listed(dataset)
    # POLITICO's case study of the HIV SIB, read from the export by hand: listed for its project
    hiv = [key for key in first if key[1].startswith("title:politico case study")]
    assert hiv and all(case.startswith("INDIGO-POJ-") for case, _key in hiv)


def test_a_title_key_is_the_normalised_title_and_a_blank_title_has_none() -> None:
    assert document_key(None, "  The Café: Report, page 6 ") == "title:the cafe report"
    assert document_key(None, "The Café: Report, page 6") == "title:the cafe report"  # cached answer
    assert document_key(None, " ... ") is None
    assert document_key("", None) is None


def test_a_docx_table_has_every_cell_in_place_with_short_rows_padded(tmp_path: Path) -> None:
    import docx

    from sibkit.paper.docx import write_docx

    html = ("<html><body><h2>Counts</h2><table><thead><tr><th>case</th><th>n</th><th>note</th></tr></thead>"
            "<tbody><tr><td>A</td><td>3</td><td>x</td></tr><tr><td>B</td><td>5</td></tr></tbody></table></body></html>")
    counts = write_docx(html, tmp_path / "t.docx")
    assert counts["tables"] == 1
    table = docx.Document(str(tmp_path / "t.docx")).tables[0]
    assert [[cell.text for cell in row.cells] for row in table.rows] == [
        ["case", "n", "note"], ["A", "3", "x"], ["B", "5", ""]]
    assert all(run.bold for cell in table.rows[0].cells for run in cell.paragraphs[0].runs)
    assert not any(run.bold for cell in table.rows[1].cells for run in cell.paragraphs[0].runs)
