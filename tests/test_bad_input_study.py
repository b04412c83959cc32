"""Study files `sibkit study check` used to call valid although a later command refuses them: a country
code that is no country, a codebook that does not exist, theme ids the codebook does not have. Each
is now said by the check, in one line naming the file and the field."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from sibkit.errors import SibkitError
from sibkit.study import load_study
from sibkit.testing import run_cli


def template(tmp_path: Path, old: str, new: str) -> Path:
    text = resources.files("sibkit.study").joinpath("template.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "study.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_country_code_that_is_no_country_is_refused_when_the_file_is_read(tmp_path: Path) -> None:
    path = template(tmp_path, "  - countries: [GB]", "  - countries: [GB, UK]")
    with pytest.raises(SibkitError) as caught:
        load_study(path)
    assert str(caught.value) == (f"{path}: selection[0].countries: 'UK' is not an ISO 3166-1 alpha-2 country "
                                 "code (the United Kingdom is GB)")
    done = run_cli("study", "check", str(path))
    assert done.returncode == 2 and "OK" not in done.stdout
    assert done.stderr == f"error: {caught.value}\n"


def test_a_codebook_that_does_not_exist_fails_the_check(tmp_path: Path) -> None:
    path = template(tmp_path, "codebook: relational-sib ", "codebook: relational-sibs ")
    done = run_cli("study", "check", str(path))
    assert done.returncode == 2 and "OK" not in done.stdout
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: study.yaml: codebook: {tmp_path / 'relational-sibs'}: cannot read the codebook")
    assert line.endswith("built-in codebooks: relational-sib, relational-sib-5, relational-sib-4, relational-sib-3, "
                         "relational-sib-2, relational-sib-1")


def test_theme_ids_the_codebook_lacks_are_warned_by_the_check(tmp_path: Path) -> None:
    path = template(tmp_path, "  primary_themes: [practices]", "  primary_themes: [practises]")
    path.write_text(path.read_text(encoding="utf-8").replace("  conditions: []", "  conditions: [co-production, "
                                                                                  "coproduction]", 1), encoding="utf-8")
    done = run_cli("study", "check", str(path))
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        "warning: study.yaml: analysis.primary_themes: 'practises' is not a theme of relational-sib",
        "warning: study.yaml: qca.conditions: 'coproduction' is not a theme of relational-sib"]
    assert "OK: the study file is valid." not in done.stdout


@pytest.mark.parametrize("key", ["on", "off", "yes", "No", "y"])
def test_a_key_yaml_would_read_as_true_or_false_is_named_as_written(tmp_path: Path, key: str) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(f"title: x\noutcomes:\n  {key}: 0.1\n", encoding="utf-8")
    with pytest.raises(SibkitError) as caught:
        load_study(path)
    assert str(caught.value).startswith(f"{path}: outcomes.{key}: unknown key (allowed: tolerance, ")


def test_an_empty_study_file_is_refused_not_run_as_every_project(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text("\n  \n", encoding="utf-8")
    done = run_cli("study", "check", str(path))
    assert done.returncode == 2 and "OK" not in done.stdout
    assert done.stderr == (f"error: {path}: the study file is empty; write one with `sibkit study init {path}` "
                           "(or give at least a title)\n")


def test_a_study_file_in_utf16_is_read_and_a_binary_one_is_named_as_not_text(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_bytes("title: Études\n".encode("utf-16"))
    assert load_study(path).title == "Études"
    path.write_bytes(b"title: x\n\x89PNG\r\n\x1a\n\x00\x00\xd0")
    with pytest.raises(SibkitError) as caught:
        load_study(path)
    assert str(caught.value) == (f"{path}: the study file is not UTF-8 text (byte 0x89 at position 9); "
                                 "save it as UTF-8")


def test_data_that_is_not_there_fails_the_check_and_is_not_called_an_export_folder(tmp_path: Path) -> None:
    path = template(tmp_path, "data: null", "data: no-such-export")
    done = run_cli("study", "check", str(path))
    assert done.returncode == 1 and "OK" not in done.stdout
    missing = tmp_path / "no-such-export"
    assert done.stderr.splitlines() == [
        f"warning: data: {missing}: no such file or folder; `sibkit data list` shows the releases held, and "
        "`sibkit data download --from FOLDER` keeps an export as one"]
    lines = done.stdout.splitlines()
    assert lines[1] == "The study file is read, but the data it names cannot be found (the warning above)."
    assert lines[2] == f"data: {missing}: no such file or folder (nor a held release)"
