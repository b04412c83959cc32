"""Outcomes judged on contracted targets: kinds of payment and of target, the stage of the evidence,
the rule order, the evidence template and explain in words; figures worked out by hand and with
the csv module."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import openpyxl
import pytest
from conftest import EXAMPLE, every_item_example
from hypothesis import given
from hypothesis import strategies as st

from sibkit.errors import SibkitError
from sibkit.outcomes import PAYMENT_KINDS, TARGET_KINDS, classify, classify_study, payment_kind, target_kinds
from sibkit.outcomes.classify import rule_order_counts
from sibkit.outcomes.explain import explain, explain_lines, period_label
from sibkit.outcomes.rules import counts_registrations, elapsed_share, service_months
from sibkit.study import load_study
from sibkit.testing import run_cli


def rows(folder: Path, name: str, project_id: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle) if r["Project ID"] == project_id]


def maximum(folder: Path, project_id: str) -> float:
    project = next(p for p in csv.DictReader((folder / "projects.csv").open(encoding="utf-8"))
                   if p["ID"] == project_id)
    return float(project["Overall project finance - Maximum potential outcome payment - Amount - (Value)"])


# --- payments ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("note", "kind"), [
    ("covid claim payment", "relief"), ("COVID-19 support payment", "relief"), ("grant from the fund", "relief"),
    ("Part of this payment corresponds to a temporary payment of £2000 per person", "other"),
    ("capped payments", "outcome"), ("This is 100% of the total outcome value claimed", "outcome"), ("", "outcome"),
    (None, "outcome"),
])
def test_payment_kinds_from_the_note(note: str | None, kind: str) -> None:
    assert payment_kind(note) == kind


@pytest.mark.parametrize(("project_id", "with_covid", "without_covid"), [
    ("INDIGO-POJ-0190", 0.872, 0.784),  # successful -> struggling at tolerance 0.15
    ("INDIGO-POJ-0175", 1.011, 0.863),
])
def test_covid_claim_payments_are_left_out_and_listed(dataset, indigo_dir: Path, project_id: str,
                                                      with_covid: float, without_covid: float) -> None:
    actual = [r for r in rows(indigo_dir, "projects_outcome_payments.csv", project_id)
              if r["Type - (Value)"] == "Actual"]
    covid = [float(r["Payments - Amount - (Value)"]) for r in actual if "covid" in r["Notes"].lower()]
    total = sum(float(r["Payments - Amount - (Value)"]) for r in actual)
    top = maximum(indigo_dir, project_id)
    # 0190: 2,072,296 of 2,375,150, of which 104,557 + 104,474 covid claims; 0175: 22,553,795 of 22,297,917,
    # of which 971,234 + 1,136,486 + 1,194,738
    assert round(total / top, 3) == with_covid and round((total - sum(covid)) / top, 3) == without_covid
    every = classify(dataset, [project_id], payment_kinds=PAYMENT_KINDS).cases.iloc[0]
    assert every["payment_ratio"] == pytest.approx(total / top)
    result = classify(dataset, [project_id])
    row = result.cases.iloc[0]
    assert row["payment_ratio"] == pytest.approx((total - sum(covid)) / top)
    assert row["payments_left_out"] == len(covid)
    left = result.payments_left_out
    assert sorted(left["amount"]) == sorted(covid) and set(left["payment_kind"]) == {"relief"}
    assert set(left["note"]) == {"covid claim payment"}
    if project_id == "INDIGO-POJ-0190":
        assert (every["class"], row["class"]) == ("successful", "struggling")
        assert sorted(covid) == [104_474, 104_557]
    summary = result.left_out_summary()
    assert summary["payments"] == len(covid) and summary["payments_by_kind"] == {"relief": len(covid)}
    assert summary["payment_amounts"] == {"GBP": pytest.approx(sum(covid))}


# --- targets -------------------------------------------------------------------------------------------

def test_target_kinds_by_hand() -> None:
    same = target_kinds([("m1", "Enter work", 320), ("m2", "Work for 13 weeks", 320), ("m3", "26 weeks", 320)])
    assert {m: kind for m, (kind, _) in same.items()} == {"m1": "cohort", "m2": "cohort", "m3": "cohort"}
    assert same["m1"][1].startswith("the same target (320) on all 3 metrics with a target")
    skill = target_kinds([("m1", "Metric 1: Young person registers for the programme", 252),
                          ("m2", "Metric 2: completes four weeks", 252), ("m3", "Metric 3: completes", 212),
                          ("m6", "Metric 6: not reconvicted", 252)])
    assert [skill[m][0] for m in ("m1", "m2", "m3", "m6")] == ["contracted", "cohort", "contracted", "cohort"]
    assert skill["m6"][1].startswith("equal to the registrations target of m1 (252)")
    lone = target_kinds([("m1", "Start care", 1250), ("m2", "Tested", None)])
    assert lone == {"m1": ("unknown", "the only target among 2 metrics: it may be the cohort's size"),
                    "m2": (None, "no numeric target")}
    pair = target_kinds([("m1", "a", 100), ("m2", "b", 100)])
    assert {kind for kind, _ in pair.values()} == {"unknown"}
    own = target_kinds([("m1", "a", 100), ("m2", "b", 60), ("m3", "c", 0)])
    assert [own[m][0] for m in ("m1", "m2", "m3")] == ["contracted", "contracted", None]
    assert counts_registrations("Metric 1: Children sign up to the West London Zone (WLZ) programme")
    assert not counts_registrations("Metric 2: ... as evidenced by daily attendance register.")


@given(st.lists(st.tuples(st.sampled_from(["Registers for the programme", "Enters work", "Sustains work"]),
                          st.one_of(st.none(), st.integers(min_value=0, max_value=5))), min_size=1, max_size=6),
       st.randoms())
def test_target_kinds_do_not_depend_on_the_order_of_the_metrics(metrics: list, shuffle) -> None:
    named = [(f"m{i}", definition, None if target is None else float(target))
             for i, (definition, target) in enumerate(metrics)]
    shuffled = list(named)
    shuffle.shuffle(shuffled)
    first, second = target_kinds(named), target_kinds(shuffled)
    assert {m: kind for m, (kind, _) in first.items()} == {m: kind for m, (kind, _) in second.items()}
    assert all(kind is None for m, (kind, _) in first.items() if not dict((n, t) for n, _, t in named)[m])


def test_cohort_targets_on_the_real_export(dataset, indigo_dir: Path) -> None:
    ids = ["INDIGO-POJ-0152", "INDIGO-POJ-0159", "INDIGO-POJ-0195", "INDIGO-POJ-0168", "INDIGO-POJ-0113"]
    result = classify(dataset, ids)
    metrics = result.metrics.set_index(["case_id", "metric_id"])
    targets = {cid: [float(m["Targeted number of service users Or beneficiaries (total) - (Value)"] or "nan")
                     for m in rows(indigo_dir, "projects_outcome_metrics.csv", cid)] for cid in ids}
    assert targets["INDIGO-POJ-0152"] == [320.0] * 20  # Pan-London: all 20 metrics target 320
    assert targets["INDIGO-POJ-0159"] == [300.0] * 22
    assert set(metrics.loc["INDIGO-POJ-0152", "target_kind"]) == {"cohort"}
    assert set(metrics.loc["INDIGO-POJ-0159", "target_kind"]) == {"cohort"}
    skill = metrics.loc["INDIGO-POJ-0195"]
    assert list(skill["target_kind"]) == ["contracted", "cohort", "contracted", "contracted", "contracted", "cohort"]
    assert skill.at["outcomemetric6", "ratio"] is None or skill.at["outcomemetric6", "ratio"] != \
        skill.at["outcomemetric6", "ratio"]  # the reoffending target (252 = registrations) is not compared
    assert set(metrics.loc["INDIGO-POJ-0168", "target_kind"]) == {"contracted"}
    assert metrics.loc[("INDIGO-POJ-0113", "outcomemetric1"), "target_kind"] == "unknown"
    left = result.targets_left_out
    assert sorted(left.groupby("case_id").size().items()) == [("INDIGO-POJ-0152", 20), ("INDIGO-POJ-0159", 22),
                                                              ("INDIGO-POJ-0195", 2)]
    # the Skill Mill's median over the four contracted targets: 242/252, 179/212, 185/240, 74/179
    median = statistics.median([242 / 252, 179 / 212, 185 / 240, 74 / 179])
    assert result.cases.set_index("case_id").at["INDIGO-POJ-0195", "achievement_ratio"] == pytest.approx(median)
    with_cohorts = classify(dataset, ["INDIGO-POJ-0195"], target_kinds=TARGET_KINDS).targets_left_out
    assert with_cohorts.empty


# --- stage ---------------------------------------------------------------------------------------------

def test_months_of_service_and_the_share_elapsed() -> None:
    assert service_months("2020-02", "2026-09") == (2020 * 12 + 1, 2026 * 12 + 8)  # 80 months
    assert elapsed_share(service_months("2020-02", "2026-09"), "2023-04") == pytest.approx(39 / 80)
    assert elapsed_share(service_months("2018-11", "2023-12"), "2024-06") == 1.0  # after the end: all of it
    assert service_months("2018-10", None, 38.5) == (2018 * 12 + 9, 2018 * 12 + 9 + 37)
    assert service_months(None, "2020-01") is None and elapsed_share(None, "2020-01") is None


@pytest.mark.parametrize(("interim", "ratio", "klass"), [
    # Pause (INDIGO-POJ-0177), in implementation: interim results to 2023-04 of 138, 133, 154 -> 122, 103, 103;
    # service 2020-02 to 2026-09 (80 months), 39 months elapsed at 2023-04
    ("flag", 103 / 133, "struggling"),
    ("pro_rata", 103 / (133 * 39 / 80), "successful"),
    ("exclude", None, "insufficient data"),
])
def test_interim_results_are_flagged_pro_rated_or_left_out(dataset, interim: str, ratio: float | None,
                                                           klass: str) -> None:
    result = classify(dataset, ["INDIGO-POJ-0177", "INDIGO-POJ-0195"], interim=interim)
    cases = result.cases.set_index("case_id")
    got = cases.at["INDIGO-POJ-0177", "achievement_ratio"]
    assert (None if got != got else got) == (None if ratio is None else pytest.approx(ratio))
    assert cases.at["INDIGO-POJ-0177", "class"] == klass
    assert cases.at["INDIGO-POJ-0177", "evidence_stage"] == "interim"
    # the Skill Mill is still in implementation, but its results are Final: complete evidence, the same ratio
    assert cases.at["INDIGO-POJ-0195", "evidence_stage"] == "complete"
    assert cases.at["INDIGO-POJ-0195", "class"] == "struggling"
    if interim == "pro_rata":  # payments: 4,811,749 of 5,643,426 x 50/80 (the last Actual payment ends 2024-03)
        assert cases.at["INDIGO-POJ-0177", "payment_ratio"] == pytest.approx(4_811_749 / (5_643_426 * 50 / 80))


def test_cases_per_class_and_stage_for_the_report(dataset, tmp_path: Path) -> None:
    (tmp_path / "every.yaml").write_text(every_item_example(), encoding="utf-8")
    study = load_study(tmp_path / "every.yaml")
    study._dataset = dataset
    result = classify_study(study)
    table = {(r["class"], r["stage"]): r["cases"] for r in result.stage_table().to_dict("records")}
    assert sum(table.values()) == 43
    cases = result.cases
    for (klass, stage), n in table.items():
        assert n == int(((cases["class"] == klass) & (cases["evidence_stage"] == stage)).sum())
    # of the 16 compared, those in implementation with interim results are marked interim
    compared = cases[cases["class"] != "insufficient data"]
    assert len(compared) == 16 and int((compared["evidence_stage"] == "interim").sum()) >= 11


# --- rule order and every index ------------------------------------------------------------------------

def test_payment_first_flips_three_cases(dataset, tmp_path: Path) -> None:
    (tmp_path / "every.yaml").write_text(every_item_example(), encoding="utf-8")
    study = load_study(tmp_path / "every.yaml")
    study._dataset = dataset
    table = classify_study(study).sensitivity.set_index("case_id")
    first, second = table["class_median_achievement_first_at_0.15"], table["class_median_payment_first_at_0.15"]
    # 0168: achievement 1.134 (successful), payments 0.675; 0177: 0.774, payments 0.853; 0195: 0.808, 0.975
    assert sorted(first.index[first != second]) == ["INDIGO-POJ-0168", "INDIGO-POJ-0177", "INDIGO-POJ-0195"]
    counts = rule_order_counts(table.reset_index(), "median", 0.15)
    assert (counts.at["successful", "achievement_first"], counts.at["struggling", "achievement_first"]) == (8, 8)
    assert (counts.at["successful", "payment_first"], counts.at["struggling", "payment_first"]) == (9, 7)
    for index in ("median", "weighted", "share"):
        for order in ("achievement_first", "payment_first"):
            for tolerance in ("0.1", "0.15"):
                assert f"class_{index}_{order}_at_{tolerance}" in table.columns
    assert bool(table.at["INDIGO-POJ-0168", "changes_with_rule_order"])
    assert table["class_at_0.15"].equals(first)  # the study's order is achievement first


# --- the evidence template -----------------------------------------------------------------------------

def test_the_evidence_template_round_trip(tmp_path: Path, indigo_dir: Path) -> None:
    study = tmp_path / "study.yaml"
    study.write_text(EXAMPLE.read_text(encoding="utf-8").replace("data: null", f"data: {indigo_dir}"),
                     encoding="utf-8")
    template = tmp_path / "evidence.xlsx"
    done = run_cli("classify", str(study), "--evidence-template", str(template))
    assert done.returncode == 0, done.stderr
    workbook = openpyxl.load_workbook(template)
    assert workbook.sheetnames == ["evidence", "metrics", "how to fill"]
    sheet = workbook["evidence"]
    header = [c.value for c in sheet[1]]
    assert header[:7] == ["case_id", "name", "indigo_stage", "evidence_stage", "current_class", "decided_by", "why"]
    assert header[-5:] == ["judgement_class", "judgement_document", "judgement_page", "judgement_quote",
                           "judgement_reason"]
    by_case = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert sorted(by_case) == ["INDIGO-POJ-0113", "INDIGO-POJ-0118", "INDIGO-POJ-0123", "INDIGO-POJ-0309",
                               "INDIGO-POJ-0316"]
    column = {name: header.index(name) for name in header}
    hiv = by_case["INDIGO-POJ-0113"]
    assert hiv[column["current_class"]].value == "struggling"
    assert hiv[column["metrics"]].value.startswith("outcomemetric1: target 1,250 (unknown); Interim for 2018-11 to "
                                                   "2021-02: 146 = 11.7%")
    assert "case study: POLITICO Case Study" in hiv[column["documents_listed"]].value
    assert all(hiv[column[c]].value is None for c in header[-5:])

    def fill(case_id: str, **cells: object) -> None:
        for name, value in cells.items():
            by_case[case_id][column[f"judgement_{name}"]].value = value

    fill("INDIGO-POJ-0118", **{"class": "Successful", "document": "MHEP final evaluation", "page": 12,
                               "quote": "outcomes were met for 92% of the cohort"})
    fill("INDIGO-POJ-0309", **{"class": "sucessful"})
    fill("INDIGO-POJ-0316", **{"class": "struggling", "page": "twelve", "document": "MHEP"})
    fill("INDIGO-POJ-0123", quote="a quote without a class")
    workbook.save(template)
    text = study.read_text(encoding="utf-8").replace("overrides: null", "overrides: evidence.xlsx")
    study.write_text(text, encoding="utf-8")
    done = run_cli("classify", str(study), "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "warning: evidence.xlsx row 4 (INDIGO-POJ-0123): a judgement without judgement_class; row ignored",
        "warning: evidence.xlsx row 5 (INDIGO-POJ-0309): judgement_class 'sucessful' is not one of successful, "
        "struggling, insufficient data; row ignored",
        "warning: evidence.xlsx row 6 (INDIGO-POJ-0316): page 'twelve' is not a page number (1, 2, ...); row ignored",
    ]
    import json

    payload = json.loads(done.stdout)
    mhep = payload["INDIGO-POJ-0118"]
    assert (mhep["class"], mhep["computed_class"], mhep["decided_by"]) == ("successful", "insufficient data",
                                                                          "manual override")
    assert (mhep["override_document"], mhep["override_page"], mhep["override_quote"]) == (
        "MHEP final evaluation", 12, "outcomes were met for 92% of the cohort")
    assert mhep["override_reason"] == "the researcher's judgement from MHEP final evaluation"
    assert payload["INDIGO-POJ-0309"]["overridden"] is False and payload["INDIGO-POJ-0316"]["overridden"] is False


def test_a_workbook_without_the_evidence_sheet_is_one_line(tmp_path: Path, dataset) -> None:
    from sibkit.outcomes import read_overrides

    book = openpyxl.Workbook()
    book.active.title = "Sheet1"
    book.save(tmp_path / "other.xlsx")
    with pytest.raises(SibkitError, match="no sheet named 'evidence'; write the template with"):
        read_overrides(tmp_path / "other.xlsx", ["INDIGO-POJ-0118"])
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SibkitError, match=r"not a readable \.xlsx workbook"):
        read_overrides(tmp_path / "broken.xlsx", ["INDIGO-POJ-0118"])


# --- explain in words ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("start", "end", "label"), [
    ("2021-07", "2021-09", "2021-Q3"), ("2021-07-01", "2021-09-30", "2021-Q3"), ("2021-07", "2021-07", "2021-07"),
    ("2021-01", "2021-12", "2021"), ("2020-08", "2024-09", "2020-08 to 2024-09"), (None, "2024-09", "to 2024-09"),
    (None, None, "an unknown period"),
])
def test_periods_in_words(start: str | None, end: str | None, label: str) -> None:
    assert period_label(start, end) == label


def test_explain_says_in_words_what_decided(dataset) -> None:
    result = classify(dataset, ["INDIGO-POJ-0109", "INDIGO-POJ-0190", "INDIGO-POJ-0113"], sensitivity=[0.15])
    lines = explain_lines(explain(dataset, result, "INDIGO-POJ-0109"))
    assert "    no result recorded" in lines and "    no numeric target" in lines
    assert "why: no rule had a value: achievement (median achievement ratio) missing; payment (payment ratio " \
           "(payments made / maximum)) missing" in lines
    lines = explain_lines(explain(dataset, result, "INDIGO-POJ-0190"))
    assert "why: achievement had no value; the payment rule decided: payment ratio (payments made / maximum) " \
           "0.784 < 0.85: struggling (tolerance 0.15)" in lines
    assert "  2020-Q2: 104,557 GBP — COVID, grant or claim payment (note: covid claim payment)" in lines
    lines = explain_lines(explain(dataset, result, "INDIGO-POJ-0113"))
    assert "    result for 2018-11 to 2021-02 (interim): 146 of a target of 1,250 = 11.7% (compared)" in lines
    assert "    target 1,250 (unknown: the only target among 2 metrics: it may be the cohort's size)" in lines
    # achievement comes first and decides; the payment rule after it was never consulted, so it is not named
    assert "why: the achievement rule decided: median achievement ratio 0.117 < 0.85: struggling (tolerance 0.15)" \
        in lines
    assert any(line.startswith("Payments: ") and "; payment evidence " in line for line in lines)


def test_a_quote_not_on_the_page_it_names_is_one_warning(tmp_path: Path) -> None:
    import pandas as pd

    from sibkit.corpus import add_file
    from sibkit.outcomes.overrides import override_passages
    from sibkit.store import open_store

    document = tmp_path / "evaluation.txt"
    document.write_text("Final evaluation. Outcomes were met for 92% of the cohort.", encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    try:
        added = add_file(store, document, case_ids=["INDIGO-POJ-0118"], title="MHEP final evaluation",
                         doc_type="evaluation")
        cases = pd.DataFrame([
            {"case_id": "INDIGO-POJ-0118", "class": "successful", "overridden": True, "override_reason": "met",
             "override_document": "MHEP final evaluation", "override_page": 1,
             "override_quote": "outcomes were  met for 92% of the cohort"},
            {"case_id": "INDIGO-POJ-0309", "class": "successful", "overridden": True, "override_reason": "met",
             "override_document": str(added.document_id), "override_page": 1, "override_quote": "all outcomes met"}])
        passages, warnings = override_passages(store, cases)
    finally:
        store.close()
    assert [p["quote"] for p in passages] == ["outcomes were met for 92% of the cohort", "all outcomes met"]
    assert warnings == [
        "override for INDIGO-POJ-0309: document 1 (MHEP final evaluation) is not linked to that case",
        "override for INDIGO-POJ-0309: the quote is not on page 1 of document 1 (all outcomes met)"]
