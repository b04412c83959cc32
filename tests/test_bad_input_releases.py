"""`sibkit data download --from` an export whose shape is off (a table missing, columns renamed): each
such problem is a line of its own naming the file and column, not hidden behind a count of a hundred
unreadable values; the release is still kept, and the values' problems are still counted."""

from __future__ import annotations

import shutil
from pathlib import Path

from sibkit.testing import run_cli


def test_a_missing_table_and_renamed_columns_are_each_named(tmp_path: Path, indigo_dir: Path) -> None:
    export = tmp_path / "impact-bond-dataset-2025-05-20"
    shutil.copytree(indigo_dir, export)
    (export / "projects_outcome_metrics.csv").unlink()
    projects = export / "projects.csv"
    header, rest = projects.read_text(encoding="utf-8").split("\n", 1)
    assert header.count("Impact Bond Name - (Value)") == 1
    projects.write_text(header.replace("Impact Bond Name - (Value)", "Name") + "\n" + rest, encoding="utf-8")
    done = run_cli("data", "download", "--from", str(export))
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[:3] == [
        "warning: projects.csv, row 1, column 'Name': unknown column, ignored",
        "warning: projects.csv, row 1, column 'Impact Bond Name - (Value)': column missing; values left empty",
        "warning: projects_outcome_metrics.csv: file missing from the export; table left empty"]
    assert len(lines) == 4 and lines[3].startswith("warning: 100 other problems while loading ")
    assert "Saved 319 projects" in done.stdout
