"""``sibkit run STUDY``: the whole study, from data to the report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sibkit.cli_common import StudyArgument, console, errors, warn


def run_command(
    study_path: StudyArgument,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Report folder (default: the study's "
                                                "report.folder).")] = None,
) -> None:
    """Run the whole study (selection, corpus, coding, classification, comparison) and write its report."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from sibkit.report.run import run_study, write_report  # heavy (SciPy, statsmodels): only when run
    from sibkit.study import load_study

    study = load_study(study_path)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True,
                  console=errors, disable=not errors.is_terminal) as progress:  # no stray line in a log
        task = progress.add_task("Starting", total=None)
        results = run_study(study, step=lambda name: progress.update(task, description=name))
        progress.update(task, description="Writing the report")
        folder = write_report(results, output)
    from sibkit.report.run import is_exploratory, record_only_cases

    if is_exploratory(results):
        warn(f"exploratory: {len(record_only_cases(results))} of {len(results.selected)} cases are coded from "
             "their INDIGO record alone (database descriptions, not evaluation documents)")
    for warning in results.warnings:
        warn(warning)
    if results.since_last_run is not None:
        for line in results.since_last_run.lines():
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    classes = results.classification["class"].value_counts()
    console.print(f"{len(results.selected)} cases selected ("
                  + ", ".join(f"{n} {c}" for c, n in classes.items()) + ")", markup=False)
    console.print(f"Report: {folder / 'report.html'}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
