"""``sibkit cite STUDY``: the study's corpus as a bibliography; ``sibkit methods STUDY``: its methods paragraph."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sibkit.cli_common import StudyArgument, console
from sibkit.errors import SibkitError


def _checked_format(value: str) -> str:
    """``--format`` checked as it is parsed (before the study's data loads)."""
    from sibkit.paper import FORMATS

    if value not in FORMATS:
        raise SibkitError(f"--format {value!r}: expected one of {', '.join(FORMATS)}")
    return value


def cite_command(
    study_path: StudyArgument,
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", callback=_checked_format,
                                     help="bibtex, csl-json or ris.")] = "bibtex",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file (default: print).")] = None,
) -> None:
    """The study's corpus (and its INDIGO release) as a bibliography: title, organisation, date, kind, URL,
    access date."""
    from sibkit.paper.bibliography import bibliography, render
    from sibkit.study import load_study

    text = render(bibliography(load_study(study_path)), fmt)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"Wrote {output}", markup=False)


def methods_command(study_path: StudyArgument) -> None:
    """A methods paragraph from the study file (criteria, codebook and its measured figures, tolerance,
    tests), ready to paste."""
    from sibkit.paper.methods import methods_paragraph
    from sibkit.study import load_study

    typer.echo(methods_paragraph(load_study(study_path)))


def register(app: typer.Typer) -> None:
    app.command("cite")(cite_command)
    app.command("methods")(methods_command)
