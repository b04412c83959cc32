"""The ``sibkit`` command line. Each concept adds its commands from its own module."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from sibkit import __version__
from sibkit.errors import SibkitError

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="sibkit: evidence about impact bonds, from the INDIGO dataset to a reproducible study.")

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sibkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    _state["debug"] = debug


def _register() -> None:
    from sibkit.indigo.cli import data_app, indigo_app

    app.add_typer(indigo_app, name="indigo")
    app.add_typer(data_app, name="data")
    for module in ("sibkit.study.cli", "sibkit.corpus.cli", "sibkit.coding.cli", "sibkit.report.cli", "sibkit.qca.cli",
                   "sibkit.web.cli", "sibkit.interop.cli", "sibkit.workbench.cli", "sibkit.suggest.cli"):
        try:
            mod = __import__(module, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue  # that part of sibkit is not built yet
            raise
        mod.register(app)


_register()


def main() -> None:
    """Entry point: user errors end in one line on stderr and exit status 2 (``--debug``: traceback)."""
    debug = "--debug" in sys.argv[1:]
    try:
        app(prog_name="sibkit")  # standalone: usage errors already end in a message and status 2
    except SibkitError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:  # a file the user named that cannot be read or written
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
