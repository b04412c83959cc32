"""File names a person did not mean to be hostile (a newline pasted in, a terminal escape, a tab): the
warning for such a file stays one line, with the odd characters written out, and the file is stored
under its real name; a scanned PDF's line counts its pages in words."""

from __future__ import annotations

from pathlib import Path

import pytest

from sibkit import hostile
from sibkit.corpus.importer import add_paths
from sibkit.store import open_store


@pytest.fixture()
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    return open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")


def test_a_bad_file_with_control_characters_in_its_name_is_warned_in_one_line(store, tmp_path: Path) -> None:
    folder = tmp_path / "corpus" / "CASE"
    folder.mkdir(parents=True)
    names = ["bad\nname.pdf", "esc\x1b[31mred.pdf", "tab\there\u2028.pdf"]
    for number, name in enumerate(names):
        (folder / name).write_bytes(b"%PDF-1.4 broken " + bytes([number]))
    (folder / "good.txt").write_text("Partnership working.", encoding="utf-8")
    report = add_paths(store, [tmp_path / "corpus"], corpus_folder=tmp_path / "corpus", known_cases={"CASE"})
    lines = sorted(outcome.line() for outcome in report.outcomes if outcome.status == "failed")
    assert [line.split(": failed")[0] for line in lines] == [
        f"{folder}/bad\\nname.pdf", f"{folder}/esc\\x1b[31mred.pdf", f"{folder}/tab\\there\\u2028.pdf"]
    assert all(line.isprintable() for line in lines), lines
    assert sorted(o.origin for o in report.outcomes if o.status == "failed") == sorted(str(folder / n) for n in names)
    assert report.count("added") == 1


def test_a_one_page_scan_is_one_page(store, tmp_path: Path) -> None:
    folder = tmp_path / "corpus" / "CASE"
    folder.mkdir(parents=True)
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"
    (folder / "scan.pdf").write_bytes(hostile.pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>",
                                                        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page]))
    report = add_paths(store, [tmp_path / "corpus"], corpus_folder=tmp_path / "corpus", known_cases={"CASE"})
    [outcome] = report.outcomes
    assert outcome.line() == f"{folder}/scan.pdf: empty (1 page but no text layer (scanned images?); run OCR first)"


def test_a_manifest_quote_never_closed_costs_its_row_not_the_rest_of_the_file(tmp_path: Path) -> None:
    from sibkit.corpus.importer import read_manifest

    for number in range(1, 6):
        (tmp_path / f"n{number}.txt").write_text(f"Text {number}.", encoding="utf-8")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text('path,case_ids,title,type,date\n'
                        'n1.txt,A,"A title over\ntwo lines",evaluation,\n'
                        'n2.txt,A,"Report 2, with a comma",evaluation,\n'
                        'n3.txt,A,"Report 3,evaluation,\n'          # row 4: the quote is never closed
                        'n4.txt,A,Report 4,evaluation,\n'
                        'n5.txt,A,Report 5,evaluation,2020\n', encoding="utf-8")
    rows, problems = read_manifest(manifest)
    assert problems == ["manifest.csv row 4: a quote opened in this row is never closed (it would swallow every "
                        "row after it); row skipped"]
    assert [(Path(str(r["path"])).name, r["title"], r["where"]) for r in rows] == [
        ("n1.txt", "A title over\ntwo lines", "manifest.csv row 2"),
        ("n2.txt", "Report 2, with a comma", "manifest.csv row 3"),
        ("n4.txt", "Report 4", "manifest.csv row 5"),
        ("n5.txt", "Report 5", "manifest.csv row 6")]
