"""Command lines that count say "1 theme", "1 note", and say what to do when there is nothing to count."""

from __future__ import annotations

from pathlib import Path

from sibkit.interop.export import ExportSummary
from sibkit.testing import run_cli

ONE_THEME = """name: one
version: "1"
themes:
  - id: partnership
    name: Partnership
    terms: [partnership working]
"""


def test_codebook_check_and_import_count_one_theme_and_one_term(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(ONE_THEME, encoding="utf-8")
    done = run_cli("codebook", "check", str(tmp_path / "one.yaml"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{tmp_path / 'one.yaml'}: 1 theme, 1 term: valid"
    done = run_cli("export", "qdc", str(tmp_path / "one.yaml"), "-o", str(tmp_path / "one.qdc"))
    assert done.stdout.strip() == f"Wrote {tmp_path / 'one.qdc'}: 1 code"
    done = run_cli("import", "qdc", str(tmp_path / "one.qdc"), "-o", str(tmp_path / "back.yaml"))
    assert done.stdout.strip() == f"Wrote {tmp_path / 'back.yaml'}: 1 theme, 1 term"


def test_the_export_summary_counts_in_words() -> None:
    summary = ExportSummary(None, documents=1, originals=0, cases=1, codes=1, notes=1, references={})
    assert summary.lines()[0] == ("1 document (0 with their original file), 1 code, 1 case, 1 note; "
                                  "references exported: none")
    summary = ExportSummary(None, documents=2, originals=1, cases=0, codes=3, notes=0, references={})
    assert summary.lines()[0].startswith("2 documents (1 with their original file), 3 codes, 0 cases, 0 notes;")


def test_corpus_add_on_an_empty_corpus_folder_says_where_files_go(tmp_path: Path, indigo_dir: Path) -> None:
    study = tmp_path / "s.yaml"
    study.write_text(f"title: t\ndata: {indigo_dir}\ncorpus:\n  database: sqlite:///{tmp_path / 's.sqlite'}\n",
                     encoding="utf-8")
    (tmp_path / "corpus").mkdir()
    done = run_cli("corpus", "add", str(study))
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "corpus"
    assert " ".join(done.stdout.split()) == (
        f"no documents in {folder}: put each case's files in {folder}/<case id>/ (the folder links them to "
        "that case), or name files with --case ID, or a --manifest")


def test_a_study_file_given_for_a_codebook_is_named_as_one(tmp_path: Path) -> None:
    study = tmp_path / "s.yaml"
    study.write_text("title: t\ncodebook: relational-sib-5\nselection:\n  countries: [GB]\n", encoding="utf-8")
    done = run_cli("export", "qdc", str(study), "-o", str(tmp_path / "x.qdc"))
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: {study}: this is a study file, not a codebook (it has title: and no "
                                   "themes:); the codebook it uses is relational-sib-5")
    assert not (tmp_path / "x.qdc").exists()
