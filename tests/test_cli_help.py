"""``sibkit --help`` is a map a newcomer can follow: commands by step, one-line helps, where to start."""

from __future__ import annotations

import re

import typer
from typer.testing import CliRunner

import sibkit.cli


def _root_help() -> str:
    result = CliRunner().invoke(sibkit.cli.app, ["--help"], prog_name="sibkit", terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def _panels(output: str) -> dict[str, list[str]]:
    """Each panel's title and the command names listed in it, in order."""
    panels: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        title = re.match(r"╭─ (.+?) ─", line)
        if title:
            current = panels.setdefault(title.group(1), [])
            continue
        row = re.match(r"│ ([a-z][a-z-]*) {2,}", line)
        if row and current is not None:
            current.append(row.group(1))
    panels.pop("Options", None)
    return panels


def test_root_help_lists_the_commands_by_step_of_the_work() -> None:
    panels = _panels(_root_help())
    assert list(panels) == ["The impact bond field (INDIGO)", "A study, step by step",
                            "Measuring and improving the coding", "Output for a paper and other tools",
                            "Team review"]
    assert panels["The impact bond field (INDIGO)"] == ["data", "indigo", "serve"]
    assert panels["A study, step by step"] == ["study", "select", "corpus", "code", "kwic", "review", "classify",
                                               "qca", "run"]
    assert panels["Measuring and improving the coding"] == ["codebook", "reliability", "suggest", "text"]
    assert panels["Output for a paper and other tools"] == ["cite", "methods", "export", "import"]
    assert panels["Team review"] == ["users"]


def test_root_help_says_where_to_start() -> None:
    text = " ".join(_root_help().split())
    assert "Start here:" in text
    for step in ("sibkit data download --from FOLDER", "sibkit indigo stats", "sibkit study init my-study.yaml",
                 "sibkit run my-study.yaml", "sibkit serve"):
        assert step in text, step


def _listings() -> list[tuple[str, str]]:
    """(command path, the text a group's listing shows for it) for every command and group."""
    root = typer.main.get_command(sibkit.cli.app)
    found = []
    for name in root.list_commands(None):  # type: ignore[attr-defined]
        command = root.get_command(None, name)  # type: ignore[attr-defined]
        found.append((name, command.short_help or command.help or ""))
        for sub_name, sub in getattr(command, "commands", {}).items():
            found.append((f"{name} {sub_name}", sub.short_help or sub.help or ""))
    return found


def test_every_listing_shows_a_one_line_help_without_breaks_in_mid_sentence() -> None:
    listed = _listings()
    assert len(listed) > 40
    broken = {path: text for path, text in listed if "\n" in text.split("\n\n")[0]}
    assert broken == {}



def test_group_helps_name_what_their_commands_do() -> None:
    helps = dict(_listings())
    assert "audit" in helps["review"]
    for word in ("measure", "train"):
        assert word in helps["codebook"]


def test_run_names_its_study_argument_as_every_study_command_does() -> None:
    result = CliRunner().invoke(sibkit.cli.app, ["run", "--help"], prog_name="sibkit", terminal_width=100)
    assert result.exit_code == 0
    assert re.search(r"Usage: sibkit run \[OPTIONS\] STUDY\s", result.output), result.output
    assert "STUDY_PATH" not in result.output and "study_path" not in result.output
    for command in ("serve", "classify"):  # the study is optional there
        result = CliRunner().invoke(sibkit.cli.app, [command, "--help"], prog_name="sibkit", terminal_width=100)
        assert result.exit_code == 0
        assert re.search(rf"Usage: sibkit {command} \[OPTIONS\] \[STUDY\]\s", result.output), result.output
        assert "STUDY_PATH" not in result.output and "study_path" not in result.output
