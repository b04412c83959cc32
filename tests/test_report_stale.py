"""A report folder holds one report: tables an earlier ``sibkit run`` wrote and this one does not are removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _earlier_table(folder: Path, name: str) -> None:
    """A table as an earlier run wrote it: the CSV and its CSVW sidecar naming it a sibkit report table."""
    (folder / f"{name}.csv").write_text("config,n\n11,3\n", encoding="utf-8")
    sidecar = {"@context": "http://www.w3.org/ns/csvw", "url": f"{name}.csv",
               "dc:title": f"sibkit report table {name}", "dc:creator": "sibkit 0.1.0"}
    (folder / f"{name}.csv-metadata.json").write_text(json.dumps(sidecar), encoding="utf-8")


def test_a_run_removes_the_tables_of_an_earlier_report_and_says_so(tmp_path: Path, indigo_dir: Path) -> None:
    study = tmp_path / "study.yaml"
    text = (ROOT / "examples" / "uk-sibs-2016-2021.yaml").read_text(encoding="utf-8")
    study.write_text(text.replace("data: null", f"data: {indigo_dir}", 1), encoding="utf-8")
    folder = tmp_path / "report"
    folder.mkdir()
    # another study's run (examples/all-projects.yaml writes to the same folder) left its QCA tables
    _earlier_table(folder, "qca-truth-table")
    _earlier_table(folder, "qca-solutions")
    # what is not a report table of sibkit run stays: a standalone command's output, the user's own files
    (folder / "selection-documents.csv").write_text("case_id,kind\n", encoding="utf-8")
    (folder / "qca-data.csv").write_text("case_id,A\n", encoding="utf-8")  # `sibkit qca` writes no sidecar
    (folder / "notes.csv").write_text("mine\n", encoding="utf-8")
    (folder / "notes.csv-metadata.json").write_text('{"url": "notes.csv", "dc:title": "my notes"}',
                                                    encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "sibkit", "run", str(study), "-o", str(folder)],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    names = {path.name for path in folder.iterdir()}
    assert not names & {"qca-truth-table.csv", "qca-truth-table.csv-metadata.json", "qca-solutions.csv",
                        "qca-solutions.csv-metadata.json"}
    assert {"selection-documents.csv", "qca-data.csv", "notes.csv", "notes.csv-metadata.json", "report.html",
            "findings.csv", "findings.csv-metadata.json"} <= names
    assert ("warning: removed 2 tables of an earlier report that this one does not hold (each with its "
            "sidecar): qca-solutions.csv, qca-truth-table.csv") in " ".join(done.stderr.split())
