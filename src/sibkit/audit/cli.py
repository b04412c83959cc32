"""``sibkit review audit STUDY``: draw a sample of sentences no counted hit touched, mark it in a sheet,
and print each theme's precision (from review) and miss rate (from the audit)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sibkit.cli_common import StudyArgument, console, errors, print_frame, print_json


def audit_command(
    study_path: StudyArgument,
    sample: Annotated[int | None, typer.Option("--sample", min=1, help="Draw this many more sentences (a seeded "
                                               "random sample of those no counted hit touches).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the draw (default: the study's analysis "
                                             "seed).")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the sentences left to mark to this "
                                                "sheet (.xlsx or .csv); fill its themes column.")] = None,
    import_sheet: Annotated[Path | None, typer.Option("--import", help="Store the marks of a filled sheet.")] = None,
    coder: Annotated[str | None, typer.Option("--coder", help="Who marked (with --import; with -o: leave out "
                                              "what this coder marked).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the per-theme table as JSON.")] = False,
) -> None:
    """The recall audit: a coder marks the themes that sampled sentences without a counted hit express;
    sibkit estimates each theme's miss rate (Wilson 95% interval) beside its precision from review."""
    from sibkit.audit.estimate import instrument_error
    from sibkit.audit.sample import draw_sample, sampled_sentences
    from sibkit.audit.sheet import export_sheet
    from sibkit.audit.sheet import import_sheet as read_marks
    from sibkit.coding import study_codebook
    from sibkit.corpus import open_study_store
    from sibkit.errors import SibkitError
    from sibkit.study import load_study

    study = load_study(study_path)
    store = open_study_store(study)
    if sample is not None:
        draw = draw_sample(study, sample, seed if seed is not None else study.analysis.seed)
        console.print(f"Drew {draw.drawn} of {draw.available} sentences not drawn before (seed {draw.seed}); "
                      f"{draw.population} sentences have no counted hit.", markup=False, soft_wrap=True)
    if import_sheet is not None:
        if not coder:
            raise SibkitError("--import needs --coder: marks are stored with who made them")
        themes = {t.id for t in study_codebook(study).themes}
        result = read_marks(store, import_sheet, coder, themes)
        for problem in result.problems:
            errors.print(f"warning: {problem}", markup=False, highlight=False, soft_wrap=True)
        console.print(f"Stored {result.marks} marks by {coder}; {result.repeated} repeated the standing mark, "
                      f"{result.blank} rows left blank, {len(result.problems)} rows skipped", markup=False)
    if output is not None:
        written = export_sheet(store, output, coder)
        console.print(f"Wrote {written} sentences to {output}: fill the themes column with theme ids (separated by "
                      "';') or 'none', then run `sibkit review audit STUDY --import FILE --coder NAME`.",
                      markup=False, soft_wrap=True)
    table = instrument_error(study)
    if as_json:
        print_json({**table.attrs, "themes": table.to_dict("records")})
        return
    attrs = table.attrs
    if attrs["audited_sentences"]:
        console.print(f"Audit: {attrs['audited_sentences']} marked sentences of {attrs['unhit_sentences']} without a "
                      f"counted hit; miss rate = share of them expressing the theme, {attrs['interval']} interval"
                      + (f"; {attrs['left_out']} marked sentences left out (a counted hit touches them now, or "
                         "their text changed)" if attrs["left_out"] else ""), markup=False, soft_wrap=True)
    drawn = len(sampled_sentences(store))
    unmarked = drawn - attrs["audited_sentences"] - attrs["left_out"]
    if unmarked > 0:
        console.print(f"{unmarked} sentence{'s' if unmarked != 1 else ''} drawn, none marked yet: mark them at "
                      "/review/audit (`sibkit serve`), or write them to a sheet with -o FILE, fill its themes column "
                      "and run `sibkit review audit STUDY --import FILE --coder NAME`."
                      if not attrs["audited_sentences"] else
                      f"{unmarked} drawn sentence{'s' if unmarked != 1 else ''} not marked yet (/review/audit, or -o "
                      "and --import).", markup=False, soft_wrap=True)
    elif not attrs["audited_sentences"]:
        console.print("No audit yet: draw a sample with --sample N and mark it.", markup=False)
    reviewed = bool((table["reviewed"] > 0).any())
    if reviewed or attrs["audited_sentences"]:  # a table of dashes says nothing
        shown = table[["theme", "reviewed", "precision", "audited_sentences", "audit_hits", "miss_rate", "miss_low",
                       "miss_high", "missed_estimate", "recall"]].copy()
        for column in ("precision", "miss_rate", "miss_low", "miss_high", "recall"):  # shares to two places
            shown[column] = [None if value is None else f"{value:.2f}" for value in shown[column]]
        shown["missed_estimate"] = [None if value is None else round(float(value), 1)
                                    for value in shown["missed_estimate"]]
        print_frame(shown, title="Per theme: precision from review (accepted / reviewed), miss rate from the audit")
    if not reviewed:
        console.print("Precision: not reviewed yet.", markup=False)


def register(app: typer.Typer) -> None:
    from sibkit.coding.cli import review_app

    review_app.command("audit")(audit_command)
