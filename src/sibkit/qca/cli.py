"""``sibkit qca STUDY``: which combinations of themes go with the outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sibkit.cli_common import DataOption, StudyArgument, console, print_frame, print_json, warn


def qca_command(
    study_path: StudyArgument,
    conditions: Annotated[list[str] | None, typer.Option(
        "--conditions", help="Theme ids to use as conditions (comma-separated or repeated; default: the study's "
        "qca.conditions).")] = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help="successful (default) or struggling.")] = None,
    fuzzy: Annotated[bool | None, typer.Option(
        "--fuzzy/--crisp", show_default=False, help="Fuzzy sets (theme rates calibrated with the study's anchors) "
        "or crisp sets (the presence rule; default: the study's qca.fuzzy).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole analysis as JSON.")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Folder for the QCA tables "
                                                "(default: the study's report folder).")] = None,
    data: DataOption = None,
) -> None:
    """Qualitative Comparative Analysis: truth table, solutions and necessary conditions."""
    from sibkit.cli_common import load_with_data
    from sibkit.qca.method import CONTRADICTION_RULE
    from sibkit.qca.study import qca_study, write_tables

    study = load_with_data(study_path, data)
    names = [name.strip() for value in conditions or [] for name in value.split(",") if name.strip()] or None
    result = qca_study(study, conditions=names, outcome=outcome, fuzzy=fuzzy)
    written = write_tables(result, output or study.resolve(study.report.folder))
    for warning in result.warnings:
        warn(warning)
    if as_json:
        print_json(result.to_json())
        return
    s = result.settings
    console.print(f"{'Fuzzy' if result.fuzzy else 'Crisp'}-set QCA of {s['cases']} cases "
                  f"({s['successful']} successful, "
                  f"{s['struggling']} struggling; {s['left_out']} with insufficient data left out), outcome "
                  f"{result.outcome}, {len(result.conditions)} condition{'s' if len(result.conditions) != 1 else ''} "
                  f"({s['calibration']})", markup=False)
    if s.get("unreviewed_cells"):
        console.print(f"{s['unreviewed_cells']} of {s['cells']} case × condition densities rest on unreviewed "
                      "automatic references", markup=False)
    console.print(f"Thresholds: frequency {s['frequency']}, consistency {s['consistency']:g}"
                  + (f", PRI {s['pri']:g}" if s["pri"] is not None else "")
                  + f". Truth table: {s['rows']} rows, {s['positive_rows']} positive, {s['negative_rows']} negative "
                  f"({s['contradictory_rows']} contradictory), {s['remainders']} logical remainders"
                  + (" (limited diversity)" if s["remainders"] else ""), markup=False)
    table = result.truth_table[result.truth_table["n"] > 0].drop(columns=["config"])
    print_frame(table, title="Truth table (observed rows)")
    if len(result.contradictions):
        print_frame(result.contradictions, title="Contradictory rows")
        console.print(f"Rule: {CONTRADICTION_RULE}.", markup=False)
    if len(result.solutions):
        print_frame(result.solutions.drop(columns=["cases"]), title="Solutions")
        print_frame(result.terms.drop(columns=["pattern"]), title="Terms: the cases and hits each rests on")
        print_frame(result.evidence.drop(columns=["example"]), title="Evidence behind each term")
    if len(result.robust_terms):
        shown = result.robust_terms[["solution", "term", "scenarios_with", "scenarios", "survives"]]
        print_frame(shown, title="Robustness over anchor scales and consistency cut-offs (qca-robustness.csv)")
    print_frame(result.necessity, title="Necessary conditions")
    console.print(f"Tables written: {', '.join(str(path) for path in written)}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("qca")(qca_command)
