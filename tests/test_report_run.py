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
    (folder / "stderr.txt").write_text(done.stderr, encoding="utf-8")
    return folder


def _text(html: str) -> str:
    """The visible text of an HTML page, white space collapsed."""
    import html as html_module
    import re

    body = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.DOTALL)
    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_the_report_opens_with_the_evidence_base_and_the_exploratory_label(study_run: Path) -> None:
    html = (study_run / "report" / "report.html").read_text(encoding="utf-8")
    text = _text(html[html.index("<body>"):])
    selection = pd.read_csv(study_run / "report" / "selection.csv")
    listed = int(selection.loc[selection["step"] == "selected", "distinct_documents"].sum())
    # the first paragraph after the title: the evidence base in numbers
    assert text.startswith("UK social impact bonds that went live 2016-2021 This report rests on 43 coded documents "
                           "for 43 cases: 43 INDIGO records (database descriptions of ")
    assert f"INDIGO lists {listed:,} documents for these cases (" in text
    assert "the study's corpus holds 0 documents besides the INDIGO records. 43 of 43 cases are coded from their " \
           "INDIGO record alone. The comparison has 8 successful and 8 struggling cases (27 with insufficient " \
           "outcome data left out). Exploratory — coded from database descriptions" in text
    assert "warning: exploratory: 43 of 43 cases" in (study_run / "stderr.txt").read_text(encoding="utf-8")
    # the flow diagram and the evidence table show listed, held and coded
    assert f"Documents for the 43 cases: {listed} listed, 43 held (43 of them INDIGO records), 43 coded" in text
    by_case = pd.read_csv(study_run / "report" / "evidence_by_case.csv")
    assert len(by_case) == 43 and int(by_case["listed"].sum()) == listed
    assert set(by_case["held"]) == {1} and set(by_case["coded"]) == {1} and bool(by_case["record_only"].all())
    # cases coded from the record alone are marked in the tables that list cases
    classification = pd.read_csv(study_run / "report" / "classification.csv")
    assert bool(classification["record_only"].all())
    assert html.count("INDIGO-POJ-0110 †") >= 2


def test_the_report_has_the_replication_table(study_run: Path) -> None:
    replication = pd.read_csv(study_run / "report" / "replication.csv")
    assert len(replication) == 9 and list(replication["theme"])[-1] == "overall"
    practices = replication[replication["unit"] == "pp"]
    assert set(practices["published_low"]) == {13} and set(practices["published_high"]) == {23}
    assert set(practices["n_successful"]) == {8} and set(practices["n_struggling"]) == {8}
    # with 8 cases a side every Newcombe interval includes zero, so no practice can be "consistent"; an
    # interval wholly below +13 pp (e.g. 0 of 8 vs 2 of 8: -25 pp, -59.1 to +12.0) is "not consistent"
    assert (practices["ci_low"] < 0).all() and (practices["ci_high"] > 0).all()
    expected = ["not consistent" if high < 13 or low > 23 else "undetermined"
                for low, high in zip(practices["ci_low"], practices["ci_high"], strict=True)]
    assert practices["verdict"].tolist() == expected
    assert replication["verdict"].iloc[-1] == "undetermined"
    findings = pd.read_csv(study_run / "report" / "findings.csv")
    assert sorted(findings["family"].value_counts().items()) == [("primary", 8), ("secondary", 6)]
    text = _text((study_run / "report" / "report.html").read_text(encoding="utf-8"))
    assert "Replication of the published result" in text
    assert "+13.0 to +23.0 pp [1]" in text
    assert ("Whitehead and Fox, Social Outcomes Conference 2022: “successful SIBs were 13-23 percentage points "
            "more often associated with each practice”") in text
    assert "20% less [2]" in text
    assert "average relative difference" not in text.lower()
    assert "(exact Fisher power) is " in text
    detectable = pd.read_csv(study_run / "report" / "detectable_difference.csv")
    assert detectable["method"].tolist() == ["exact Fisher", "exact Fisher"]


def test_small_groups_are_warned_about_in_the_report_and_on_the_console(tmp_path: Path, indigo_dir: Path) -> None:
    study = tmp_path / "small.yaml"
    study.write_text(f"data: {indigo_dir}\nselection:\n  - countries: [GB]\n  - live_years: {{from: 2020, to: 2021}}\n"
                     "  - min_documents: 4\nanalysis:\n  permutations: 99\n  bootstrap: 100\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "sibkit", "run", str(study)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "SIBKIT_DATA": str(tmp_path / "data")})
    assert done.returncode == 0, done.stderr
    assert "4 cases selected (3 struggling, 1 insufficient data)" in done.stdout
    assert "warning: no successful cases (fewer than 5)" in done.stderr
    assert "warning: only 3 struggling cases (fewer than 5)" in done.stderr
    text = _text((tmp_path / "report" / "report.html").read_text(encoding="utf-8"))
    assert "Warning: only 3 struggling cases (fewer than 5)" in text


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
    assert "<strong>relational-sib version 2</strong> codebook" in html  # the report names the codebook's version
    assert "a hit in a negated clause" in html
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
        phone = browser.new_page(viewport={"width": 390, "height": 900})  # no sideways scroll on a phone
        phone.goto((study_run / "report" / "report.html").as_uri())
        assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        browser.close()
    assert problems == []
    assert all(url.startswith(("file://", "data:")) for url in requests), requests


def test_the_method_section_says_how_suggestions_were_made_and_counted(study_run: Path, tmp_path: Path) -> None:
    import shutil

    study = tmp_path / "uk-sibs-2016-2021.yaml"
    study.write_text((study_run / study.name).read_text(encoding="utf-8")
                     + "\nsuggest: {model: hashing, threshold: 0.3}\n", encoding="utf-8")
    shutil.copy(study_run / "uk-sibs-2016-2021.sqlite", tmp_path / "uk-sibs-2016-2021.sqlite")

    def sibkit(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "sibkit", *args], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done

    sibkit("suggest", str(study))
    review = tmp_path / "review.csv"
    sibkit("review", "export", str(study), "-o", str(review))
    rows = pd.read_csv(review, dtype=str, keep_default_na=False)
    suggested = rows[rows["term"] == "(suggested)"]
    assert len(suggested) > 1
    scores = suggested["score"].astype(float).tolist()
    assert scores == sorted(scores, reverse=True)
    decided = rows.assign(decision="")
    decided.loc[suggested.index[0], "decision"] = "accept"
    decided.loc[suggested.index[1], "decision"] = "reject"
    decided.to_csv(review, index=False)
    sibkit("review", "import", str(study), str(review), "--coder", "ana")
    sibkit("run", str(study), "-o", str(tmp_path / "report"))
    html = " ".join((tmp_path / "report" / "report.html").read_text(encoding="utf-8").split())
    assert (f"Besides keyword hits, {len(suggested)} sentences were suggested by meaning (sentence embeddings from "
            "sibkit-hashing 1;") in html
    assert "is at least 0.3)" in html
    assert f"A person accepted 1, rejected 1; {len(suggested) - 2} are not yet reviewed." in html
    assert "Suggestions count in the comparison only once a person accepts them." in html
