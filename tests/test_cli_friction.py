"""A new user's first hour: what the terminal shows is whole, worded, validated the same way
everywhere, and explains mistakes in words. Each test failed on sibkit 0.1."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sibkit.cli_common import format_value
from sibkit.errors import SibkitError
from sibkit.testing import run_cli
from sibkit.yamlfile import load_yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "uk-sibs-2016-2021.yaml"


def sibkit_at(columns: int, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line in a subprocess whose terminal is ``columns`` wide (output to a pipe)."""
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "sibkit", *args], capture_output=True, text=True, timeout=300,
                          env=env)


def example_study(folder: Path, indigo_dir: Path, **replace: str) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8").replace("data: null", f"data: {indigo_dir}")
    for old, new in replace.items():
        text = text.replace(old, new)
    path = folder / "study.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_case_ids_are_never_cut_at_80_columns(tmp_path: Path, indigo_dir: Path) -> None:
    study = example_study(tmp_path, indigo_dir)
    done = sibkit_at(80, "select", str(study))
    assert done.returncode == 0, done.stderr
    assert all(len(line) <= 80 for line in done.stdout.splitlines())
    assert "…" not in done.stdout
    with (tmp_path / "report" / "selection.csv").open(encoding="utf-8") as handle:
        selected = [row["case_id"] for row in csv.DictReader(handle) if row["step"] == "selected"]
    assert len(selected) == 5  # evaluations, case studies, reviews, commentaries, academic articles (the default)
    table_ids = re.findall(r"│ (INDIGO-POJ-\d{4}) +│", done.stdout)
    assert table_ids == selected
    # the flow: counts per step, not the 176 excluded ids (those only with --show-excluded)
    assert "219 excluded (not delivered in GB) -> 100 delivered in GB" in done.stdout
    assert "INDIGO-POJ-0001" not in done.stdout
    shown = sibkit_at(200, "select", str(study), "--show-excluded")
    assert "INDIGO-POJ-0001, INDIGO-POJ-0002" in shown.stdout


def test_figure_tables_have_word_headers_and_dashes_for_missing_figures(indigo_dir: Path) -> None:
    done = sibkit_at(80, "indigo", "stats", "--data", str(indigo_dir), "--country", "GB", "--by", "year")
    assert done.returncode == 0, done.stderr
    assert "…" not in done.stdout and "service_use" not in done.stdout
    assert all(len(line) <= 80 for line in done.stdout.splitlines())
    rows = {cells[0]: cells for cells in (
        [c.strip() for c in line.strip("│ ").split("│")] for line in done.stdout.splitlines() if line.startswith("│"))}
    # GB projects that went live in 2022 and 2023: one each, neither with a capital figure in INDIGO
    assert rows["2022"][1] == "1" and rows["2022"][4] == "–" and rows["2022"][5] == "1"
    assert rows["2023"][4] == "–"
    assert rows["2019"][4] == "16,468,937"
    header = " ".join(line for line in done.stdout.splitlines() if line.startswith("┃"))
    assert "service" in header and "users" in header and "_" not in header


def test_cells_shares_and_missing_values() -> None:
    assert format_value(None) == format_value(float("nan")) == format_value(pd.NA) == "–"
    assert format_value(0.25, percent=True) == "25%"
    assert format_value(0.125, percent=True) == "12.5%"
    assert format_value(0.0) == "0"
    assert format_value(1234567.4) == "1,234,567"


def test_help_shows_no_fake_types_and_names_arguments_in_words() -> None:
    stats_help = run_cli("indigo", "stats", "--help")
    assert stats_help.returncode == 0
    assert "<bool>" not in stats_help.stdout and "<str>" not in stats_help.stdout
    assert re.search(r"--json\s+Print one JSON object", stats_help.stdout)
    select_help = run_cli("select", "--help")
    assert re.search(r"Usage: sibkit select \[OPTIONS\] STUDY\b", select_help.stdout)
    assert "{study" not in select_help.stdout and "{STUDY}" not in select_help.stdout


def test_the_same_validation_everywhere(tmp_path: Path, indigo_dir: Path) -> None:
    done = run_cli("indigo", "stats", "--data", str(indigo_dir), "--country", "UK")
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: --country: 'UK' is not an ISO 3166-1 alpha-2 country code "
                                   "(the United Kingdom is GB)")
    study = example_study(tmp_path, indigo_dir, **{"countries: [GB]": "countries: [UK]"})
    from_file = run_cli("select", str(study))
    assert from_file.returncode == 2
    assert "'UK' is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)" in from_file.stderr
    sector = run_cli("indigo", "stats", "--data", str(indigo_dir), "--sector", "Housing")
    assert sector.returncode == 2 and "'Housing' is not a sector in the dataset (values: " in sector.stderr

    study = example_study(tmp_path, indigo_dir)
    tolerance = run_cli("classify", str(study), "--tolerance", "15")
    assert tolerance.returncode == 2 and "for 15% write 0.15" in tolerance.stderr
    in_file = example_study(tmp_path, indigo_dir, **{"tolerance: 0.15 ": "tolerance: 15 "})
    tolerance = run_cli("select", str(in_file))
    assert tolerance.returncode == 2 and "outcomes.tolerance: tolerance 15 is not between 0 and 1; for 15% " \
        "write 0.15" in tolerance.stderr

    study = example_study(tmp_path, indigo_dir)
    kwic = run_cli("kwic", str(study), "relational-working", "--case", "INDIGO-POJ-9999")
    assert kwic.returncode == 2
    assert "--case 'INDIGO-POJ-9999': no such project in the dataset" in kwic.stderr


@pytest.mark.parametrize(("text", "message"), [
    ("title: x\nselection:\n\t- countries: [GB]\n", "line 3 starts with a tab; indent with spaces"),
    ('title: "x\noutcomes:\n  tolerance: 0.1\n', "line 1: a quoted value is not closed"),
    ("title: x\n outcomes:\n  tolerance: 0.1\n", "line 2: unexpected ':'"),
    ("title: x\nselection:\n  - countries: [GB]\n   - live_years: {from: 2016}\n",
     "line 4: the indentation does not line up with line 3"),
    ("title: x\nselection: [\n  - countries: [GB]\n", "line 3: a list or mapping opened with '[' or '{'"),
])
def test_yaml_mistakes_are_explained_in_words(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(text, encoding="utf-8")
    done = run_cli("study", "check", str(path))
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {path}: {message}")
    assert "token" not in done.stderr and "<block" not in done.stderr


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab: -[]{}\"'\t\n#&*!|>%@`,?")), max_size=60))
def test_any_text_is_either_yaml_or_one_clear_error(text: str) -> None:
    try:
        load_yaml(text, "f.yaml")
    except SibkitError as exc:
        message = str(exc)
        assert message.startswith("f.yaml: ") and "\n" not in message


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(SibkitError, match="nested more than 100 levels deep"):
        load_yaml("[" * 5000 + "]" * 5000, "deep.yaml")


def test_study_check_prints_a_summary(tmp_path: Path, indigo_dir: Path) -> None:
    study = example_study(tmp_path, indigo_dir)
    done = run_cli("study", "check", str(study))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) < 45 and "null" not in done.stdout and "None" not in done.stdout  # one line a setting
    assert "  1. delivered in GB" in lines
    assert "  3. at least 4 counted documents: evaluations, case studies, reviews, commentaries or academic " \
           "articles (listed with a URL and a title, or held in the corpus)" in lines
    assert f"database: sqlite:///{tmp_path / 'study.sqlite'}" in lines
    engine = [line for line in lines if line.startswith("matcher engine: ")]
    assert len(engine) == 1 and engine[0].split(": ", 1)[1].split(" ")[0] in ("hyperscan", "python")
    assert '"selection"' in run_cli("study", "check", str(study), "--json").stdout


def test_long_steps_print_a_line_per_step_when_not_a_terminal(tmp_path: Path, indigo_dir: Path) -> None:
    study = example_study(tmp_path, indigo_dir)
    folder = tmp_path / "corpus" / "INDIGO-POJ-0110"
    folder.mkdir(parents=True)
    for name in ("a.txt", "b.txt"):
        (folder / name).write_text(f"Report {name}: the partners worked together.", encoding="utf-8")
    done = run_cli("corpus", "add", str(study))
    assert done.returncode == 0, done.stderr
    assert "Importing 1/2" in done.stderr and "Importing 2/2" in done.stderr
    coded = run_cli("code", str(study))
    assert coded.returncode == 0, coded.stderr
    assert "Coding 2/2" in coded.stderr


def test_version_names_the_matcher_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    from sibkit.coding.matcher import hyperscan_available

    monkeypatch.setenv("SIBKIT_MATCHER_ENGINE", "python")
    done = run_cli("--version")
    assert done.returncode == 0
    assert done.stdout.splitlines()[1].startswith("matcher engine: python (pyahocorasick;")
    monkeypatch.setenv("SIBKIT_MATCHER_ENGINE", "hyperscan")
    expected = "hyperscan (native)" if hyperscan_available() else "hyperscan, asked for by SIBKIT_MATCHER_ENGINE"
    assert run_cli("--version").stdout.splitlines()[1].startswith(f"matcher engine: {expected}")
    monkeypatch.setenv("SIBKIT_MATCHER_ENGINE", "bogus")
    assert "unknown matcher engine 'bogus'" in run_cli("--version").stdout


@pytest.mark.parametrize(("args", "expected"), [
    (["code", "{study}", "--executor", "bogus://x"], "error: --executor 'bogus://x': expected 'local' or dask://"),
    (["corpus", "add", "{study}", "--type", "bogus"], "error: document type 'bogus' is not one of evaluation"),
    (["cite", "{study}", "--format", "bogus"], "error: --format 'bogus': expected one of csl-json, bibtex, ris"),
    (["review", "export", "{study}", "-o", "decisions.txt"], "write the review file as .xlsx or .csv"),
    (["serve", "{study}", "--port", "99999"], "99999 is not in the range 1<=x<=65535"),
])
def test_a_bad_option_is_one_line_before_any_data_is_read(tmp_path: Path, args: list[str], expected: str) -> None:
    # the study names a dataset and a database that do not exist: an option checked only after they
    # were read would be reported as a missing dataset (or not at all), not as the option
    study = tmp_path / "study.yaml"
    study.write_text(EXAMPLE.read_text(encoding="utf-8").replace("data: null", f"data: {tmp_path / 'absent'}"),
                     encoding="utf-8")
    done = run_cli(*[part.replace("{study}", str(study)) for part in args])
    assert done.returncode == 2
    assert expected in " ".join((done.stdout + done.stderr).split())
    assert not (tmp_path / "study.sqlite").exists()  # no database was opened
