"""The command line starts without the heavy libraries, and its lazily built help is typer's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("pandas", "numpy", "fastapi", "starlette", "pydantic", "sqlalchemy", "alembic", "matplotlib", "scipy",
         "statsmodels", "httpx", "jinja2", "yaml", "openpyxl", "trafilatura", "lxml", "pycountry", "sklearn")


def _run(code: str, env: dict[str, str] | None = None) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "100", **(env or {})})
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


_HELP = """
import contextlib, io, json, sys
import sibkit.cli
from typer.testing import CliRunner
heavy = {heavy!r}
runner = CliRunner()
codes = {{}}
for args in {commands!r}:
    codes[" ".join(args)] = runner.invoke(sibkit.cli.app, args).exit_code
print(json.dumps({{"codes": codes, "loaded": sorted(m for m in heavy if m in sys.modules)}}))
"""


def test_help_of_every_command_loads_no_heavy_library() -> None:
    import typer

    import sibkit.cli

    group = typer.main.get_command(sibkit.cli.app)
    commands = [["--help"], []]
    for name in group.list_commands(None):  # type: ignore[attr-defined]
        command = group.get_command(None, name)  # type: ignore[attr-defined]
        commands.append([name, "--help"])
        for sub in getattr(command, "commands", {}):
            commands.append([name, sub, "--help"])
    result = _run(_HELP.format(heavy=HEAVY, commands=commands))
    assert result["loaded"] == []
    assert result["codes"].pop("") == 2  # no command: the help, as a usage error
    assert set(result["codes"].values()) == {0}, result["codes"]
    assert len(result["codes"]) > 30


def test_lazy_root_help_is_what_typer_builds_eagerly() -> None:
    import typer
    from typer.testing import CliRunner

    import sibkit.cli

    eager = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                        help=sibkit.cli.app.info.help, epilog=sibkit.cli.app.info.epilog,
                        cls=sibkit.cli.WorkflowGroup)  # the same order and panels, built the eager way
    eager.registered_callback = sibkit.cli.app.registered_callback
    eager.registered_commands = list(sibkit.cli.areas.registered_commands)
    eager.registered_groups = list(sibkit.cli.areas.registered_groups)
    runner = CliRunner()
    expected = runner.invoke(eager, ["--help"], prog_name="sibkit", terminal_width=100)
    lazy = runner.invoke(sibkit.cli.app, ["--help"], prog_name="sibkit", terminal_width=100)
    assert lazy.exit_code == expected.exit_code == 0
    assert lazy.output == expected.output
    assert "indigo" in lazy.output and "Look at the INDIGO impact bond dataset." in lazy.output
    for name in ("indigo", "run", "export"):
        assert runner.invoke(sibkit.cli.app, [name, "--help"]).output == runner.invoke(eager, [name, "--help"]).output


def test_indigo_stats_loads_pandas_but_not_the_rest(indigo_dir: Path, tmp_path: Path) -> None:
    env = {"SIBKIT_DATA": str(tmp_path)}
    code = f"""
import json, sys
from typer.testing import CliRunner
import sibkit.cli
runner = CliRunner()
outputs = [runner.invoke(sibkit.cli.app, ["indigo", "stats", "--data", {str(indigo_dir)!r}]).output for _ in "ab"]
print(json.dumps({{"outputs": outputs, "loaded": sorted(m for m in {HEAVY!r} if m in sys.modules)}}))
"""
    first = _run(code, env)  # types the export and keeps the typed tables
    second = _run(code, env)  # reads them back
    assert first["outputs"][0] == first["outputs"][1] == second["outputs"][0]
    assert "Impact bonds: 319" in second["outputs"][0]
    assert second["loaded"] == ["numpy", "pandas"]
