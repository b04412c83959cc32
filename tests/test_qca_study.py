"""QCA and outcomes on a real study: ``sibkit run`` on the example study (plus one document and an override
that points to it), the report's sections, ``sibkit qca`` with its refusals."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from conftest import every_item_example

from sibkit.testing import run_cli

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = ("Final evaluation of the ACTion Glos programme. Outcomes <b>were</b> met for 92% of the cohort "
            "through relational working and shared responsibility between partners.\n")


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory, indigo_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("qca-study")
    text = every_item_example()  # the 43-case reading: enough cases for a truth table
    path = folder / "study.yaml"
    path.write_text(text.replace("data: null", f"data: {indigo_dir}")
                    .replace("overrides: null", "overrides: overrides.csv"), encoding="utf-8")
    document = folder / "corpus" / "INDIGO-POJ-0109" / "evaluation.txt"
    document.parent.mkdir(parents=True)
    document.write_text(EVIDENCE, encoding="utf-8")
    sha = hashlib.sha256(document.read_bytes()).hexdigest()
    (folder / "overrides.csv").write_text(
        "case_id,class,reason,source,document,page\n"
        f"INDIGO-POJ-0109,successful,outcomes met per the final evaluation,evaluation report,{sha[:12]},1\n",
        encoding="utf-8")
    done = run_cli("run", str(path))
    assert done.returncode == 0, done.stderr
    return path


def test_the_report_has_the_qca_and_outcome_sections(study: Path) -> None:
    report = study.parent / "report"
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "Combinations of practices (QCA)" in html and "Outcomes on all the evidence" in html
    solutions = pd.read_csv(report / "qca_solutions.csv")
    assert set(solutions["solution"]) == {"conservative", "parsimonious", "intermediate"}
    for expression in solutions["expression"]:
        assert expression in html
    # what it rests on: 17 cases (the override adds one successful case), 27 - 1 left out
    assert "<strong>17 cases</strong> (9 successful, 8 struggling;\n26 with insufficient data left out)" in html
    # the overridden class links to the passage, its text escaped
    assert 'href="#override-INDIGO-POJ-0109"' in html and 'id="override-INDIGO-POJ-0109"' in html
    assert "Outcomes &lt;b&gt;were&lt;/b&gt; met for 92%" in html and "<b>were</b>" not in html
    table = pd.read_csv(report / "classification.csv").set_index("case_id")
    assert table.loc["INDIGO-POJ-0109", "override_page"] == 1
    assert "qca_truth_table" in pd.ExcelFile(report / "report.xlsx").sheet_names


def test_qca_command_matches_the_case_theme_matrix(study: Path) -> None:
    done = run_cli("qca", str(study), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    report = study.parent / "report"
    classes = pd.read_csv(report / "classification.csv").set_index("case_id")["class"]
    compared = classes[classes.isin(["successful", "struggling"])]
    assert result["cases"] == len(compared) == 17
    assert sum(row["n"] for row in result["truth_table"]) == 17
    matrix = pd.read_csv(report / "case_theme_matrix.csv")
    conditions = result["conditions"]
    # each observed row: the cases whose presence pattern (the report's matrix) is that row
    present = matrix[matrix["theme"].isin(conditions)].pivot(index="case_id", columns="theme", values="associated")
    for row in result["truth_table"]:
        expected = sorted(c for c in compared.index
                          if all(int(bool(present.loc[c, t])) == row[t] for t in conditions))
        assert sorted(row["cases"].split()) == expected
        if expected:
            assert row["consistency"] == pytest.approx(
                sum(compared[c] == "successful" for c in expected) / len(expected))


def test_fuzzy_memberships_are_the_calibrated_rates(study: Path) -> None:
    done = run_cli("qca", str(study), "--fuzzy", "--conditions", "relational-working,innovation", "-o",
                   str(study.parent / "fuzzy"))
    assert done.returncode == 0, done.stderr
    assert "Fuzzy-set QCA of 17 cases" in done.stdout
    data = pd.read_csv(study.parent / "fuzzy" / "qca-data.csv").set_index("case_id")
    matrix = pd.read_csv(study.parent / "report" / "case_theme_matrix.csv").set_index(["case_id", "theme"])
    for case_id, row in data.iterrows():
        rate = matrix.loc[(case_id, "relational-working"), "rate_per_10k"]
        # anchors 0.5 / 2 / 8 references per 10,000 words, log odds +-ln(19) at the outer anchors
        log_odds = math.log(19) * ((rate - 2) / 6 if rate >= 2 else (rate - 2) / 1.5)
        assert row["relational-working"] == pytest.approx(1 / (1 + math.exp(-log_odds)))


def test_too_many_conditions_are_refused(study: Path) -> None:
    done = run_cli("qca", str(study), "--conditions", "vision-values,co-production,capabilities,innovation,"
                   "prevention,user-voice")
    assert done.returncode == 2
    assert ("6 conditions make a truth table of 64 rows, too many for 17 cases (the rule: at least 0.5 case per "
            "row): use at most 5 conditions with 17 cases, or have at least 32 cases for 6 conditions") in done.stderr
    done = run_cli("qca", str(study), "--conditions", "relational-working,nonsense")
    assert done.returncode == 2 and "unknown QCA condition 'nonsense'" in done.stderr
