"""``sibkit code``, ``kwic`` and ``review export|import`` end to end, on a study over the shared export."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
from conftest import every_item_example

from sibkit.coding import case_theme_counts, kwic, references
from sibkit.corpus import record_text
from sibkit.study import load_study

ROOT = Path(__file__).resolve().parents[1]
CASE = "INDIGO-POJ-0110"
CODEBOOK = """
name: tiny
themes:
  - id: partnership
    name: Partnership
    definition: Partners working together.
    terms: [partnership working]
  - id: coproduction
    name: Co-production
    definition: Services made with the people who use them.
    terms: [co-produc*]
"""
# "=SUM(1,1)" must stay text in the review spreadsheet, never become a formula
EVALUATION = ("=SUM(1,1) Interim evaluation. Partnership working was close.\n"
              "Plans were co-produced with residents; co-production continued and partnership\nworking grew.")


def sibkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sibkit", *args], capture_output=True, text=True, timeout=300)


def expected_hits(text: str) -> list[tuple[str, int, int]]:
    """The tiny codebook's hits worked out with plain `re`: theme, start, end."""
    hits = [("partnership", m.start(), m.end()) for m in re.finditer(r"(?i)\bpartnership\s+working\b", text)]
    hits += [("coproduction", m.start(), m.end()) for m in re.finditer(r"(?i)\bco-produc\w*", text)]
    return sorted(hits, key=lambda h: (h[1], h[0]))


def test_code_kwic_and_review_round_trip(tmp_path: Path, indigo_dir: Path, dataset) -> None:
    text = every_item_example()  # 0110 (the case coded here) is selected when every listed item counts
    study_path = tmp_path / "study.yaml"
    study_path.write_text(text.replace("data: null", f"data: {indigo_dir}")
                          .replace("codebook: relational-sib", "codebook: tiny.yaml"), encoding="utf-8")
    (tmp_path / "tiny.yaml").write_text(CODEBOOK, encoding="utf-8")
    (tmp_path / "corpus" / CASE).mkdir(parents=True)
    (tmp_path / "corpus" / CASE / "interim.txt").write_text(EVALUATION, encoding="utf-8")
    for command in (("corpus", "add", str(study_path)), ("corpus", "add-indigo", str(study_path))):
        done = sibkit(*command)
        assert done.returncode == 0, done.stderr

    done = sibkit("code", str(study_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("Coded 44 documents (0 unchanged)")  # 43 INDIGO records + interim.txt
    again = sibkit("code", str(study_path))
    assert again.stdout.strip().startswith("Coded 0 documents (44 unchanged): 0 references added, 0 removed")

    # every reference of the case, in its two documents, is what plain `re` finds
    study = load_study(study_path)
    refs = references(study)
    own = refs[refs["case_ids"].map(lambda ids: CASE in ids)]
    record = record_text(dataset, CASE)[1]
    is_record = own["doc_type"] == "indigo_record"
    interim_ids = set(own.loc[~is_record, "reference_id"])
    for chosen, document_text in ((own[~is_record], EVALUATION), (own[is_record], record)):
        found = sorted(zip(chosen["theme"], chosen["start"], chosen["end"], strict=True), key=lambda h: (h[1], h[0]))
        assert found == expected_hits(document_text)
    # in interim.txt: "Partnership working" 30-49, "co-produced" 72-83, "co-production" 100-113 and
    # "partnership\nworking" 128-147 (a phrase across a line break)
    assert expected_hits(EVALUATION) == [("partnership", 30, 49), ("coproduction", 72, 83),
                                         ("coproduction", 100, 113), ("partnership", 128, 147)]

    done = sibkit("kwic", str(study_path), "coproduction", "--case", CASE, "--width", "12", "--json")
    assert done.returncode == 0, done.stderr
    rows = [r for r in json.loads(done.stdout) if r["reference_id"] in interim_ids]
    # 12 characters either side, white space runs joined and trimmed: text[60:72] "\nPlans were ",
    # text[83:95] " with reside", text[88:100] " residents; ", text[113:125] " continued a"
    assert [(r["left"], r["text"], r["right"]) for r in rows] == [
        ("Plans were", "co-produced", "with reside"), ("residents;", "co-production", "continued a")]
    assert sibkit("kwic", str(study_path), "nothing").returncode == 2

    export = tmp_path / "review.xlsx"
    done = sibkit("review", "export", str(study_path), "--case", CASE, "-o", str(export))
    assert done.returncode == 0, done.stderr
    sheet = openpyxl.load_workbook(export).active
    header = [c.value for c in sheet[1]]
    assert header == ["id", "case_ids", "document", "page", "theme", "term", "score", "negated", "zone", "context",
                      "decision", "new_theme", "note", "fingerprint"]
    body = [dict(zip(header, [c.value for c in row], strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert len(body) == len(own)
    interim = {(r["theme"], r["context"].split("[[")[1].split("]]")[0]): r for r in body if r["id"] in interim_ids}
    first = interim[("partnership", "Partnership working")]
    assert first["context"].startswith("'=SUM(1,1) Interim evaluation. [[Partnership working]]")  # neutralised
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    decisions = {first["id"]: "accept", interim[("coproduction", "co-produced")]["id"]: "reject",
                 interim[("partnership", "partnership\nworking")]["id"]: "coproduction"}
    for row in sheet.iter_rows(min_row=2):
        reference_id = row[0].value
        if reference_id in decisions:
            row[header.index("decision")].value = decisions[reference_id]
    workbook = sheet.parent
    workbook.save(export)

    done = sibkit("review", "import", str(study_path), str(export), "--coder", "ana")
    assert done.returncode == 0, done.stderr
    assert "Stored 3 decisions by ana (0 manual references); 0 rows skipped" in done.stdout
    done = sibkit("review", "export", str(study_path), "--case", CASE, "-o", str(tmp_path / "again.csv"))
    assert done.returncode == 0, done.stderr
    assert len((tmp_path / "again.csv").read_text(encoding="utf-8").splitlines()) - 1 == len(own) - 3

    counts = case_theme_counts(study).set_index(["case_id", "theme"])
    assert len(counts) == 43 * 2  # the study's 43 selected cases x the codebook's two themes
    partnership, coproduction = counts.loc[(CASE, "partnership")], counts.loc[(CASE, "coproduction")]
    record_partnership = sum(1 for h in expected_hits(record) if h[0] == "partnership")
    record_coproduction = sum(1 for h in expected_hits(record) if h[0] == "coproduction")
    # partnership: the record's hits + 2 in interim.txt; one accepted, one recoded away -> reviewed, 1 counts
    assert partnership["references"] == record_partnership + 2
    assert (partnership["reviewed"], partnership["accepted_references"], partnership["effective_references"]) == (
        True, 1, 1)
    # co-production: the record's hits + 2; "co-produced" rejected, the recoded phrase accepted into it
    assert coproduction["references"] == record_coproduction + 2
    assert (coproduction["reviewed"], coproduction["accepted_references"]) == (True, 1)
    assert list(kwic(study, "coproduction", CASE)["text"]).count("partnership\nworking") == 1


def test_kwic_of_a_theme_with_no_reference_in_the_case(tmp_path: Path, indigo_dir: Path) -> None:
    """A theme with no reference (in the study, or in the case) is "0 references", never a traceback."""
    from sibkit.coding.coder import KWIC_COLUMNS
    from sibkit.testing import run_cli

    study_path = tmp_path / "study.yaml"
    study_path.write_text(every_item_example(indigo_dir).replace("codebook: relational-sib", "codebook: tiny.yaml"),
                          encoding="utf-8")
    (tmp_path / "tiny.yaml").write_text(CODEBOOK, encoding="utf-8")
    (tmp_path / "corpus" / CASE).mkdir(parents=True)
    (tmp_path / "corpus" / CASE / "interim.txt").write_text("Partnership working was close.", encoding="utf-8")
    for command in (("corpus", "add", str(study_path)), ("code", str(study_path))):
        done = run_cli(*command)
        assert done.returncode == 0, done.stderr
    study = load_study(study_path)
    for case in (CASE, "INDIGO-POJ-0109"):  # 0109: a selected case with no document at all
        empty = kwic(study, "coproduction", case)
        assert list(empty.columns) == KWIC_COLUMNS and len(empty) == 0
        done = run_cli("kwic", str(study_path), "coproduction", "--case", case)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split("\n")[0].startswith("0 references; 0 do not count")
        done = run_cli("kwic", str(study_path), "coproduction", "--case", case, "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == []
    # the theme that has a hit: "Partnership working" at 0-19, in the case and in no other
    assert list(kwic(study, "partnership", CASE)["text"]) == ["Partnership working"]
    assert len(kwic(study, "partnership", "INDIGO-POJ-0109")) == 0


def test_code_says_how_many_documents_it_left_uncoded_for_want_of_a_case(tmp_path: Path, indigo_dir: Path) -> None:
    from sibkit.testing import run_cli

    study_path = tmp_path / "study.yaml"
    study_path.write_text(every_item_example(indigo_dir).replace("codebook: relational-sib", "codebook: tiny.yaml"),
                          encoding="utf-8")
    (tmp_path / "tiny.yaml").write_text(CODEBOOK, encoding="utf-8")
    loose = tmp_path / "loose.txt"
    loose.write_text("Partnership working was close.", encoding="utf-8")
    assert run_cli("corpus", "add", str(study_path), str(loose)).returncode == 0  # no --case: linked to no case
    done = run_cli("code", str(study_path))
    assert done.returncode == 0, done.stderr
    assert "Coded 0 documents (0 unchanged)" in done.stdout
    notes = [line for line in done.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and notes[0].startswith("note: 1 readable document is linked to no case, so not coded")
    assert run_cli("corpus", "add", str(study_path), str(loose), "--case", CASE).returncode == 0  # now linked
    done = run_cli("code", str(study_path))
    assert "Coded 1 document (0 unchanged): 1 reference added" in done.stdout
    assert "linked to no case" not in done.stderr
