"""``sibkit run`` end to end on the example study, the report in a real browser, reproducibility."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import every_item_example, require_chromium

from sibkit.web.server import BROWSER_ARGS, CHROMIUM

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def study_run(tmp_path_factory: pytest.TempPathFactory, indigo_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("example")
    # every item INDIGO lists, every payment and target: the 43-case comparison the report is checked on
    study = folder / "uk-sibs-2016-2021.yaml"
    study.write_text(every_item_example(indigo_dir), encoding="utf-8")
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


def test_the_report_opens_with_what_the_findings_rest_on(study_run: Path, indigo_dir: Path) -> None:
    html = (study_run / "report" / "report.html").read_text(encoding="utf-8")
    text = _text(html[html.index("<body>"):])
    inputs = pd.read_csv(study_run / "report" / "inputs.csv").set_index("input")
    digest = inputs.loc["INDIGO dataset", "sha256"]
    classification = pd.read_csv(study_run / "report" / "classification.csv")
    compared = classification[classification["class"].isin(["successful", "struggling"])]
    not_complete = int((compared["stage"].str.casefold() != "complete").sum())
    assert (len(compared), not_complete) == (16, 11)  # the count: 11 of the 16 still in implementation
    detectable = pd.read_csv(study_run / "report" / "detectable-difference.csv").set_index("struggling_share")
    mdd = detectable.loc[0.2, "detectable_pp"]
    # the stage of the compared cases' results (sibkit.outcomes: a case INDIGO calls complete may hold interim results)
    interim = int((compared["evidence_stage"] != "complete").sum())
    assert interim == 12
    # the compared cases the achievement rule decides on a metric whose target is of unknown kind
    metrics = pd.read_csv(study_run / "report" / "classification-metrics.csv")
    resting = set(metrics.loc[metrics["ratio"].notna() & (metrics["target_kind"] == "unknown"), "case_id"])
    on_unknown = compared[(compared["decided_by"] == "achievement") & compared["case_id"].isin(resting)]
    by_class = on_unknown["class"].value_counts()
    assert (by_class.get("successful", 0), by_class.get("struggling", 0)) == (1, 1)
    unknown = ("2 of the 16 compared cases (1 successful and 1 struggling) are classified on a target of unknown "
               "kind (the only target among a case's metrics, or one two metrics share): it may be the number of "
               "people served rather than an expected number of outcomes.")
    # the first paragraph after the title, sentence by sentence: release, kinds counted, cases per group, stage,
    # the detectable difference against the published effect, what was left out
    assert text.startswith(
        f"UK social impact bonds that went live 2016-2021 Data: the INDIGO impact bond dataset, release of 2025-05-20 "
        f"(SHA-256 {digest[:12]}…). Cases were selected with at least 4 documents "
        "of any kind INDIGO lists (web pages, project updates and contract notices count like evaluations). The "
        "comparison has 8 successful and 8 struggling cases; 27 more cases have too little outcome data to classify "
        f"and are left out. {interim} of the 16 compared cases are not complete (the stage of their results); their "
        "interim results are compared with the lifetime targets and marked interim. With 8 against 8 cases, the "
        f"smallest difference Fisher's exact test detects with 80% power is {mdd:.1f} percentage points (a theme "
        f"in 20% of struggling cases would have to be in {20 + mdd:.1f}% of successful ones); the published effect "
        "is 13 to 23 points, far smaller: a difference of that size would usually go undetected here. No payment "
        f"or target was left out of the classification. {unknown} This report rests on 43 coded documents for 43 "
        "cases")
    assert 65 < mdd < 75  # the issue's ~70 pp
    selection = pd.read_csv(study_run / "report" / "selection.csv")
    listed = int(selection.loc[selection["step"] == "selected", "distinct_documents"].sum())
    # the second paragraph: the evidence base in numbers
    assert "This report rests on 43 coded documents for 43 cases: 43 INDIGO records (database descriptions of " in text
    assert f"INDIGO lists {listed:,} documents for these cases (" in text
    assert "the study's corpus holds 0 documents besides the INDIGO records. 43 of 43 cases are coded from their " \
           "INDIGO record alone. Exploratory — coded from database descriptions" in text
    assert "warning: exploratory: 43 of 43 cases" in (study_run / "stderr.txt").read_text(encoding="utf-8")
    # the flow diagram and the evidence table show listed, held and coded
    assert f"Documents for the 43 cases: {listed} listed, 43 held (43 of them INDIGO records), 43 coded" in text
    by_case = pd.read_csv(study_run / "report" / "evidence-by-case.csv")
    assert len(by_case) == 43 and int(by_case["listed"].sum()) == listed
    assert set(by_case["held"]) == {1} and set(by_case["coded"]) == {1} and bool(by_case["record_only"].all())
    # cases coded from the record alone are marked in the tables that list cases
    classification = pd.read_csv(study_run / "report" / "classification.csv")
    assert bool(classification["record_only"].all())
    assert html.count("INDIGO-POJ-0110 †") >= 2


def test_the_report_has_the_replication_table(study_run: Path) -> None:
    replication = pd.read_csv(study_run / "report" / "replication.csv", keep_default_na=False, na_values=[""])
    assert len(replication) == 9 and list(replication["theme"])[-1] == "overall"
    practices = replication[replication["unit"] == "pp"]
    assert set(practices["published_low"]) == {13} and set(practices["published_high"]) == {23}
    assert set(practices["n_successful"]) == {8} and set(practices["n_struggling"]) == {8}
    # with 8 cases a side every Newcombe interval includes zero, so no practice can be "consistent"; 0 of 8 vs 2 of
    # 8 (-25 pp; theory of change with codebooks 5 and 6, close partnership with codebook 4; by hand, Wilson 95%
    # intervals 0 to 32.4% and 7.1% to 59.1%, Newcombe -25 - 34.1 = -59.1 and -25 + 37.0 = +12.0) has the unadjusted
    # interval -59.1 to +12.0, wholly below +13 ("not consistent" before), but the verdict reads the interval
    # adjusted for the 8 practices (-69.5 to +27.4): no evidence either way. Codebook 6 finds each of the eight
    # practices in as many cases as codebook 5 did (partnership 1 of 8 and 3 of 8, capabilities 3 and 1)
    assert (practices["ci_low"] < 0).all() and (practices["ci_high"] > 0).all()
    assert set(practices["adjustment"]) == {"Bonferroni over 8 themes (each at 99.38%)"}
    assert (practices["adjusted_low"] < practices["ci_low"]).all()
    assert (practices["adjusted_high"] > practices["ci_high"]).all()
    expected = ["not consistent" if high < 13 or low > 23 else "consistent" if low > 0 or high < 0
                else "no evidence either way"
                for low, high in zip(practices["adjusted_low"], practices["adjusted_high"], strict=True)]
    assert practices["verdict"].tolist() == expected == ["no evidence either way"] * 8
    rationale = practices.set_index("theme").loc["theory-of-change"]
    assert (rationale["share_successful"], rationale["share_struggling"]) == (0.0, 0.25)
    assert (round(rationale["ci_high"], 1), round(rationale["adjusted_high"], 1)) == (12.0, 27.4)
    # the relative reading beside it: capabilities 3/8 vs 1/8 is 3 times as often, +200%
    assert practices.set_index("theme").loc["capabilities", "ours_relative"] == pytest.approx(200.0)
    assert replication["verdict"].iloc[-1] == "no evidence either way"
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
    detectable = pd.read_csv(study_run / "report" / "detectable-difference.csv")
    assert detectable["method"].tolist() == ["exact Fisher", "exact Fisher"]
    # the findings open with what the groups can detect beside the published effect, both readings of it
    html = (study_run / "report" / "report.html").read_text(encoding="utf-8")
    opening = _text(html[html.index('id="findings-opening"'):html.index("</p>", html.index('id="findings-opening"'))]
                    .split(">", 1)[1])
    row = detectable.set_index("struggling_share").loc[0.2]
    assert opening == (
        "The comparison has 8 successful and 8 struggling cases. The smallest difference Fisher's exact test detects "
        f"with 80% power at α 0.05 is {row['detectable_pp']:.1f} percentage points (a theme in 20% of struggling "
        f"cases would have to be in {20 + row['detectable_pp']:.1f}% of successful ones). The published effect is 13 "
        "to 23 percentage points: "
        f"this comparison would detect it with a probability of only {100 * row['power_published_low']:.0f}% to "
        f"{100 * row['power_published_high']:.0f}%, so a result that is not significant here is no evidence against "
        "it. Read as relative figures (successful cases 13 to 23% more often than struggling ones), the published "
        "effect is smaller still: a theme in 20% of struggling cases would be in 22.6% to 24.6% of successful ones, "
        "2.6 to 4.6 "
        "percentage points. Verdicts read Newcombe intervals adjusted for the family of themes a published claim "
        "covers (Bonferroni), and say “no evidence either way” when an interval cannot tell the published effect "
        "from none.")
    assert row["power_published_high"] < 0.1
    # no degenerate interval anywhere: a zero-width bootstrap or an unbounded ratio says why there is none
    for degenerate in ("0.0 to 0.0", "+0.0 to +0.0", "-500%", "(-500% to 100%)"):
        assert degenerate not in text
    assert "none: no variation within either group to resample" in text
    assert re.search(r"struggling cases are \d+% more associated \(bootstrap 95% interval: none: in ", text)
    assert " of 2000 resamples the successful cases show none of the themes" in text


def test_small_groups_are_warned_about_in_the_report_and_on_the_console(tmp_path: Path, indigo_dir: Path) -> None:
    study = tmp_path / "small.yaml"
    study.write_text(f"data: {indigo_dir}\nselection:\n  - countries: [GB]\n  - live_years: {{from: 2020, to: 2021}}\n"
                     "  - {min_documents: 4, kinds: all, without_url: true, without_title: true}\n"
                     "outcomes: {payment_kinds: [outcome, relief, other],\n"
                     "           target_kinds: [contracted, cohort, unknown]}\n"
                     "analysis:\n  permutations: 99\n  bootstrap: 100\n", encoding="utf-8")
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
                 "selection-flow.csv", "classification.csv", "classification-metrics.csv",
                 "classification-sensitivity.csv", "case-theme-matrix.csv", "sensitivity.csv", "examples.csv",
                 "inputs.csv", "qca-truth-table.csv", "qca-robustness.csv"):
        assert (report / name).exists(), name
    findings = pd.read_csv(report / "findings.csv")
    assert len(findings) == 14 and set(findings["n_successful"]) == {8} and set(findings["n_struggling"]) == {8}
    flow = pd.read_csv(report / "selection-flow.csv")
    assert list(flow["out"]) == [100, 68, 43]
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "<strong>319</strong> impact bonds in the INDIGO dataset" in html
    assert "<strong>relational-sib version 6</strong> codebook" in html  # the report names the codebook's version
    assert "a hit in a negated clause" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    sheets = pd.ExcelFile(report / "report.xlsx").sheet_names
    assert "findings" in sheets and "classification" in sheets
    assert sheets[0] == "about"  # the release every figure rests on, then one sheet per CSV
    assert sorted(sheets[1:]) == sorted(p.stem for p in report.glob("*.csv"))


def test_one_naming_scheme_in_the_report_folder(study_run: Path, tmp_path: Path) -> None:
    import re
    import shutil

    folder = tmp_path / "report"
    shutil.copytree(study_run / "report", folder)
    before = {p.name for p in folder.iterdir()}
    # sibkit classify and sibkit qca write into the same folder: the same names, nothing beside them
    study = study_run / "uk-sibs-2016-2021.yaml"
    for command in (["classify", str(study), "-o", str(folder)], ["qca", str(study), "-o", str(folder)]):
        done = subprocess.run([sys.executable, "-m", "sibkit", *command], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
    after = {p.name for p in folder.iterdir()}
    assert after == before
    # tables, charts, the report and its paper files (DOCX, methods, bibliography), each CSV's CSVW sidecar
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*\.(csv|csv-metadata\.json|png|html|xlsx|docx|txt|bib|json|ris)",
                            name) for name in after), after


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
        elif name == "report.docx":  # the HTML as Word: the same but for the timestamp's paragraph
            import io

            import docx

            def content(data: bytes) -> list[str]:
                document = docx.Document(io.BytesIO(data))
                return [p.text for p in document.paragraphs if "Generated " not in p.text] + [
                    cell.text for table in document.tables for row in table.rows for cell in row.cells]

            assert content(first[name]) == content(second[name])
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
