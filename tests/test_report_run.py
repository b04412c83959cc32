"""``sibkit run`` end to end on the example study, the report in a real browser, reproducibility."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import require_chromium

from sibkit.web.server import BROWSER_ARGS, CHROMIUM

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def study_run(tmp_path_factory: pytest.TempPathFactory, indigo_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("example")
    text = (ROOT / "examples" / "uk-sibs-2016-2021.yaml").read_text(encoding="utf-8")
    study = folder / "uk-sibs-2016-2021.yaml"
    study.write_text(text.replace("data: null", f"data: {indigo_dir}"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "sibkit", "run", str(study)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "SIBKIT_DATA": str(folder / "data")})
    assert done.returncode == 0, done.stderr
    assert "43 cases selected (27 insufficient data, 8 struggling, 8 successful)" in done.stdout
    return folder


def test_the_report_folder_has_every_table_and_chart(study_run: Path) -> None:
    report = study_run / "report"
    for name in ("report.html", "report.xlsx", "findings.png", "themes.png", "heatmap.png", "findings.csv",
                 "selection_flow.csv",
                 "classification.csv", "case_theme_matrix.csv", "sensitivity.csv", "examples.csv", "inputs.csv"):
        assert (report / name).exists(), name
    findings = pd.read_csv(report / "findings.csv")
    assert len(findings) == 14 and set(findings["n_successful"]) == {8} and set(findings["n_struggling"]) == {8}
    flow = pd.read_csv(report / "selection_flow.csv")
    assert list(flow["out"]) == [100, 68, 43]
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "<strong>319</strong> impact bonds in the INDIGO dataset" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    sheets = pd.ExcelFile(report / "report.xlsx").sheet_names
    assert "findings" in sheets and "classification" in sheets


def test_a_second_run_gives_the_same_report(study_run: Path, tmp_path: Path) -> None:
    study = study_run / "uk-sibs-2016-2021.yaml"
    first = {p.name: p.read_bytes() for p in (study_run / "report").iterdir()}
    done = subprocess.run([sys.executable, "-m", "sibkit", "run", str(study), "-o", str(tmp_path / "again")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    second = {p.name: p.read_bytes() for p in (tmp_path / "again").iterdir()}
    assert set(first) == set(second)
    for name in first:
        if name == "report.html":
            strip = [line for line in first[name].decode().splitlines() if "Generated " not in line]
            again = [line for line in second[name].decode().splitlines() if "Generated " not in line]
            assert strip == again
        else:
            assert first[name] == second[name], name


@pytest.mark.browser
def test_the_report_opens_offline_in_chromium(study_run: Path) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        page = browser.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto((study_run / "report" / "report.html").as_uri())
        assert page.title().startswith("UK social impact bonds that went live 2016-2021")
        assert page.locator("h2", has_text="Findings").count() == 1
        assert page.locator("img").count() == 3  # all themes, theme by theme, case x theme
        assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        browser.close()
    assert problems == []
    assert all(url.startswith(("file://", "data:")) for url in requests), requests
