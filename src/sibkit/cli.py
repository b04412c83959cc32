"""The ``sibkit`` command line. Each concept adds its commands from its own module.

Start-up stays quick: area modules import their libraries inside their commands, and the root group
turns an area's functions into click commands only when that command runs (``sibkit --help`` reads
just their names and first lines). ``tests/test_cli_startup.py`` keeps heavy libraries out.
"""

from __future__ import annotations

import inspect
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.models import CommandInfo, TyperInfo

from sibkit import __version__
from sibkit.errors import SibkitError

#: every area's commands and groups, registered by ``register(areas)``; made into click commands on use
areas = typer.Typer(add_completion=False)


class _Pending:
    """A command or group of ``areas`` that has not been made into a click command yet."""

    def __init__(self, info: CommandInfo | TyperInfo) -> None:
        self.info = info


#: the root help's panels, in the order of the work, each with its commands in that order; a command
#: missing here is listed last, under "Other commands"
PANELS: dict[str, tuple[str, ...]] = {
    "The impact bond field (INDIGO)": ("data", "indigo", "serve"),
    "A study, step by step": ("study", "select", "corpus", "code", "kwic", "review", "classify", "qca", "run"),
    "Measuring and improving the coding": ("codebook", "reliability", "suggest", "text"),
    "Output for a paper and other tools": ("cite", "methods", "export", "import"),
    "Team review": ("users",),
}
_ORDER = [name for names in PANELS.values() for name in names]

START_HERE = (
    "Start here: sibkit data download --from FOLDER (an INDIGO export; without --from, the live API), "
    "sibkit indigo stats, sibkit serve; then sibkit study init my-study.yaml and sibkit run my-study.yaml. "
    "Each command's --help says more; README.md walks through them all."
)


def first_paragraph(text: str | None) -> str | None:
    """The first paragraph of a help text as one line: what a group's listing shows for a command."""
    if not text:
        return text
    return " ".join(inspect.cleandoc(text).split("\n\n")[0].split())


class WorkflowGroup(TyperGroup):
    """A group that lists its commands in the order of ``PANELS`` (the others after them, as registered)."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = list(super().list_commands(ctx))
        return sorted(names, key=lambda name: (_ORDER.index(name) if name in _ORDER else len(_ORDER)))


class LazyGroup(WorkflowGroup):
    """The root group: ``areas``' commands are converted (their parameters read) only when resolved.

    Help lists them from stand-ins holding the name and help text only; the order and text are what
    typer would give, since each is built the way typer builds a group's commands.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._listing = False
        pending: dict[str, Any] = {}
        for command_info in areas.registered_commands:
            name = command_info.name or typer.main.get_command_name(command_info.callback.__name__)
            pending[name] = _Pending(command_info)
        for group_info in areas.registered_groups:
            pending[group_info.name or ""] = _Pending(group_info)
        self.commands.update({name: item for name, item in pending.items() if name not in self.commands})

    def _build(self, name: str, info: CommandInfo | TyperInfo) -> Any:
        holder = typer.Typer(add_completion=False, rich_markup_mode=self.rich_markup_mode)
        if isinstance(info, CommandInfo):
            holder.registered_commands.append(info)
            holder.callback()(lambda: None)  # a group holding the one command, as typer would build it
        else:
            holder.registered_groups.append(info)
        return typer.main.get_command(holder).commands[name]  # type: ignore[attr-defined]

    def _stand_in(self, name: str, info: CommandInfo | TyperInfo) -> TyperCommand:
        if isinstance(info, CommandInfo):
            text = inspect.getdoc(info.callback) if info.help is None else inspect.cleandoc(info.help)
            return TyperCommand(name=name, help=text, short_help=info.short_help, hidden=info.hidden,
                                deprecated=info.deprecated, rich_help_panel=info.rich_help_panel)
        solved = typer.main.solve_typer_info_defaults(info)
        return TyperCommand(name=name, help=solved.help, short_help=solved.short_help, hidden=solved.hidden,
                            deprecated=solved.deprecated, rich_help_panel=solved.rich_help_panel)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        item = self.commands.get(cmd_name)
        if not isinstance(item, _Pending):
            return item
        if self._listing:
            return self._stand_in(cmd_name, item.info)
        command = self._build(cmd_name, item.info)
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, cls=LazyGroup,
                  help="sibkit: evidence about impact bonds, from the INDIGO dataset to a reproducible study.",
                  epilog=START_HERE)

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        from sibkit.coding.matcher import describe_engine

        typer.echo(f"sibkit {__version__}")
        engine = describe_engine()
        typer.echo(f"matcher engine: {engine}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    _state["debug"] = debug


def _register() -> None:
    areas_in_order = ("indigo", "releases", "study", "corpus", "coding", "report", "qca", "web", "interop",
                      "workbench", "suggest", "paper", "text", "secondreader", "audit")
    for area in areas_in_order:
        __import__(f"sibkit.{area}.cli", fromlist=["register"]).register(areas)
    panel_of = {name: panel for panel, names in PANELS.items() for name in names}
    for command_info in areas.registered_commands:
        name = command_info.name or typer.main.get_command_name(command_info.callback.__name__)
        command_info.rich_help_panel = panel_of.get(name, "Other commands")
        _one_line_listing(command_info)
    for group_info in areas.registered_groups:
        group_info.rich_help_panel = panel_of.get(group_info.name or "", "Other commands")
        for command_info in group_info.typer_instance.registered_commands:
            _one_line_listing(command_info)


def _one_line_listing(info: CommandInfo) -> None:
    """Listings show a command's first paragraph on one line (rich help keeps a docstring's line breaks)."""
    if info.short_help is None:
        info.short_help = first_paragraph(inspect.getdoc(info.callback) if info.help is None else info.help)


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
