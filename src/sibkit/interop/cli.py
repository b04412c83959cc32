"""``sibkit export qdpx|qdc`` and ``sibkit import qdpx|qdc``: exchange with other QDA tools."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sibkit.cli_common import StudyArgument, console, warn
from sibkit.errors import SibkitError
from sibkit.words import counted


def _group(app: typer.Typer, name: str, help_text: str) -> typer.Typer:
    """The app's command group of that name (another area may have made it), else a new one."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(no_args_is_help=True, help=help_text)
    app.add_typer(group, name=name)
    return group


def _warn(lines: list[str]) -> None:
    for line in lines:
        warn(line)


def export_qdpx_command(
    study_path: StudyArgument,
    output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE", help="The .qdpx file to write.")],
    include_all: Annotated[bool, typer.Option("--all", help="Also unreviewed automatic and suggested references "
                                                            "(marked by a note).")] = False,
    xsd: Annotated[Path | None, typer.Option("--xsd", metavar="XSD", help="Validate project.qde against this XSD "
                                                           "(Project-mrt2019.xsd) before writing.")] = None,
) -> None:
    """Write the study as a REFI-QDA project for NVivo, ATLAS.ti, MAXQDA or QualCoder."""
    from sibkit.interop.archive import write_qdpx
    from sibkit.interop.export import project_files
    from sibkit.interop.xmlsafe import validation_errors
    from sibkit.study import load_study

    study = load_study(study_path)
    xml, sources, summary = project_files(study, include_all=include_all)
    if xsd is not None:
        problems = validation_errors(xml, xsd)
        if problems:
            raise SibkitError(f"project.qde does not validate against {xsd}: {problems[0]}")
    write_qdpx(output, xml, sources)
    _warn(summary.warnings)
    console.print(f"Wrote {output}: " + "; ".join(summary.lines()), markup=False)


def export_qdc_command(
    codebook: Annotated[str, typer.Argument(metavar="CODEBOOK",
                                            help="A built-in codebook name or a codebook YAML file.")],
    output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE", help="The .qdc file to write.")],
) -> None:
    """Write a codebook as a REFI-QDA codebook (.qdc); terms travel in the code descriptions."""
    from sibkit.coding import load_codebook
    from sibkit.interop.codes import export_qdc

    count = export_qdc(load_codebook(codebook), output)
    console.print(f"Wrote {output}: {counted(count, 'code')}", markup=False)


def import_qdpx_command(
    qdpx: Annotated[Path, typer.Argument(metavar="FILE.qdpx",
                                         help="A .qdpx file from NVivo, ATLAS.ti, MAXQDA, QualCoder, ...")],
    study_path: StudyArgument,
    codebook_out: Annotated[Path | None, typer.Option(
        "--codebook-out", metavar="FILE",
        help="Where to write the study's codebook with the new codes (default: <study>-codebook.yaml).")] = None,
    sources: Annotated[Path | None, typer.Option(
        "--sources", metavar="FOLDER", help="Read the files the project names outside the archive "
        "(relative:// paths, plainTextPath) from this folder; without it they are not read.")] = None,
    follow_links: Annotated[bool, typer.Option(
        "--follow-links", help="Read the archive, or a file in --sources, even when a symlink leads it out of "
        "its folder.")] = False,
    case: Annotated[list[str] | None, typer.Option(
        "--case", metavar="ID", help="Link every document of the project to this case of the study (repeatable), "
        "besides the cases the project links it to: only a case's documents are coded and counted.")] = None,
) -> None:
    """Bring another tool's documents, codes, cases and codings into a study."""
    from sibkit.interop.importer import import_qdpx
    from sibkit.study import load_study

    result = import_qdpx(qdpx, load_study(study_path), codebook_out=codebook_out, sources=sources,
                         follow_links=follow_links, case_ids=case or ())
    _warn(result.problems)
    for line in result.lines():
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    if result.codebook_path is not None:
        console.print(f"{len(result.new_themes)} codes are not themes of the study's codebook: wrote "
                      f"{result.codebook_path} with them; set `codebook: {result.codebook_path.name}` in the study "
                      "file to count them.", markup=False, soft_wrap=True)


def import_qdc_command(
    qdc: Annotated[Path, typer.Argument(metavar="FILE.qdc", help="A .qdc codebook file.")],
    output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE",
                                         help="The codebook YAML file to write.")],
    follow_links: Annotated[bool, typer.Option(
        "--follow-links", help="Read the file even when a symlink leads it out of its folder.")] = False,
) -> None:
    """Turn a REFI-QDA codebook into a sibkit codebook (sibkit's own keep their terms)."""
    from sibkit.interop.codes import import_qdc

    if not follow_links:
        from sibkit.paths import check_link

        check_link(qdc)
    result = import_qdc(qdc, output)
    _warn(result.problems)
    themes = result.codebook.themes
    terms = sum(len(t.terms) for t in themes)
    console.print(f"Wrote {output}: {counted(len(themes), 'theme')}, {counted(terms, 'term')}", markup=False)


def register(app: typer.Typer) -> None:
    exports = _group(app, "export", "Write study data for other tools.")
    exports.command("qdpx")(export_qdpx_command)
    exports.command("qdc")(export_qdc_command)
    imports = _group(app, "import", "Bring in data from other tools.")
    imports.command("qdpx")(import_qdpx_command)
    imports.command("qdc")(import_qdc_command)
