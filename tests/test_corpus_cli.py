"""``sibkit corpus`` from the command line, on a study over the shared export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import every_item_example
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]


def sibkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sibkit", *args], capture_output=True, text=True, timeout=300)


def test_folder_convention_manifest_indigo_records_and_status(tmp_path: Path, indigo_dir: Path) -> None:
    study = tmp_path / "study.yaml"
    study.write_text(every_item_example(indigo_dir), encoding="utf-8")  # 43 cases, 0110 and 0109 among them
    case_folder = tmp_path / "corpus" / "INDIGO-POJ-0110"
    case_folder.mkdir(parents=True)
    (case_folder / "interim.txt").write_text("Interim evaluation: partnership working in Lincolnshire.")
    (case_folder / "final.md").write_text("# Final report\n\nThe service model was adapted often.")
    (tmp_path / "extra.txt").write_text("A commentary on both homelessness SIBs.")
    (tmp_path / "manifest.csv").write_text(
        "path,case_ids,title,type,date\n"
        "extra.txt,INDIGO-POJ-0110 INDIGO-POJ-0109,Commentary,commentary,2019-05\n"
        "missing.txt,INDIGO-POJ-0110,Gone,review,\n"
        "extra.txt,INDIGO-POJ-9999,Wrong case,review,\n"
        "extra.txt,INDIGO-POJ-0110,Bad type,pamphlet,\n")
    done = sibkit("corpus", "add", str(study))
    assert done.returncode == 0, done.stderr
    assert "added: 2" in done.stdout
    done = sibkit("corpus", "add", str(study), "--manifest", str(tmp_path / "manifest.csv"))
    assert done.returncode == 1, done.stderr  # some rows failed: the exit status says so
    assert "3 item(s) not imported" in done.stderr
    assert "case 'INDIGO-POJ-9999' is not in the dataset; row skipped" in done.stderr
    assert "'pamphlet' is not one of" in done.stderr and "missing.txt: failed" in done.stderr
    assert "added: 1" in done.stdout
    done = sibkit("corpus", "add-indigo", str(study))
    assert done.returncode == 0, done.stderr
    assert "added: 43" in done.stdout
    done = sibkit("corpus", "status", str(study), "--json")
    assert done.returncode == 0, done.stderr
    cases = {row["case_id"]: row for row in json.loads(done.stdout)["cases"]}
    assert len(cases) == 43
    # 0110: INDIGO lists 4 distinct documents (test_study_selection); the corpus holds interim.txt,
    # final.md and the manifest's commentary (its INDIGO record is not counted); every kind counts here
    lincs = cases["INDIGO-POJ-0110"]
    assert (lincs["listed"], lincs["listed_counted"], lincs["held"], lincs["held_counted"]) == (4, 4, 3, 3)
    assert lincs["counted"] == 7 and lincs["lacking"] == 0
    assert lincs["held_by_kind"] == "commentary 1; other 2"  # added without --type: kind from the file's name
    assert cases["INDIGO-POJ-0109"]["held"] == 1
    done = sibkit("corpus", "status", str(study))
    assert "listed = on INDIGO's reading list, held = readable in the study's corpus" in " ".join(done.stdout.split())
    assert (tmp_path / "study.sqlite").exists()


def test_unknown_case_folders_misnamed_files_and_extra_manifest_fields_are_said(tmp_path: Path,
                                                                                indigo_dir: Path) -> None:
    from sqlalchemy import select

    from sibkit.corpus import open_study_store
    from sibkit.store import Document, DocumentCase
    from sibkit.study import load_study
    from sibkit.testing import run_cli

    study = tmp_path / "study.yaml"
    study.write_text(every_item_example(indigo_dir), encoding="utf-8")
    corpus = tmp_path / "corpus"
    for folder in ("INDIGO-POJ-0110", "INDIGO-POJ-9999"):
        (corpus / folder).mkdir(parents=True)
    (corpus / "INDIGO-POJ-0110" / "interim.txt").write_text("Interim evaluation of the Lincolnshire SIB.")
    (corpus / "INDIGO-POJ-0110" / "fake.pdf").write_text("Not a PDF at all: plain text named .pdf.")
    (corpus / "INDIGO-POJ-9999" / "x.txt").write_text("A case INDIGO does not have.")
    (corpus / "INDIGO-POJ-9999" / "y.txt").write_text("Another file of that case.")
    done = run_cli("corpus", "add", str(study))
    assert done.returncode == 1  # a folder was refused: the exit status says so, the others went on
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {corpus / 'INDIGO-POJ-0110' / 'fake.pdf'}: added (content is TEXT, not .pdf as the name says; "
        "read as TEXT)",
        f"warning: {corpus / 'INDIGO-POJ-9999'}: refused ('INDIGO-POJ-9999' is not a project in the study's "
        "dataset; its 2 files skipped)"]
    assert "added: 2, refused: 1" in done.stdout

    (tmp_path / "doc3.txt").write_text("A commentary on two SIBs.")
    (tmp_path / "manifest.csv").write_text("path,case_ids,title,type,date\n"
                                           'doc3.txt,"INDIGO-POJ-0110,INDIGO-POJ-0109",Both,commentary,2021,extra\n')
    done = run_cli("corpus", "add", str(study), "--manifest", str(tmp_path / "manifest.csv"))
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stderr.splitlines() if not line.startswith("Importing")] == [
        "warning: manifest.csv row 2: 6 fields, the header has 5; the value after them ('extra') is ignored; "
        "row kept"]
    assert "added: 1" in done.stdout
    store = open_study_store(load_study(study))
    with store.session() as session:
        held = sorted((d.title, d.doc_type, d.date, tuple(sorted(c.case_id for c in d.cases)))
                      for d in session.scalars(select(Document)))
        assert session.scalar(select(DocumentCase).where(DocumentCase.case_id == "INDIGO-POJ-9999")) is None
    assert held == [("Both", "commentary", "2021", ("INDIGO-POJ-0109", "INDIGO-POJ-0110")),
                    ("fake.pdf", "other", None, ("INDIGO-POJ-0110",)),
                    ("interim.txt", "other", None, ("INDIGO-POJ-0110",))]

    # the study's run imports the corpus folder again and says the same of the unknown case's folder,
    # on stderr and in the report (the fake .pdf is unchanged now, so nothing is said of it)
    ran = run_cli("run", str(study), "-o", str(tmp_path / "report"))
    assert ran.returncode == 0, ran.stderr
    refused = (f"corpus: {corpus / 'INDIGO-POJ-9999'}: refused ('INDIGO-POJ-9999' is not a project in the "
               "study's dataset; its 2 files skipped)")
    assert [line for line in ran.stderr.splitlines() if line.startswith("warning: corpus:")] == [f"warning: {refused}"]
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert '<div class="note">' + refused.replace("'", "&#39;") + "</div>" in html  # escaped as Jinja does


@settings(max_examples=60, deadline=None)
@given(title=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=30),
       extras=st.lists(st.text("abcXYZ 019;", min_size=1, max_size=8).filter(str.strip), min_size=1, max_size=3))
def test_a_manifest_row_with_extra_fields_is_kept_and_said(tmp_path_factory, title: str, extras: list[str]) -> None:
    import csv
    import io

    from sibkit.corpus import read_manifest

    folder = tmp_path_factory.mktemp("manifest")
    (folder / "doc.txt").write_text("A document.")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([["path", "case_ids", "title", "type", "date"],
                      ["doc.txt", "INDIGO-POJ-0110", title, "review", "2021-03", *extras]])
    (folder / "m.csv").write_text(out.getvalue(), encoding="utf-8")
    rows, problems = read_manifest(folder / "m.csv")
    assert problems == []
    assert [(r["case_ids"], r["title"], r["type"], r["date"]) for r in rows] == [
        (["INDIGO-POJ-0110"], title.strip(), "review", "2021-03")]
    values = ", ".join(repr(value) for value in extras)
    verb = "values after them ({}) are" if len(extras) > 1 else "value after them ({}) is"
    assert rows[0]["note"] == (f"m.csv row 2: {5 + len(extras)} fields, the header has 5; the "
                               f"{verb.format(values)} ignored; row kept")
