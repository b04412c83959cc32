"""Hostile study files, reading-list URLs and INDIGO exports: one clear error or a load issue,
never a traceback or a runaway allocation."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from sibkit.errors import DataSourceError, SibkitError
from sibkit.indigo import load
from sibkit.study.model import parse_study
from sibkit.study.selection import normalise_url


@pytest.mark.parametrize(("text", "message"), [
    ("analysis:\n  permutations: 100000000\n", "analysis.permutations: Input should be less than or equal to 100000"),
    ("analysis:\n  bootstrap: 100000000\n", "analysis.bootstrap: Input should be less than or equal to 100000"),
    ("selection: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 100 levels deep"),
    ("a: &a [*a]\n", ""),
])
def test_costly_or_deep_study_values_are_refused(text: str, message: str) -> None:
    with pytest.raises(SibkitError) as caught:
        parse_study(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("url", "key"), [
    ("http://example.org:99999/report", "http://example.org:99999/report"),
    ("http://[::1", "http://[::1"),
    ("https://www.Example.org/a/", "example.org/a"),
])
def test_reading_list_urls_that_do_not_parse_keep_their_text(url: str, key: str) -> None:
    assert normalise_url(url) == key


def test_damaged_indigo_zip_and_huge_fields_are_load_issues(indigo_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(indigo_dir, folder)
    projects = folder / "projects.csv"
    lines = projects.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(",")
    huge = '"' + "x" * 300_000 + '"'
    lines.append(",".join([huge] * len(header)) + "\n")  # a row whose fields exceed the csv module's default
    projects.write_text("".join(lines), encoding="utf-8")
    loaded = load(folder)
    assert len(loaded.projects) >= 319
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as target:
        for path in sorted(indigo_dir.iterdir()):
            if path.is_file():
                target.write(path, path.name)
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as source:
        info = source.getinfo("funds.csv")
    data[info.header_offset + 30 + len("funds.csv") + 100] ^= 0xFF  # corrupt funds.csv's deflate data
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(data))
    dataset = load(damaged)
    assert any(issue.where == "funds.csv" and "damaged in the zip" in issue.message for issue in dataset.issues)
    assert len(dataset.projects) == 319 and len(dataset.funds) == 0
    (tmp_path / "not.zip").write_bytes(b"PK\x03\x04 nothing")
    with pytest.raises(DataSourceError, match="not a readable zip"):
        load(tmp_path / "not.zip")
