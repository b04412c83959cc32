"""Derived project fields, defined once and used by every figure, filter and page.

- ``countries``: ISO codes from the delivery locations' countries plus the jurisdiction;
- ``live_date``: start date of service provision, else date outcomes contract signed;
- ``contract_date``: date outcomes contract signed, else start date of service provision;
- ``capital_raised_usd``: total investment commitment in USD, exact, else min, else max; where the
  USD columns are empty and the project's own currency is USD, its amount (already in US dollars);
  an amount in any other currency is never converted (the project has no USD figure);
- ``service_users``: actual unique service users engaged (total), else the targeted number;
  ``service_users_actual`` and ``service_users_target`` keep the two apart;
- ``capital_currency`` and ``capital_raised``: the same commitment in its own currency;
- ``end_date``: actual end of service provision, else the anticipated end;
- ``duration_years``: from ``live_date`` to ``end_date`` in years (partial dates at their first day).

The capital and service-user rules follow GO Lab's impact bond landscape figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sibkit.indigo.dataset import Dataset
from sibkit.indigo.values import date_floor

DERIVED_COLUMNS = ["id", "name", "stage", "sector", "countries", "live_date", "live_year",
                   "contract_date", "capital_raised_usd", "service_users", "service_users_actual",
                   "service_users_target", "capital_currency", "capital_raised", "end_date", "duration_years"]


def _first_present(*columns: pd.Series) -> pd.Series:
    result = columns[0]
    for column in columns[1:]:
        result = result.where(result.notna(), column)
    return result


def derived(dataset: Dataset) -> pd.DataFrame:
    """One row per project with its derived fields (cached on the dataset)."""
    return dataset.cached("derived", lambda: _build(dataset))


def _build(dataset: Dataset) -> pd.DataFrame:
    projects = dataset.projects
    locations = dataset.delivery_locations
    by_project: dict[str, set[str]] = {}
    for project_id, country in zip(locations["project_id"], locations["location_country"], strict=True):
        if pd.notna(project_id) and pd.notna(country):
            by_project.setdefault(project_id, set()).add(country)
    countries = []
    for project_id, jurisdiction in zip(projects["id"], projects["jurisdiction_jurisdiction"], strict=True):
        codes = set(by_project.get(project_id, set()))
        if pd.notna(jurisdiction):
            codes.add(str(jurisdiction))
        countries.append(tuple(sorted(codes)))
    live = _first_present(projects["dates_start_date_of_service_provision"],
                          projects["dates_outcomes_contract_signed"])
    contract = _first_present(projects["dates_outcomes_contract_signed"],
                              projects["dates_start_date_of_service_provision"])
    capital_prefix = "overall_project_finance_total_investment_commitment_amount_usd_"
    capital = _first_present(projects[capital_prefix + "exact"], projects[capital_prefix + "min"],
                             projects[capital_prefix + "max"])
    users = _first_present(projects["service_and_beneficiaries_actual_number_service_users_or_beneficiaries_total"],
                           projects["service_and_beneficiaries_targeted_number_service_users_or_beneficiaries_total"])
    local_prefix = "overall_project_finance_total_investment_commitment_amount_"
    capital_local = _first_present(projects[local_prefix + "exact"], projects[local_prefix + "min"],
                                   projects[local_prefix + "max"])
    currency = projects["overall_project_finance_total_investment_commitment_currency"].astype("string")
    in_usd = (currency.str.strip().str.upper() == "USD").fillna(False).astype(bool)
    capital = capital.where(capital.notna() | ~in_usd, capital_local)  # "USD" amounts left out of Amount USD
    actual = projects["service_and_beneficiaries_actual_number_service_users_or_beneficiaries_total"]
    target = projects["service_and_beneficiaries_targeted_number_service_users_or_beneficiaries_total"]
    end = _first_present(projects["dates_actual_end_date_of_service_provision"],
                         projects["dates_anticipated_end_date_of_service_provision"])
    durations = []
    for start_text, end_text in zip(live, end, strict=True):
        start_day, end_day = date_floor(start_text), date_floor(end_text)
        durations.append(round((end_day - start_day).days / 365.25, 2)
                         if start_day and end_day and end_day > start_day else None)
    live_year = pd.array([int(d[:4]) if pd.notna(d) else None for d in live], dtype="Int64")
    return pd.DataFrame({
        "id": projects["id"],
        "name": projects["name"],
        "stage": projects["stage_development"],
        "sector": projects["purpose_and_classifications_policy_sector"],
        "countries": countries,
        "live_date": live.astype("string"),
        "live_year": live_year,
        "contract_date": contract.astype("string"),
        "capital_raised_usd": capital.astype("float64"),
        "service_users": users.astype("float64"),
        "service_users_actual": actual.astype("float64"),
        "service_users_target": target.astype("float64"),
        "capital_currency": currency,
        "capital_raised": capital_local.astype("float64"),
        "end_date": end.astype("string"),
        "duration_years": pd.array(durations, dtype="Float64").astype("float64"),
    })


def contract_day(frame: pd.DataFrame) -> pd.Series:
    """``contract_date`` as a date (first day of a partial date), None when missing."""
    return frame["contract_date"].map(date_floor, na_action="ignore")


@dataclass(frozen=True)
class Columns:
    """The derived fields the filters and figures read, as NumPy arrays computed once per dataset
    (row ``i`` is row ``i`` of ``derived()``): countries as a project × country matrix, sector and
    stage case-folded, years as floats (NaN when missing), contract days as ``datetime64[D]``."""

    country_codes: dict[str, int]
    in_country: np.ndarray  # bool, projects × country_codes
    sector_folded: dict[str, np.ndarray]  # case-folded sector -> bool mask
    stage_folded: dict[str, np.ndarray]
    live_year: np.ndarray  # float64
    contract_day: np.ndarray  # datetime64[D], NaT when missing
    service_users: np.ndarray
    capital_raised_usd: np.ndarray
    # per breakdown: (row of each entry, its group's number, the groups' keys in sorted order); one
    # entry per row, except "country": one per (project, country), "(none)" for a project without one
    groups: dict[str, tuple[np.ndarray, np.ndarray, list[str]]]


def columns(dataset: Dataset) -> Columns:
    """The precomputed columns of ``derived(dataset)`` (cached on the dataset)."""
    return dataset.cached("derived_columns", lambda: _columns(derived(dataset)))


def _folded_masks(values: pd.Series) -> dict[str, np.ndarray]:
    folded = np.array([v.casefold() if isinstance(v, str) else None for v in values], dtype=object)
    return {key: folded == key for key in {v for v in folded if v is not None}}


def _columns(frame: pd.DataFrame) -> Columns:
    codes = sorted({c for row in frame["countries"] for c in row})
    position = {code: i for i, code in enumerate(codes)}
    in_country = np.zeros((len(frame), len(codes)), dtype=bool)
    for row, own in enumerate(frame["countries"]):
        in_country[row, [position[c] for c in own]] = True
    days = contract_day(frame)
    contract = np.array([np.datetime64(d, "D") if isinstance(d, dt.date) else np.datetime64("NaT", "D")
                         for d in days], dtype="datetime64[D]")
    groups = {}
    for by in ("country", "sector", "year", "stage"):
        if by == "country":
            per_project = [codes or ("(none)",) for codes in frame["countries"]]
            rows = np.repeat(np.arange(len(frame)), [len(codes) for codes in per_project])
            keys = np.array([code for codes in per_project for code in codes], dtype=object)
        else:
            rows = np.arange(len(frame))
            keys = frame["live_year" if by == "year" else by].astype("string").fillna("(none)").to_numpy(dtype=object)
        labels, numbers = np.unique(keys, return_inverse=True)
        groups[by] = (rows, numbers, [str(label) for label in labels])
    return Columns(position, in_country, _folded_masks(frame["sector"]), _folded_masks(frame["stage"]),
                   frame["live_year"].astype("float64").to_numpy(), contract,
                   frame["service_users"].to_numpy(dtype="float64"),
                   frame["capital_raised_usd"].to_numpy(dtype="float64"), groups)
