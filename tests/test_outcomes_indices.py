"""Outcomes on all the evidence: the three indices worked by hand, the index the study chooses, the
sensitivity table by index, ``classify --explain``."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import pytest

from sibkit.outcomes import TARGET_KINDS, classify, indices
from sibkit.outcomes.classify import _weights, decide
from sibkit.testing import run_cli


def metric(ratio: float | None, price: float | None, target: float | None, currency: str | None = "GBP",
           price_usd: float | None = None, stated: float | None = None) -> dict[str, object]:
    return {"ratio": ratio, "price": price, "price_usd": price_usd, "price_currency": currency, "target": target,
            "stated_maximum": stated}


def test_three_indices_by_hand() -> None:
    # maximum payments 10 x 10 = 100, 30 x 10 = 300, 60 x 10 = 600 -> weights .1 .3 .6
    evidence = [metric(0.5, 10, 10), metric(1.0, 30, 10), metric(1.2, 60, 10)]
    _weights(evidence)
    assert [e["weight"] for e in evidence] == pytest.approx([0.1, 0.3, 0.6])
    readings = indices(evidence)
    assert readings["achievement_ratio"] == pytest.approx(1.0)
    assert readings["weighted_index"] == pytest.approx(0.1 * 0.5 + 0.3 * 1.0 + 0.6 * 1.2)  # 1.07
    assert readings["share_at_target"] == pytest.approx(2 / 3)
    # with a tolerance of 0.15 the weighted index says successful, the share struggling
    assert decide({"achievement": readings["weighted_index"]}, ["achievement"], 0.15)[0] == "successful"
    assert decide({"achievement": readings["share_at_target"]}, ["achievement"], 0.15)[0] == "struggling"


def test_weights_leave_out_unpriced_metrics_and_use_usd_across_currencies() -> None:
    # no price: not weighted; the stated maximum stands in for price x target
    evidence = [metric(0.8, None, 50), metric(1.0, None, 20, stated=300), metric(0.4, 5, 20)]
    _weights(evidence)
    assert [e["max_payment"] for e in evidence] == [None, 300, 100]
    assert indices(evidence)["weighted_index"] == pytest.approx((300 * 1.0 + 100 * 0.4) / 400)
    assert indices(evidence)["achievement_ratio"] == pytest.approx(0.8)
    # two currencies: USD prices x target
    mixed = [metric(1.0, 100, 10, "GBP", price_usd=130), metric(0.5, 100, 10, "EUR", price_usd=110)]
    _weights(mixed)
    assert [e["max_payment"] for e in mixed] == [1300, 1100]
    assert indices(mixed)["weighted_index"] == pytest.approx((1300 * 1.0 + 1100 * 0.5) / 2400)
    # no ratio anywhere: no index
    assert indices([metric(None, 10, 10)]) == {"achievement_ratio": None, "weighted_index": None,
                                               "share_at_target": None, "metrics_weighted": 0}


def read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def reference_indices(folder: Path, project_id: str) -> tuple[float | None, float | None, float | None]:
    """Median, weighted (price x target) and share at target, recomputed from the CSV files."""
    prices = {p["Outcome Metric Id - (Value)"]: p for p in read(folder, "projects_outcome_pricings.csv")
              if p["Project ID"] == project_id}
    results = [r for r in read(folder, "projects_results.csv") if r["Project ID"] == project_id]
    ratios, weighted = [], []
    for m in read(folder, "projects_outcome_metrics.csv"):
        if m["Project ID"] != project_id:
            continue
        try:
            target = float(m["Targeted number of service users Or beneficiaries (total) - (Value)"])
        except ValueError:
            continue
        own = [r for r in results if r["Outcome Metric Id - (Value)"] == m["Id"]
               and r["Outcomes achieved - (Value)"].replace(".", "", 1).isdigit()]
        if not own or not target:
            continue
        finals = [r for r in own if r["Result type - (Value)"] == "Final"] or own
        chosen = max(enumerate(finals), key=lambda p: (p[1]["Period - End - (Value)"], p[0]))[1]
        ratio = float(chosen["Outcomes achieved - (Value)"]) / target
        ratios.append(ratio)
        price = prices.get(m["Id"], {}).get("Price Per Unit - Amount - (Value)", "")
        if price:
            weighted.append((float(price) * target, ratio))
    if not ratios:
        return None, None, None
    total = sum(w for w, _ in weighted)
    return (statistics.median(ratios), sum(w * r for w, r in weighted) / total if weighted else None,
            sum(r >= 1 for r in ratios) / len(ratios))


@pytest.mark.parametrize("project_id", ["INDIGO-POJ-0195", "INDIGO-POJ-0168", "INDIGO-POJ-0167",
                                        "INDIGO-POJ-0001", "INDIGO-POJ-0182"])
def test_indices_match_an_independent_computation(dataset, indigo_dir: Path, project_id: str) -> None:
    row = classify(dataset, [project_id], target_kinds=TARGET_KINDS).cases.iloc[0]  # every target, as read here
    expected = reference_indices(indigo_dir, project_id)
    got = tuple(None if v != v else v for v in (row["achievement_ratio"], row["weighted_index"],
                                                 row["share_at_target"]))
    assert got == pytest.approx(expected)


def test_the_skill_mill_by_hand(dataset) -> None:
    # INDIGO-POJ-0195, six priced metrics (GBP): achieved 242 237 179 185 74 162, targets 252 252 212 240
    # 179 252, prices 4390 1310 8240 9340 430 320; weighted = sum(price x achieved) / sum(price x target)
    row = classify(dataset, ["INDIGO-POJ-0195"], index="weighted", target_kinds=TARGET_KINDS).cases.iloc[0]
    assert row["weighted_index"] == pytest.approx(4_659_370 / 5_582_490)  # 0.8346
    assert row["share_at_target"] == 0.0 and row["metrics_weighted"] == 6
    assert row["achievement_index"] == "weighted" and row["class"] == "struggling"
    # by default metrics 2 and 6 are left out: their target, 252, is the registrations target of metric 1
    # (a cohort size); the four left: (4390x242 + 8240x179 + 9340x185 + 430x74) / (4390x252 + 8240x212
    # + 9340x240 + 430x179) = 4,297,060 / 5,171,730
    row = classify(dataset, ["INDIGO-POJ-0195"], index="weighted").cases.iloc[0]
    assert row["weighted_index"] == pytest.approx(4_297_060 / 5_171_730)  # 0.8309
    assert row["metrics_weighted"] == 4 and row["targets_left_out"] == 2


def test_the_index_decides_and_the_others_are_kept(dataset) -> None:
    ids = ["INDIGO-POJ-0168", "INDIGO-POJ-0195"]
    by_median = classify(dataset, ids, sensitivity=[0.10, 0.15]).cases.set_index("case_id")
    by_weight = classify(dataset, ids, index="weighted", sensitivity=[0.10, 0.15])
    cases = by_weight.cases.set_index("case_id")
    # 0168: median 1.134 -> successful; no prices -> the payment rule, 0.675 -> struggling; 8 of 10 at target
    assert by_median.loc["INDIGO-POJ-0168", "class"] == "successful"
    assert cases.loc["INDIGO-POJ-0168", "class"] == "struggling"
    assert cases.loc["INDIGO-POJ-0168", "decided_by"] == "payment"
    assert cases.loc["INDIGO-POJ-0168", "share_at_target"] == pytest.approx(0.8)
    assert list(cases.loc["INDIGO-POJ-0168", ["class_by_median", "class_by_weighted", "class_by_share"]]) == [
        "successful", "struggling", "struggling"]
    assert bool(cases.loc["INDIGO-POJ-0168", "indices_disagree"])
    assert not bool(cases.loc["INDIGO-POJ-0195", "indices_disagree"])
    table = by_weight.sensitivity.set_index("case_id")
    assert table.loc["INDIGO-POJ-0168", "class_median_at_0.15"] == "successful"
    assert table.loc["INDIGO-POJ-0168", "class_at_0.15"] == "struggling"  # the study's index
    assert bool(table.loc["INDIGO-POJ-0168", "changes_with_index"])


def test_unknown_index_is_refused(dataset) -> None:
    from sibkit.errors import SibkitError

    with pytest.raises(SibkitError, match="unknown achievement index 'mean'"):
        classify(dataset, ["INDIGO-POJ-0195"], index="mean")


def test_explain_names_the_rule_and_the_missing_evidence(indigo_dir: Path) -> None:
    done = run_cli("classify", "--data", str(indigo_dir), "--project", "INDIGO-POJ-0195", "--explain",
                   "INDIGO-POJ-0195")
    assert done.returncode == 0, done.stderr
    assert "why: the achievement rule decided: median achievement ratio 0.808 < 0.85: struggling" in done.stdout
    assert "target 252 (contracted: a target of its own)" in done.stdout
    assert "price 4,390.00 GBP, maximum payment 1,106,280, weight 0.214" in done.stdout
    assert "result for 2020-08 to 2024-09 (final): 242 of a target of 252 = 96.0% (compared)" in done.stdout
    assert ("target 252 (cohort size: equal to the registrations target of outcomemetric1 (252): the cohort, "
            "not a contracted expectation) — left out") in done.stdout
    done = run_cli("classify", "--data", str(indigo_dir), "--project", "INDIGO-POJ-0109", "--explain",
                   "INDIGO-POJ-0109", "--json")
    account = json.loads(done.stdout)
    assert account["class"] == "insufficient data" and len(account["metrics"]) == 20
    assert "metric outcomemetric2: no numeric target (targeted number of service users or beneficiaries)" \
        in account["missing"]
    assert any(item.startswith("no outcome payments made") for item in account["missing"])
    assert account["payments"]["maximum_payment"] == 1_262_980
    done = run_cli("classify", "--data", str(indigo_dir), "--project", "INDIGO-POJ-0195", "--explain", "NOPE")
    assert done.returncode == 2 and "NOPE is not among the classified cases" in done.stderr


def test_the_theme_comparison_is_repeated_under_each_index() -> None:
    import pandas as pd

    from sibkit.analysis import Settings, sensitivity
    from sibkit.study.model import Presence

    counts = pd.DataFrame({"case_id": ["A", "B", "C", "D"], "theme": "t", "effective_references": [1, 1, 0, 0],
                           "rate_per_10k": [1.0, 1.0, 0, 0]})
    # by the median A, B successful (both associated): +100 pp; by the share B and C swap: 1/2 - 1/2 = 0 pp
    table = pd.DataFrame({"case_id": ["A", "B", "C", "D"],
                          "class_at_0.15": ["successful", "successful", "struggling", "struggling"],
                          "class_median_at_0.15": ["successful", "successful", "struggling", "struggling"],
                          "class_share_at_0.15": ["successful", "struggling", "successful", "struggling"]})
    scenarios, summary = sensitivity(counts, table, [Presence(min_references=1)],
                                     Settings(permutations=99, bootstrap=100), index="median")
    assert list(zip(scenarios["index"], scenarios["difference_pp"], strict=True)) == [("median", 100.0),
                                                                                      ("share", 0.0)]
    assert summary.set_index("theme").loc["t", "scenarios"] == 2
    assert not bool(summary.set_index("theme").loc["t", "survives"])
