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
    # codebook 2 (built in): its hits give a truth table with positive rows to minimise; codebook 3's
    # sparser hits on this corpus leave every truth-table row negative (the report then says there is
    # nothing to minimise), which would leave this test no solutions to check
    assert "codebook: relational-sib " in text
    text = text.replace("codebook: relational-sib ", "codebook: relational-sib-2 ")
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
    solutions = pd.read_csv(report / "qca-solutions.csv")
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
    assert "qca-truth-table" in pd.ExcelFile(report / "report.xlsx").sheet_names
    # constant and near-constant conditions are left out with a note, the contradictory row is named, the
    # robustness table is there, and the terms say what they rest on
    text = " ".join(html.split())
    assert "Left out as conditions" in text
    assert "Shared responsibility across partners: near-constant (present in 1 of 17 cases, fewer than 10%)" in text
    assert "Contradictory rows" in text and 'id="qca-robustness"' in html
    terms = pd.read_csv(report / "qca-terms.csv")
    assert {"outcome_cases", "hits", "unreviewed_hits", "rests_on"} <= set(terms.columns)


def test_qca_command_matches_the_case_theme_matrix(study: Path) -> None:
    done = run_cli("qca", str(study), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    report = study.parent / "report"
    classes = pd.read_csv(report / "classification.csv").set_index("case_id")["class"]
    compared = classes[classes.isin(["successful", "struggling"])]
    assert result["cases"] == len(compared) == 17
    assert sum(row["n"] for row in result["truth_table"]) == 17
    matrix = pd.read_csv(report / "case-theme-matrix.csv")
    conditions = result["conditions"]
    assert conditions == ["relational-working"]  # the other three are constant or near-constant in these cases
    assert set(result["dropped"]) == {"co-production", "shared-responsibility", "adapting-model"}
    # each observed row: the cases whose density (the report's matrix) is at least the crossover anchor, 2 per 10,000
    rate = matrix[matrix["theme"].isin(conditions)].pivot(index="case_id", columns="theme", values="rate_per_10k")
    for row in result["truth_table"]:
        expected = sorted(c for c in compared.index
                          if all(int(rate.loc[c, t] >= 2.0) == row[t] for t in conditions))
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
    matrix = pd.read_csv(study.parent / "report" / "case-theme-matrix.csv").set_index(["case_id", "theme"])
    for case_id, row in data.iterrows():
        rate = matrix.loc[(case_id, "relational-working"), "rate_per_10k"]
        # anchors 0.5 / 2 / 8 references per 10,000 words, log odds +-ln(19) at the outer anchors
        log_odds = math.log(19) * ((rate - 2) / 6 if rate >= 2 else (rate - 2) / 1.5)
        assert row["relational-working"] == pytest.approx(1 / (1 + math.exp(-log_odds)))


def test_too_many_conditions_are_refused(study: Path) -> None:
    # (the rule counts the conditions kept: none of these six is constant or near-constant in the 17 cases)
    done = run_cli("qca", str(study), "--conditions", "prevention,innovation,capabilities,relational-working,"
                   "theory-of-change,integrated-partnership")
    assert done.returncode == 2
    assert ("6 conditions make a truth table of 64 rows, too many for 17 cases (the rule: at least 0.5 case per "
            "row): use at most 5 conditions with 17 cases, or have at least 32 cases for 6 conditions") in done.stderr
    # the study's own conditions: the constant and near-constant ones are left out, said on stderr, and no
    # condition column (shared-responsibility is no share) is printed as a percentage
    done = run_cli("qca", str(study))
    assert done.returncode == 0, done.stderr
    assert "left out as conditions:" in done.stderr and "shared-responsibility: near-constant" in done.stderr
    truth_table = done.stdout.split("Truth table (observed rows)", 1)[1].split("Contradictory rows", 1)[0]
    assert "%" not in truth_table
    done = run_cli("qca", str(study), "--conditions", "relational-working,nonsense")
    assert done.returncode == 2 and "unknown QCA condition 'nonsense'" in done.stderr


# ---------------------------------------------------------------------------------------------
# calibration, evidence, warnings and robustness on a small hand-made study (no database)

def _small_study(extra: str = ""):
    from sibkit.study.model import parse_study

    return parse_study("qca:\n  conditions: [A, B, C]\n  expectations: {A: present, B: present}\n"
                       "  anchors: {full_out: 0.5, crossover: 2.0, full_in: 8.0}\n" + extra)


def _small_counts(rates: dict[str, dict[str, float]]) -> pd.DataFrame:
    rows = []
    for case, by_theme in rates.items():
        for theme in ("A", "B", "C"):
            rate = by_theme.get(theme, 0.0)
            rows.append({"case_id": case, "theme": theme, "rate_per_10k": rate, "effective_references": int(rate > 0),
                         "reviewed": case == "S1", "words": 10_000})
    return pd.DataFrame(rows)


# S1 has A and B (one reference each, reviewed); S2-S4 and T1 have A; T2-T4 nothing; C is in no case
RATES = {"S1": {"A": 10.0, "B": 10.0}, "S2": {"A": 10.0}, "S3": {"A": 10.0}, "S4": {"A": 10.0}, "T1": {"A": 10.0},
         "T2": {}, "T3": {}, "T4": {}}
CLASSES = pd.Series({c: "successful" if c.startswith("S") else "struggling" for c in RATES})


def test_crisp_membership_is_the_density_from_the_crossover_anchor() -> None:
    from sibkit.qca.study import qca_data

    study = _small_study()
    counts = _small_counts({"S1": {"A": 0.2}, "S2": {"A": 2.0}, "T1": {"A": 20.0}, "T2": {"A": 1.99}})
    data = qca_data(counts, CLASSES[["S1", "S2", "T1", "T2"]], ["A"], study.qca, fuzzy=False).set_index("case_id")
    # one reference in 50,000 words (0.2 per 10,000) is out; 2.0 (the crossover) and above is in
    assert data["A"].to_dict() == {"S1": 0.0, "S2": 1.0, "T1": 1.0, "T2": 0.0}
    doubled = qca_data(counts, CLASSES[["S1", "S2", "T1", "T2"]], ["A"], study.qca, fuzzy=False, scale=2.0)
    assert doubled.set_index("case_id")["A"].to_dict() == {"S1": 0.0, "S2": 0.0, "T1": 1.0, "T2": 0.0}


def test_terms_show_their_cases_and_hits_and_warn_when_one_carries_them() -> None:
    from sibkit.qca.study import qca_from

    result = qca_from(_small_counts(RATES), CLASSES, _small_study())
    # C is in no case: left out with a note, so the truth table has A and B only
    assert result.conditions == ["A", "B"] and result.dropped == {"C": "C: constant (absent from all 8 cases)"}
    assert result.warnings[0].startswith("left out as conditions: C: constant (absent from all 8 cases)")
    assert result.settings["calibration"] == ("crisp: in the set from 2 references that count after review per "
                                              "10,000 words (the crossover anchor)")
    # at consistency 0.8: 11 positive (S1), 10 contradictory and negative (3 of 4): conservative A*B, parsimonious B
    terms = result.terms.set_index("solution")
    assert terms.loc["conservative", "term"] == "A*B" and terms.loc["parsimonious", "term"] == "B"
    assert (terms.loc["conservative", "outcome_cases"], terms.loc["conservative", "hits"]) == (1, 2)
    assert terms.loc["conservative", "rests_on"] == "one case (S1)"
    parsimonious = terms.loc["parsimonious"]
    assert (parsimonious["hits"], parsimonious["rests_on"]) == (1, "one case (S1) and one hit")
    assert "the parsimonious term B rests on one case (S1) and one hit: read it as a description" in \
        " ".join(result.warnings)
    evidence = result.evidence[result.evidence["solution"] == "conservative"]
    assert evidence[["case_id", "condition", "hits", "review"]].values.tolist() == [
        ["S1", "A", 1, "reviewed"], ["S1", "B", 1, "reviewed"]]


def test_the_robustness_table_says_which_terms_survive() -> None:
    from sibkit.qca.study import qca_from

    result = qca_from(_small_counts(RATES), CLASSES, _small_study())
    table = result.robust_terms.set_index(["solution", "term"])
    # densities are 0 or 10 per 10,000 words: anchors x0.5, x1, x2 (crossovers 1, 2, 4) give the same sets; at
    # consistency 0.75 row 10 counts (3 of 4) and every solution is A; at 0.8 and 0.9 the result's terms
    assert table.loc[("conservative", "A*B"), "scenarios_with"] == 6
    assert table.loc[("parsimonious", "B"), "scenarios_with"] == 6
    assert table.loc[("conservative", "A"), "scenarios_with"] == 3 and not table.loc[("conservative", "A"), "in_result"]
    assert table["scenarios"].unique().tolist() == [9] and not table["survives"].any()
    assert bool(table.loc[("conservative", "A*B"), "anchors ×2, consistency 0.9"])
    assert not table.loc[("conservative", "A*B"), "anchors ×2, consistency 0.75"]
    # a scenario that cannot run says why: anchors x20 (crossover 40) put every case outside A and B
    study = _small_study("  robustness: {anchor_scales: [20], consistency: [0.8]}\n")
    scenarios = qca_from(_small_counts(RATES), CLASSES, study).robustness
    failed = scenarios[scenarios["anchor_scale"] == 20]
    assert failed["note"].str.startswith("every condition is constant or near-constant").all()


def test_only_densities_with_hits_nobody_reviewed_are_called_unreviewed() -> None:
    from sibkit.qca.study import qca_from

    result = qca_from(_small_counts(RATES), CLASSES, _small_study())
    assert result.conditions == ["A", "B"]
    # 8 cases x 2 conditions; hits in S1-S4 and T1 for A and in S1 for B (6 cells), S1's reviewed: 4 rest on
    # unreviewed hits; the 10 cells without a hit rest on nothing to review
    assert (result.settings["unreviewed_cells"], result.settings["cells"]) == (4, 16)
