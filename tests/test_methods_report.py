"""A referee's checks of the report's wording against figures worked out by hand from the shared export."""

from __future__ import annotations

import csv
import re
from pathlib import Path

ALL_PROJECTS = Path(__file__).resolve().parents[1] / "examples" / "all-projects.yaml"


def _projects_in_export(indigo_dir: Path) -> int:
    # the export's projects, counted without sibkit: rows of projects.csv whose ID is an INDIGO project id
    with (indigo_dir / "projects.csv").open(encoding="utf-8-sig", newline="") as handle:
        return sum(1 for row in csv.DictReader(handle) if re.fullmatch(r"INDIGO-POJ-\d{4}", row["ID"] or ""))


def test_the_selection_flow_opens_with_the_dataset_when_the_study_has_no_step(tmp_path, indigo_dir) -> None:
    # all-projects.yaml has no selection step: the flow is empty, and the report's first box said
    # "0 impact bonds in the INDIGO dataset" above "319 cases selected"
    from sibkit.report.render import dataset_total
    from sibkit.study import load_study, select

    path = tmp_path / "study.yaml"
    path.write_text(ALL_PROJECTS.read_text(encoding="utf-8").replace("data: null", f"data: {indigo_dir}"),
                    encoding="utf-8")
    study = load_study(path)
    selection = select(study, study.dataset())
    assert len(selection.flow) == 0
    assert _projects_in_export(indigo_dir) == 319
    assert dataset_total(selection.flow, selection.cases) == 319
