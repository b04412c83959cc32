"""Capital raised in USD over the shared INDIGO export (2025-05-20), against figures worked out by hand
from the raw CSV files with the csv module.

Five projects state their total investment commitment in USD (currency "USD") but leave the "Amount USD"
columns empty (EducAid, Street Child and Rising Academy Network in Sierra Leone, Waste-to-Wealth in
Nigeria, LiftEd in India): their amount is already in US dollars, so it counts in the USD total. Five more
state it only in GBP or EUR (no conversion is made, so they stay without a USD figure).
"""

from __future__ import annotations

import pytest

from sibkit.indigo import derived
from sibkit.indigo.figures import Filters, stats

# the commitment in USD (exact, else min, else max), 10 projects with a local amount but no USD amount
USD_ONLY_LOCAL = {"INDIGO-POJ-0274": 1_013_507.0, "INDIGO-POJ-0275": 1_082_409.0, "INDIGO-POJ-0276": 1_069_370.0,
                  "INDIGO-POJ-0301": 1_621_395.0, "INDIGO-POJ-0321": 1_551_000.0}
NOT_CONVERTED = {"INDIGO-POJ-0162": "GBP", "INDIGO-POJ-0205": "EUR", "INDIGO-POJ-0299": "GBP",
                 "INDIGO-POJ-0300": "GBP", "INDIGO-POJ-0318": "GBP"}


def test_an_amount_stated_in_usd_is_a_usd_amount(dataset) -> None:
    frame = derived(dataset).set_index("id")
    for project_id, amount in USD_ONLY_LOCAL.items():
        assert frame.at[project_id, "capital_currency"] == "USD"
        assert frame.at[project_id, "capital_raised_usd"] == amount, project_id


def test_an_amount_in_another_currency_is_not_converted(dataset) -> None:
    frame = derived(dataset).set_index("id")
    for project_id, currency in NOT_CONVERTED.items():
        assert frame.at[project_id, "capital_currency"] == currency
        assert frame.at[project_id, "capital_raised_usd"] != frame.at[project_id, "capital_raised_usd"], project_id


def test_headline_capital_counts_usd_amounts_of_usd_projects(dataset) -> None:
    # 878,167,048.617 over 258 projects from the Amount USD columns, plus 6,337,681 from the five above
    result = stats(dataset)
    assert result["capital_raised_usd"] == pytest.approx(884_504_729.6173886, rel=1e-12)
    assert result["capital_missing"] == 56


def test_sierra_leone_capital(dataset) -> None:
    # its three projects all state capital only in the currency column's USD
    result = stats(dataset, Filters(countries=("SL",)))
    assert result["projects"] == 3
    assert result["capital_raised_usd"] == 3_165_286.0
    assert result["capital_missing"] == 0
