"""Success classification, checked against ratios recomputed here from the CSV files."""

from __future__ import annotations

import csv
import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from sibkit.errors import SibkitError
from sibkit.outcomes import classify, classify_study
from sibkit.study import load_study

ROOT = Path(__file__).resolve().parents[1]


def read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def reference_achievement(folder: Path, project_id: str) -> float | None:
    """Median over metrics of achieved/target, using the final (else latest) numeric result."""
    ratios = []
    for metric in read(folder, "projects_outcome_metrics.csv"):
        if metric["Project ID"] != project_id:
            continue
        target = number(metric["Targeted number of service users Or beneficiaries (total) - (Value)"])
        results = [r for r in read(folder, "projects_results.csv")
                   if r["Project ID"] == project_id and r["Outcome Metric Id - (Value)"] == metric["Id"]
                   and number(r["Outcomes achieved - (Value)"]) is not None]
        if not target or not results:
            continue
        finals = [r for r in results if r["Result type - (Value)"] == "Final"] or results
        chosen = max(enumerate(finals), key=lambda p: (p[1]["Period - End - (Value)"], p[0]))[1]
        ratios.append(number(chosen["Outcomes achieved - (Value)"]) / target)
    return statistics.median(ratios) if ratios else None


def reference_payment(folder: Path, project_id: str) -> float | None:
    """Actual outcome payments over the project's maximum potential outcome payment (one currency)."""
    actual = [number(p["Payments - Amount - (Value)"]) for p in read(folder, "projects_outcome_payments.csv")
              if p["Project ID"] == project_id and p["Type - (Value)"] == "Actual"]
    project = next(p for p in read(folder, "projects.csv") if p["ID"] == project_id)
    maximum = number(project["Overall project finance - Maximum potential outcome payment - Amount - (Value)"])
    if not actual or not maximum:
        return None
    return sum(a for a in actual if a is not None) / maximum


@pytest.mark.parametrize("project_id", ["INDIGO-POJ-0168", "INDIGO-POJ-0113", "INDIGO-POJ-0177",
                                        "INDIGO-POJ-0182", "INDIGO-POJ-0121", "INDIGO-POJ-0118"])
def test_ratios_match_an_independent_computation(dataset, indigo_dir: Path, project_id: str) -> None:
    result = classify(dataset, [project_id]).cases.iloc[0]
    expected_a = reference_achievement(indigo_dir, project_id)
    expected_p = reference_payment(indigo_dir, project_id)
    assert (result["achievement_ratio"] if result["achievement_ratio"] == result["achievement_ratio"] else None) \
        == pytest.approx(expected_a)
    assert (result["payment_ratio"] if result["payment_ratio"] == result["payment_ratio"] else None) \
        == pytest.approx(expected_p)


def test_known_cases_by_hand(dataset) -> None:
    cases = classify(dataset, ["INDIGO-POJ-0121", "INDIGO-POJ-0113", "INDIGO-POJ-0118", "INDIGO-POJ-0168"],
                     tolerance=0.15).cases.set_index("case_id")
    # Reboot West: no numeric targets; Actual payments 1,871,540 of a 2,250,000 GBP maximum = 0.8318 < 0.85
    assert cases.at["INDIGO-POJ-0121", "payment_ratio"] == pytest.approx(1_871_540 / 2_250_000)
    assert cases.at["INDIGO-POJ-0121", "class"] == "struggling"
    assert cases.at["INDIGO-POJ-0121", "decided_by"] == "payment"
    # Elton John AIDS Foundation HIV SIB: one metric, achieved/target = 0.1168
    assert cases.at["INDIGO-POJ-0113", "achievement_ratio"] == pytest.approx(0.1168)
    assert cases.at["INDIGO-POJ-0113", "class"] == "struggling"
    # MHEP Staffordshire: neither targets nor payments in INDIGO
    assert cases.at["INDIGO-POJ-0118", "class"] == "insufficient data"
    # Big Picture Learning: the two ratios disagree (achievement 1.13, payment 0.68)
    assert cases.at["INDIGO-POJ-0168", "class"] == "successful"
    assert cases.at["INDIGO-POJ-0168", "payment_ratio"] == pytest.approx(4_183_699 / 6_194_792)


def test_rule_order_decides_when_ratios_disagree(dataset) -> None:
    by_payment = classify(dataset, ["INDIGO-POJ-0168"], rules=("payment", "achievement")).cases.iloc[0]
    assert by_payment["class"] == "struggling" and by_payment["decided_by"] == "payment"


def test_tolerance_and_sensitivity(dataset) -> None:
    # Cornwall Frequent Attenders: achievement ratio 0.867, between 0.85 and 0.90
    result = classify(dataset, ["INDIGO-POJ-0167", "INDIGO-POJ-0121"], sensitivity=[0.10, 0.15])
    table = result.sensitivity.set_index("case_id")
    assert table.at["INDIGO-POJ-0167", "class_at_0.1"] == "struggling"
    assert table.at["INDIGO-POJ-0167", "class_at_0.15"] == "successful"
    assert bool(table.at["INDIGO-POJ-0167", "changes"]) and not bool(table.at["INDIGO-POJ-0121", "changes"])


def test_projects_in_implementation_can_be_left_out(dataset) -> None:
    row = classify(dataset, ["INDIGO-POJ-0168"], classify_in_implementation=False).cases.iloc[0]
    assert row["class"] == "insufficient data" and row["decided_by"] == "not classified: stage Implementation"


def test_overrides_win_and_bad_rows_are_warnings(dataset, tmp_path: Path) -> None:
    overrides = tmp_path / "overrides.csv"
    overrides.write_text(
        "case_id,class,reason,source\n"
        "INDIGO-POJ-0118,successful,met all outcomes,Final evaluation 2023 p. 4\n"
        "INDIGO-POJ-0001,struggling,not in the study,-\n"
        "INDIGO-POJ-0121,great,typo,-\n", encoding="utf-8")
    result = classify(dataset, ["INDIGO-POJ-0118", "INDIGO-POJ-0121"], overrides=overrides)
    cases = result.cases.set_index("case_id")
    assert cases.at["INDIGO-POJ-0118", "class"] == "successful"
    assert cases.at["INDIGO-POJ-0118", "computed_class"] == "insufficient data"
    assert bool(cases.at["INDIGO-POJ-0118", "overridden"])
    assert cases.at["INDIGO-POJ-0121", "class"] == "struggling"
    assert result.warnings == [
        "overrides.csv row 3: case 'INDIGO-POJ-0001' is not in the study; override ignored",
        "overrides.csv row 4: class 'great' is not one of successful, struggling, insufficient data; "
        "override ignored",
    ]


def test_unknown_project_is_one_clear_error(dataset) -> None:
    with pytest.raises(SibkitError, match="unknown project id 'INDIGO-POJ-9999'"):
        classify(dataset, ["INDIGO-POJ-9999"])


def test_the_example_study_classes(dataset) -> None:
    study = load_study(ROOT / "examples" / "uk-sibs-2016-2021.yaml")
    study._dataset = dataset
    result = classify_study(study)
    counts = result.cases["class"].value_counts().to_dict()
    assert counts == {"insufficient data": 27, "struggling": 8, "successful": 8}


def test_classify_command_for_named_projects(indigo_dir: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sibkit", "classify", "--data", str(indigo_dir), "--project",
                           "INDIGO-POJ-0121", "--project", "INDIGO-POJ-0118", "--tolerance", "0.10", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["INDIGO-POJ-0121"]["class"] == "struggling"
    assert payload["INDIGO-POJ-0121"]["payment_ratio"] == pytest.approx(0.8317955555555556)
    assert payload["INDIGO-POJ-0118"]["class"] == "insufficient data"
    assert payload["INDIGO-POJ-0118"]["achievement_ratio"] is None
