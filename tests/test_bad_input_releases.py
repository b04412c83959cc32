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


def test_a_table_without_its_key_column_is_left_empty_not_orphaned(tmp_path: Path, indigo_dir: Path) -> None:
    import csv

    export = tmp_path / "impact-bond-dataset-2025-05-20"
    shutil.copytree(indigo_dir, export)
    metrics = export / "projects_outcome_metrics.csv"
    with metrics.open(encoding="utf-8", newline="") as handle:
        held = sum(1 for row in list(csv.reader(handle))[1:] if "".join(row).strip())
    text = metrics.read_text(encoding="utf-8")
    assert text.startswith("Project ID,")
    metrics.write_text("Project," + text.removeprefix("Project ID,"), encoding="utf-8")
    done = run_cli("data", "download", "--from", str(export))
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[:2] == [
        "warning: projects_outcome_metrics.csv, row 1, column 'Project': unknown column, ignored",
        "warning: projects_outcome_metrics.csv, row 1, column 'Project ID': column missing; values left empty"]
    assert lines[2] == ("warning: projects_outcome_metrics.csv, row 1, column 'Project ID': the key column is "
                        f"missing, so no row can be linked to its project; table left empty ({held:,} rows not read)")
    from sibkit.indigo import load

    assert len(load("indigo@2025-05-20")["outcome_metrics"]) == 0  # no metric without its project
