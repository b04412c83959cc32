"""``sibkit codebook evaluate``: per-theme precision and recall on labelled passages, worked out by hand."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from sibkit.coding import evaluate_codebook, load_codebook, parse_codebook, read_labelled
from sibkit.errors import SibkitError

CODEBOOK = """
name: tiny
version: "3"
themes:
  - id: parent
    name: Parent (no terms, not measured)
  - id: a
    name: A
    parent: parent
    terms: [alpha]
  - id: b
    name: B
    terms: [beta]
"""
# id, text, labels
PASSAGES = [
    ("1", "Alpha here.", "a"),               # a fires, right
    ("2", "Beta and alpha.", "a"),           # a right; b fires on a passage labelled a only
    ("3", "Nothing to find.", "b"),          # b missed
    ("4", "beta", "b"),                      # b right
    ("5", "There was no alpha at all.", ""),  # a fires only in a negated clause: not counted by default
    ("6", "alpha", "a; b"),                  # a right, b missed
    ("7", "gamma", "zzz"),                   # a label that is not a theme: the passage is left out, and said
]


def write_csv(path: Path, sep: str = ",") -> Path:
    pd.DataFrame(PASSAGES, columns=["id", "text", "themes"]).to_csv(path, index=False, sep=sep)
    return path


def test_figures_worked_out_by_hand(tmp_path: Path) -> None:
    evaluation = evaluate_codebook(parse_codebook(CODEBOOK), write_csv(tmp_path / "l.csv"))
    table = evaluation.themes.set_index("theme")
    assert list(table.index) == ["a", "b"]  # the parent has no terms
    # a: labelled on 1, 2, 6; fires on 1, 2, 6 (5 is negated) -> 3 right, 0 false, 0 missed
    assert table.loc["a", ["passages", "fired", "true_pos", "false_pos", "misses"]].tolist() == [3, 3, 3, 0, 0]
    assert table.loc["a", ["precision", "recall", "f1"]].tolist() == [1.0, 1.0, 1.0]
    # b: labelled on 3, 4, 6; fires on 2, 4 -> 1 right (4), 1 false (2), 2 missed (3, 6)
    assert table.loc["b", ["passages", "fired", "true_pos", "false_pos", "misses"]].tolist() == [3, 2, 1, 1, 2]
    assert table.loc["b", "precision"] == 0.5
    assert table.loc["b", "recall"] == pytest.approx(1 / 3)
    assert table.loc["b", "f1"] == pytest.approx(0.4)  # 2 * 1/2 * 1/3 / (1/2 + 1/3)
    averages = evaluation.averages.set_index("average")
    # micro: 4 right, 1 false, 2 missed -> 4/5, 4/6, F1 8/11; macro: means of the two themes
    assert averages.loc["micro"].tolist() == pytest.approx([0.8, 2 / 3, 8 / 11])
    assert averages.loc["macro"].tolist() == pytest.approx([0.75, 2 / 3, 0.7])
    assert evaluation.confusion.values.tolist() == [["b", "a", 1]]
    assert evaluation.details[["id", "theme", "kind", "fired_terms"]].values.tolist() == [
        ["2", "b", "false alarm", "beta"], ["3", "b", "miss", ""], ["6", "b", "miss", ""]]
    assert (evaluation.passages, evaluation.labelled_passages, evaluation.left_out) == (6, 5, 1)
    assert evaluation.codebook == "tiny 3"
    assert evaluation.problems == ["passage 7 left out: label 'zzz' is not a theme of tiny"]


def test_a_misspelt_label_leaves_its_passage_out_of_the_figures(tmp_path: Path) -> None:
    """A misspelt label does not make its passage unlabelled: the hit there is no false alarm, the passage
    is left out. A label naming a theme without terms (not measured) is only set aside."""
    path = tmp_path / "l.csv"
    pd.DataFrame([("1", "alpha", "a"), ("2", "alpha and beta", "aa; b"), ("3", "beta", "parent"),
                  ("4", "alpha", "")], columns=["id", "text", "themes"]).to_csv(path, index=False)
    evaluation = evaluate_codebook(parse_codebook(CODEBOOK), path)
    # passage 2 is left out; 3 is kept (parent is a theme, unmeasured), so b fires there on a passage
    # without a measured label: a false alarm; 4 is unlabelled and a fires: a false alarm
    table = evaluation.themes.set_index("theme")
    assert table.loc["a", ["passages", "fired", "true_pos", "false_pos", "misses"]].tolist() == [1, 2, 1, 1, 0]
    assert table.loc["b", ["passages", "fired", "true_pos", "false_pos", "misses"]].tolist() == [0, 1, 0, 1, 0]
    assert (evaluation.passages, evaluation.labelled_passages, evaluation.left_out) == (3, 1, 1)
    assert evaluation.problems == [
        "passage 2 left out: label 'aa' is not a theme of tiny",
        "passage 3: label 'parent' is a theme without terms in tiny (not measured); label set aside"]
    assert evaluation.confusion.values.tolist() == [["a", "(none)", 1], ["b", "(none)", 1]]
    assert evaluation.summary() == ("tiny 3 on 3 passages (1 with at least one label, 2 with none); 1 left out "
                                    "(a label that is not a theme)")


def test_negated_hits_count_when_asked(tmp_path: Path) -> None:
    evaluation = evaluate_codebook(parse_codebook(CODEBOOK), write_csv(tmp_path / "l.csv"), count_negated=True)
    row = evaluation.themes.set_index("theme").loc["a"]
    assert (row["false_pos"], row["precision"]) == (1, 0.75)
    assert evaluation.confusion.values.tolist() == [["a", "(none)", 1], ["b", "a", 1]]


def test_a_theme_that_never_fires_has_no_precision(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    pd.DataFrame([("x", "b")], columns=["text", "themes"]).to_csv(path, index=False)
    table = evaluate_codebook(parse_codebook(CODEBOOK), path).themes.set_index("theme")
    assert math.isnan(table.loc["b", "precision"]) and table.loc["b", "recall"] == 0.0
    assert math.isnan(table.loc["a", "recall"])  # no passage carries a


def test_csv_tsv_and_xlsx_read_the_same(tmp_path: Path) -> None:
    xlsx = tmp_path / "l.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ID", "Text", "Themes", "split"])
    for passage_id, text, labels in PASSAGES:
        sheet.append([int(passage_id), text, labels or None, "dev"])
    book.save(xlsx)
    frames = [read_labelled(write_csv(tmp_path / "l.csv")), read_labelled(write_csv(tmp_path / "l.tsv", "\t")),
              read_labelled(xlsx)]
    for frame in frames:
        assert frame["themes"].tolist() == [("a",), ("a",), ("b",), ("b",), (), ("a", "b"), ("zzz",)]
        assert frame["id"].tolist() == [p[0] for p in PASSAGES]
    assert frames[2]["split"].tolist() == ["dev"] * 7


def test_split_and_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    pd.DataFrame([("1", "dev", "alpha", "a"), ("2", "test", "beta", "a")],
                 columns=["id", "split", "text", "themes"]).to_csv(path, index=False)
    codebook = parse_codebook(CODEBOOK)
    assert evaluate_codebook(codebook, path, split="test").themes.set_index("theme").loc["a", "misses"] == 1
    with pytest.raises(SibkitError, match="no passage has split 'other'"):
        evaluate_codebook(codebook, path, split="other")
    no_labels = tmp_path / "n.csv"
    no_labels.write_text("text\nalpha\n", encoding="utf-8")
    with pytest.raises(SibkitError, match=r"n\.csv: no 'themes' column"):
        read_labelled(no_labels)
    with pytest.raises(SibkitError, match=r"\.csv, \.tsv or \.xlsx"):
        read_labelled(tmp_path / "l.txt")


def test_cli_json_and_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(CODEBOOK, encoding="utf-8")
    path = write_csv(tmp_path / "l.csv")
    done = subprocess.run([sys.executable, "-m", "sibkit", "codebook", "evaluate", str(tmp_path / "tiny.yaml"),
                           str(path), "--json", "--details"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["codebook"] == "tiny 3"
    assert [(t["theme"], t["true_pos"], t["false_pos"], t["misses"]) for t in payload["themes"]] == [
        ("a", 3, 0, 0), ("b", 1, 1, 2)]
    assert len(payload["details"]) == 3
    assert "label 'zzz'" in done.stderr
    text = subprocess.run([sys.executable, "-m", "sibkit", "codebook", "evaluate", str(tmp_path / "tiny.yaml"),
                           str(path)], capture_output=True, text=True, timeout=120)
    assert ("tiny 3 on 6 passages (5 with at least one label, 1 with none); 1 left out (a label that is not a "
            "theme)") in text.stdout
    assert payload["passages"] == 6 and payload["left_out"] == 1
    missing = subprocess.run([sys.executable, "-m", "sibkit", "codebook", "evaluate", str(tmp_path / "none.csv")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and missing.stderr.strip().endswith("none.csv: no such file")


def test_the_figures_as_a_measured_block_paste_into_the_codebook(tmp_path: Path) -> None:
    import yaml

    (tmp_path / "tiny.yaml").write_text(CODEBOOK, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "sibkit", "codebook", "evaluate", str(tmp_path / "tiny.yaml"),
                           str(write_csv(tmp_path / "l.csv")), "--measured", "7 passages: the test's own"],
                          capture_output=True, text=True, check=True)
    block = yaml.safe_load(done.stdout)["measured"]
    # the figures worked out by hand above: a 3 of 3 right and found; b 1 of 2 right, 1 of 3 found
    assert block == {"on": "7 passages: the test's own", "themes": {
        "a": {"precision": 1.0, "recall": 1.0, "passages": 3, "fired": 3},
        "b": {"precision": 0.5, "recall": 0.33, "passages": 3, "fired": 2}}}
    pasted = parse_codebook(CODEBOOK + done.stdout)
    assert pasted.measured is not None and pasted.measured.themes["b"].fired == 2


def test_the_default_codebook_carries_its_figures_on_the_held_out_hard_passages() -> None:
    # `measured` in relational-sib 6 says what `evaluate --split hard-test` finds: recomputed here, so
    # the figures other parts of sibkit read (the report's instrument error) cannot go stale
    from sibkit.coding import load_codebook

    labelled = Path(__file__).parent / "data" / "relational-sib-labelled.csv"
    codebook = load_codebook("relational-sib")
    assert codebook.version == "6" and codebook.measured is not None
    # the figures a report uses are on real passages kept outside the repository: each must follow from
    # its own counts (recall = found / passages, precision = found / fired, to two places)
    assert codebook.measured.on.startswith("real set 6") and len(codebook.measured.themes) == 14
    for theme, figures in codebook.measured.themes.items():
        found = round(figures.recall * figures.passages)
        assert figures.recall == pytest.approx(round(found / figures.passages, 2)), theme
        assert figures.precision == pytest.approx(round(found / figures.fired, 2)), theme
    hard = codebook.measured.also[0]
    assert hard.on.startswith("split hard-test")
    table = evaluate_codebook(codebook, labelled, split="hard-test").themes.set_index("theme")
    for theme, figures in hard.themes.items():
        assert figures.passages == table.loc[theme, "passages"], theme
        assert figures.fired == table.loc[theme, "fired"], theme
        assert figures.precision == pytest.approx(round(table.loc[theme, "precision"], 2)), theme
        assert figures.recall == pytest.approx(round(table.loc[theme, "recall"], 2)), theme
    assert set(hard.themes) == set(table.index)
    assert parse_codebook(CODEBOOK).measured is None and load_codebook("relational-sib-2").version == "2"
    earlier = load_codebook("relational-sib-3")
    assert earlier.version == "3" and earlier.measured is not None and earlier.hash() != codebook.hash()
    previous = load_codebook("relational-sib-4")
    assert previous.version == "4" and previous.measured is not None
    assert previous.hash() not in (codebook.hash(), earlier.hash())
    last = load_codebook("relational-sib-5")
    assert last.version == "5" and last.measured is not None
    assert last.hash() not in (codebook.hash(), previous.hash(), earlier.hash())


def test_the_methods_paragraph_names_a_figure_with_nothing_under_it() -> None:
    from sibkit.paper.methods import _measured

    book = parse_codebook(CODEBOOK + "measured:\n  on: six passages\n  themes:\n"
                          "    a: {recall: 0.0, passages: 2, fired: 0}\n"
                          "    b: {precision: 0.5, recall: 0.5, passages: 2, fired: 2}\n")
    assert _measured(book) == ("Measured on six passages: a precision not measured, recall 0.00 (2 passages); "
                               "b precision 0.50, recall 0.50 (2 passages).")
    # a set described in a sentence of its own, and the few words a methods section carries instead
    cited = parse_codebook(CODEBOOK + "measured:\n  on: Six passages, kept apart.\n  cite: six passages labelled blind"
                           "\n  themes:\n    b: {precision: 0.5, recall: 0.5, passages: 2, fired: 2}\n")
    assert _measured(cited) == "Measured on six passages labelled blind: b precision 0.50, recall 0.50 (2 passages)."
    assert _measured(parse_codebook(CODEBOOK + "measured:\n  on: Six passages, kept apart.\n  themes:\n"
                                    "    b: {precision: 0.5, recall: 0.5, passages: 2, fired: 2}\n")) == \
        "Measured on Six passages, kept apart: b precision 0.50, recall 0.50 (2 passages)."
    default = _measured(load_codebook("relational-sib"))  # ready to paste: no README, no stray ".:"
    assert default.startswith("Measured on 969 passages of public web text about impact bonds from 212 pages, ")
    assert "README" not in default and ".:" not in default
