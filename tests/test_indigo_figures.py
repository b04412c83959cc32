"""Derived fields, headline figures and the ``sibkit indigo`` commands.

Expected figures are recomputed here from the CSV files with the ``csv`` module, following the
definitions in the foundation issue, independently of sibkit's pandas code.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from sibkit.indigo import Filters, derived, stats

USD = "Overall project finance - Total investment commitment - Amount USD - {} - (Value)"
LOCAL = "Overall project finance - Total investment commitment - Amount - {} - (Value)"
CURRENCY = "Overall project finance - Total investment commitment - Currency - (Value)"
ACTUAL = "Service and beneficiaries - Actual number of unique service users or beneficiaries engaged (total) - (Value)"
TARGET = "Service and beneficiaries - Targeted number of unique service users or beneficiaries (total) - (Value)"
START = "Dates - Start date of service provision - (Value)"
SIGNED = "Dates - Date outcomes contract signed - (Value)"


def number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def reference_projects(folder: Path) -> list[dict]:
    """Each project's derived fields, computed with plain Python from the CSV files."""
    with (folder / "projects_delivery_locations.csv").open(encoding="utf-8") as handle:
        locations = list(csv.DictReader(handle))
    with (folder / "projects.csv").open(encoding="utf-8") as handle:
        projects = list(csv.DictReader(handle))
    out = []
    for row in projects:
        countries = {loc["Location - Country - (Value)"] for loc in locations
                     if loc["Project ID"] == row["ID"] and loc["Location - Country - (Value)"]}
        if row["Jurisdiction - Jurisdiction - (Value)"]:
            countries.add(row["Jurisdiction - Jurisdiction - (Value)"])
        live = row[START] or row[SIGNED] or None
        contract = row[SIGNED] or row[START] or None
        capital = next((v for v in (number(row[USD.format(k)]) for k in ("Exact", "Min", "Max")) if v is not None),
                       None)
        if capital is None and row[CURRENCY].strip() == "USD":  # an amount in USD is one, Amount USD empty or not
            capital = next((v for v in (number(row[LOCAL.format(k)]) for k in ("Exact", "Min", "Max"))
                            if v is not None), None)
        users = number(row[ACTUAL]) if number(row[ACTUAL]) is not None else number(row[TARGET])
        sector = row["Purpose and classifications - Policy sector - (Value)"]
        out.append({"id": row["ID"], "countries": countries, "live": live, "contract": contract,
                    "capital": capital, "users": users, "sector": sector,
                    "stage": row["Stage of Development - (Value)"]})
    return out


@pytest.fixture(scope="module")
def reference(indigo_dir: Path) -> list[dict]:
    return reference_projects(indigo_dir)


def totals(rows: list[dict]) -> dict:
    return {
        "projects": len(rows),
        "service_users": math.fsum(r["users"] for r in rows if r["users"] is not None),
        "service_users_missing": sum(r["users"] is None for r in rows),
        "capital_raised_usd": math.fsum(r["capital"] for r in rows if r["capital"] is not None),
        "capital_missing": sum(r["capital"] is None for r in rows),
    }


def assert_same_figures(got: dict, expected: dict) -> None:
    for key in ("projects", "service_users_missing", "capital_missing"):
        assert got[key] == expected[key], key
    for key in ("service_users", "capital_raised_usd"):
        assert got[key] == pytest.approx(expected[key], rel=1e-12), key


def test_derived_fields_match_the_definitions(dataset, reference) -> None:
    frame = derived(dataset).set_index("id")
    for ref in reference:
        row = frame.loc[ref["id"]]
        assert set(row["countries"]) == ref["countries"], ref["id"]
        assert (row["live_date"] if row["live_date"] is not None and str(row["live_date"]) != "<NA>" else None) \
            == ref["live"], ref["id"]
    poj1 = frame.loc["INDIGO-POJ-0001"]
    assert poj1["live_date"] == "2018-12" and poj1["contract_date"] == "2018"  # start of service, contract signed
    assert poj1["countries"] == ("AR",)


def test_headline_figures_for_the_whole_dataset(dataset, reference) -> None:
    result = stats(dataset)
    assert_same_figures(result, totals(reference))
    assert result["projects"] == 319
    assert result["service_users"] == 3_199_408
    assert result["service_users_missing"] == 60 and result["capital_missing"] == 56


def test_filters_country_years_and_as_of(dataset, reference) -> None:
    uk_live = [r for r in reference if "GB" in r["countries"] and r["live"] and 2016 <= int(r["live"][:4]) <= 2021]
    result = stats(dataset, Filters(countries=("GB",), live_from=2016, live_to=2021))
    assert_same_figures(result, totals(uk_live))
    assert result["projects"] == 68

    as_of = dt.date(2015, 6, 30)
    signed = [r for r in reference if r["contract"] and first_day(r["contract"]) <= as_of]
    assert_same_figures(stats(dataset, Filters(as_of=as_of)), totals(signed))


def test_breakdown_by_sector_adds_up(dataset, reference) -> None:
    result = stats(dataset, Filters(), by="sector")
    by_sector = {row["sector"]: row for row in result["breakdown"]}
    homelessness = [r for r in reference if r["sector"] == "Homelessness"]
    assert_same_figures(by_sector["Homelessness"], totals(homelessness))
    assert sum(row["projects"] for row in result["breakdown"]) == 319


def first_day(partial: str) -> dt.date:
    parts = [int(p) for p in partial.split("-")] + [1, 1]
    return dt.date(parts[0], parts[1], parts[2])


def passes(row: dict, filters: Filters) -> bool:
    """The filters' definition applied to one reference row."""
    year = int(row["live"][:4]) if row["live"] else None
    return ((not filters.countries or bool({c.upper() for c in filters.countries} & row["countries"]))
            and (not filters.sectors or row["sector"].casefold() in {s.casefold() for s in filters.sectors})
            and (not filters.stages or row["stage"].casefold() in {s.casefold() for s in filters.stages})
            and (filters.live_from is None or (year is not None and year >= filters.live_from))
            and (filters.live_to is None or (year is not None and year <= filters.live_to))
            and (filters.as_of is None or (bool(row["contract"]) and first_day(row["contract"]) <= filters.as_of)))


def assert_same_sums(got: dict, rows: list[dict]) -> None:
    """``got`` holds the figures of ``rows``; a sum with no known value is None, not 0."""
    want = totals(rows)
    for key in ("projects", "service_users_missing", "capital_missing"):
        assert got[key] == want[key], key
    for key, missing_key in (("service_users", "service_users_missing"), ("capital_raised_usd", "capital_missing")):
        if want[missing_key] == len(rows):
            assert got[key] is None, key
        else:
            assert got[key] == pytest.approx(want[key], rel=1e-12), key


def many_filters(reference: list[dict]) -> list[Filters]:
    """Every country, sector and stage alone (in odd cases too), years, dates, combinations, unknowns."""
    countries = sorted({c for r in reference for c in r["countries"]})
    sectors = sorted({r["sector"] for r in reference if r["sector"]})
    stages = sorted({r["stage"] for r in reference if r["stage"]})
    out = [Filters()]
    out += [Filters(countries=(c if i % 2 else c.lower(),)) for i, c in enumerate(countries)]
    out += [Filters(sectors=(s.upper() if i % 3 == 0 else s,)) for i, s in enumerate(sectors)]
    out += [Filters(stages=(s,)) for s in stages]
    out += [Filters(live_from=y) for y in range(2009, 2026, 2)] + [Filters(live_to=y) for y in range(2010, 2026, 3)]
    out += [Filters(as_of=dt.date(y, 6, 30)) for y in range(2011, 2025, 2)]
    out += [Filters(countries=("GB", "US", "ZZ"), sectors=(sectors[0], sectors[-1], "no such sector"),
                    live_from=2014, live_to=2022),
            Filters(countries=("NL",), stages=(stages[0],), as_of=dt.date(2019, 1, 1)),
            Filters(countries=("ZZ",)), Filters(live_from=2020, live_to=2015)]
    return out


def test_vectorised_filters_and_breakdowns_equal_a_per_row_computation(dataset, reference) -> None:
    from sibkit.indigo.figures import breakdown, filter_projects, headline

    for filters in many_filters(reference):
        frame = filter_projects(dataset, filters)
        expected = [r for r in reference if passes(r, filters)]
        assert list(frame["id"]) == [r["id"] for r in expected], filters
        assert_same_sums(headline(frame), expected)
        for by in ("country", "sector", "stage", "year"):
            groups: dict[str, list[dict]] = {}
            for row in expected:
                if by == "country":
                    keys = sorted(row["countries"]) or ["(none)"]
                elif by == "year":
                    keys = [row["live"][:4] if row["live"] else "(none)"]
                else:
                    keys = [row[by] or "(none)"]
                for key in keys:
                    groups.setdefault(key, []).append(row)
            order = sorted(groups) if by == "year" else sorted(groups, key=lambda k: (-len(groups[k]), k))
            table = breakdown(frame, by)
            assert list(table[by]) == order, (filters, by)
            for got, key in zip(table.to_dict("records"), order, strict=True):
                assert_same_sums({k: None if isinstance(v, float) and math.isnan(v) else v for k, v in got.items()},
                                 groups[key])


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sibkit", *args], capture_output=True, text=True, timeout=120)


def test_stats_command_json(indigo_dir: Path, reference) -> None:
    done = run_cli("indigo", "stats", "--data", str(indigo_dir), "--country", "GB", "--live-from", "2016",
                   "--live-to", "2021", "--by", "year", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    uk_live = [r for r in reference if "GB" in r["countries"] and r["live"] and 2016 <= int(r["live"][:4]) <= 2021]
    assert_same_figures(result, totals(uk_live))
    years = {row["year"]: row["projects"] for row in result["breakdown"]}
    assert years == {str(y): sum(1 for r in uk_live if int(r["live"][:4]) == y) for y in range(2016, 2022)
                     if any(int(r["live"][:4]) == y for r in uk_live)}


def test_user_errors_are_one_line_with_status_2(tmp_path: Path) -> None:
    done = run_cli("indigo", "stats", "--data", str(tmp_path / "missing"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "no such file or folder" in done.stderr and "Traceback" not in done.stderr
    done = run_cli("indigo", "stats", "--data", str(tmp_path), "--as-of", "2020-13-01")
    assert done.returncode == 2 and "--as-of" in done.stderr


def test_quality_report(dataset) -> None:
    from sibkit.indigo import quality

    report = quality(dataset)
    completeness = report.completeness.set_index(["table", "field"])
    # 235 of 319 projects give the date the outcomes contract was signed (counted in the CSV)
    assert completeness.loc[("projects", "dates_outcomes_contract_signed"), "filled"] == 235
    assert completeness.loc[("projects", "dates_outcomes_contract_signed"), "priority"] == 1
    kinds = set(report.problems["kind"])
    assert "bad value" in kinds
    bad = report.problems[report.problems["message"].str.contains("'\\$1,350,000' is not a number", regex=True)]
    assert list(bad["where"]) == ["projects_outcome_payment_commitments.csv"] and list(bad["row"]) == [133]


def test_data_download_then_stats_use_the_cache(indigo_dir: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "data"
    import os

    env = {**os.environ, "SIBKIT_DATA": str(env_dir)}
    done = subprocess.run([sys.executable, "-m", "sibkit", "data", "download", "--from", str(indigo_dir)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([sys.executable, "-m", "sibkit", "indigo", "stats", "--json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["projects"] == 319


def test_summary_gives_medians_actual_against_target_and_gbp_for_the_uk(dataset, indigo_dir: Path,
                                                                          reference) -> None:
    import statistics

    from sibkit.indigo.figures import filter_projects, summary

    with (indigo_dir / "projects.csv").open(encoding="utf-8") as handle:
        rows = {row["ID"]: row for row in csv.DictReader(handle)}
    uk = [r for r in reference if "GB" in r["countries"]]
    got = summary(filter_projects(dataset, Filters(countries=("GB",))), "GBP")
    users = [r["users"] for r in uk if r["users"] is not None]
    assert got["projects"] == len(uk) == 100
    assert got["service_users"]["median"] == statistics.median(users)
    assert got["service_users"]["based_on"] == len(users)
    both = [(number(rows[r["id"]][ACTUAL]), number(rows[r["id"]][TARGET])) for r in uk]
    both = [(a, t) for a, t in both if a is not None and t is not None]
    assert got["actual_vs_target"] == {"actual": math.fsum(a for a, _ in both),
                                       "target": math.fsum(t for _, t in both), "based_on": len(both)}
    local = "Overall project finance - Total investment commitment - Amount - {} - (Value)"
    currency = "Overall project finance - Total investment commitment - Currency - (Value)"
    gbp = []  # the commitment in pounds: exact, else the minimum, else the maximum
    for r in uk:
        row = rows[r["id"]]
        amounts = [number(row[local.format(k)]) for k in ("Exact", "Min", "Max")]
        if row[currency] == "GBP" and any(a is not None for a in amounts):
            gbp.append(next(a for a in amounts if a is not None))
    assert got["capital_raised_local"]["currency"] == "GBP"
    assert got["capital_raised_local"]["total"] == pytest.approx(math.fsum(gbp), rel=1e-12)
    assert got["capital_raised_local"]["based_on"] == len(gbp)
