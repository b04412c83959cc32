"""``sibkit users add|list|disable``: the review workbench's accounts (team mode)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sibkit.cli_common import StudyArgument, console, print_frame

users_app = typer.Typer(no_args_is_help=True, help="Accounts of the review workbench (team mode).")


def _store(study_path: Path):  # type: ignore[no-untyped-def]
    from sibkit.corpus import open_study_store
    from sibkit.study import load_study

    return open_study_store(load_study(study_path))


@users_app.command("add")
def users_add_command(
    study_path: StudyArgument,
    name: Annotated[str, typer.Argument(help="The account's name (stored with every decision it makes).")],
    role: Annotated[str, typer.Option("--role", help="admin, coder or viewer.")] = "coder",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard "
                                                 "input instead of asking.")] = False,
) -> None:
    """Add an account; once one exists, `sibkit serve STUDY` asks everybody to sign in."""
    from sibkit.workbench.auth import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    add_user(_store(study_path), name, password, role)
    console.print(f"Added {name} ({role}).", markup=False)


@users_app.command("list")
def users_list_command(study_path: StudyArgument) -> None:
    """List the accounts (name, role, disabled)."""
    from sibkit.workbench.auth import list_users

    print_frame(list_users(_store(study_path)), title="Accounts")


@users_app.command("disable")
def users_disable_command(study_path: StudyArgument,
                          name: Annotated[str, typer.Argument(help="The account to disable.")]) -> None:
    """Disable an account and sign it out everywhere (its decisions stay)."""
    from sibkit.workbench.auth import disable_user

    disable_user(_store(study_path), name)
    console.print(f"Disabled {name}.", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
