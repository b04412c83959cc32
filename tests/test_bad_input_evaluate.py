"""Labelled files with bad rows: each bad row is one line naming the file and row, left out of the
figures, and the other passages are still measured; files in Latin-1 or UTF-16 are read."""

from __future__ import annotations

from pathlib import Path

from sibkit.coding import evaluate_codebook, parse_codebook, read_labelled
from sibkit.testing import run_cli

BOOK = """
name: tiny
themes:
  - id: alpha
    name: Alpha
    terms: [alpha]
  - id: beta
    name: Beta
    terms: [beta]
"""

GOOD = ["p1,an alpha passage,alpha", "p2,a beta passage,beta", "p3,a passage of neither,"]


def write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("id,text,themes\n" + "\n".join(lines) + "\n").encode(encoding))
    return path


def test_bad_rows_are_each_one_line_and_the_rest_is_measured(tmp_path: Path) -> None:
    path = write(tmp_path / "labelled.csv", [
        *GOOD,
        "p4,too,many,fields,here",   # row 5: 5 fields, the header has 3
        "p5",                        # row 6: 1 field
        "p6,,alpha",                 # row 7: no text
        "p1,an alpha passage again,alpha",  # row 8: p1 again
        ",a beta passage without an id,beta",  # row 9: no id
    ])
    evaluation = evaluate_codebook(parse_codebook(BOOK), path)
    assert evaluation.problems == [
        "labelled.csv row 5: 5 fields, the header has 3; row left out",
        "labelled.csv row 6: 1 field, the header has 3; row left out",
        "labelled.csv row 7 (passage p6): no text; row left out",
        "labelled.csv row 8: passage p1 is given again (first on row 2); row left out",
        "labelled.csv row 9: no id; row left out",
    ]
    assert evaluation.passages == 3 and evaluation.labelled_passages == 2
    assert evaluation.summary() == ("tiny 1 on 3 passages (2 with at least one label, 1 with none); "
                                    "5 rows of the file left out (see the warnings)")
    themes = evaluation.themes.set_index("theme")
    assert themes.loc["alpha", "true_pos"] == 1 and themes.loc["alpha", "misses"] == 0
    assert themes.loc["beta", "true_pos"] == 1 and themes.loc["beta", "false_pos"] == 0


def test_a_latin1_or_utf16_labelled_file_is_read(tmp_path: Path) -> None:
    lines = ["p1,an alpha passage in the café,alpha", "p2,a beta passage,beta"]
    for encoding in ("cp1252", "utf-16"):
        frame = read_labelled(write(tmp_path / f"{encoding}.csv", lines, encoding))
        assert list(frame["id"]) == ["p1", "p2"]
        assert frame["text"].iloc[0] == "an alpha passage in the café"


def test_the_command_prints_each_bad_row_and_still_measures(tmp_path: Path) -> None:
    book = tmp_path / "tiny.yaml"
    book.write_text(BOOK, encoding="utf-8")
    path = write(tmp_path / "labelled.csv", [*GOOD, "p4,too,many,fields,here"])
    done = run_cli("codebook", "evaluate", str(book), str(path))
    assert done.returncode == 0, done.stderr
    assert "warning: labelled.csv row 5: 5 fields, the header has 3; row left out" in done.stderr.splitlines()
    assert "tiny 1 on 3 passages" in done.stdout


def test_a_semicolon_labelled_file_is_read_and_a_junk_workbook_is_named(tmp_path: Path) -> None:
    path = tmp_path / "labelled.csv"
    path.write_text("id;text;themes\np1;an alpha passage;alpha\np2;a beta passage;beta\n", encoding="utf-8")
    evaluation = evaluate_codebook(parse_codebook(BOOK), path)
    assert evaluation.problems == [] and evaluation.passages == 2 and evaluation.labelled_passages == 2
    junk = tmp_path / "labelled.xlsx"
    junk.write_bytes(b"not a workbook")
    done = run_cli("codebook", "evaluate", "relational-sib", str(junk))
    assert done.returncode == 2
    assert done.stderr == f"error: {junk}: not a readable .xlsx workbook (File is not a zip file)\n"
    missing = tmp_path / "nothemes.csv"
    missing.write_text("id,text\np1,alpha\n", encoding="utf-8")
    done = run_cli("codebook", "evaluate", "relational-sib", str(missing))
    assert done.stderr == f"error: {missing}: no 'themes' column (found: id, text)\n"


def test_a_quote_never_closed_costs_its_row_not_the_passages_after_it(tmp_path: Path) -> None:
    path = write(tmp_path / "labelled.csv", ['p1,"an alpha passage,alpha', *GOOD[1:]])
    evaluation = evaluate_codebook(parse_codebook(BOOK), path)
    assert evaluation.problems == ["labelled.csv row 2: a quote opened in this row is never closed (it would "
                                   "swallow every row after it); row left out"]
    assert evaluation.passages == 2
