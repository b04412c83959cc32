"""``sibkit suggest STUDY``: suggest passages by meaning, for review."""

from __future__ import annotations

from typing import Annotated

import typer

from sibkit.cli_common import StudyArgument, console, progress
from sibkit.errors import SibkitError


def suggest_command(
    study_path: StudyArgument,
    theme: Annotated[list[str] | None, typer.Option("--theme", help="Only this theme (repeatable).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many suggestions per theme.")]
    = None,
) -> None:
    """Suggest sentences that mean what a theme means but no keyword found; review them with
    `sibkit review export`. They count in the comparison only once accepted (see `suggest:` in the
    study file)."""
    from sibkit.study import load_study
    from sibkit.suggest import suggest_study

    study = load_study(study_path)
    with progress("Embedding sentences") as step:
        report = suggest_study(study, themes=theme or None, limit=limit, progress=step)
    if not report.suggestions:
        raise SibkitError(f"{study_path}: no theme to compare with (themes need a definition, examples or terms)")
    console.print(f"Model {report.model}: {report.documents_embedded} documents embedded, {report.documents_cached} "
                  f"from the cache, {report.sentences} sentences; {report.removed} undecided suggestions replaced",
                  markup=False)
    for theme_id, count in report.suggestions.items():
        note = " (re-ranked by review decisions)" if theme_id in report.reranked else ""
        console.print(f"  {theme_id}: {count} suggestions at score >= {study.suggest.threshold_for(theme_id):g}{note}",
                      markup=False)
    console.print("Suggestions count only once accepted: run `sibkit review export`." if not
                  study.suggest.count_unreviewed else
                  "Note: this study counts suggestions before review (suggest.count_unreviewed: true).", markup=False)


def register(app: typer.Typer) -> None:
    app.command("suggest")(suggest_command)
