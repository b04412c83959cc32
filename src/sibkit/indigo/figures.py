"""Headline figures of the impact bond field: how many impact bonds, service users, capital.

The same functions feed ``sibkit indigo stats``, the web dashboard and its JSON API.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from sibkit.errors import SibkitError
from sibkit.indigo.dataset import Dataset
from sibkit.indigo.derive import columns, derived

Breakdown = Literal["country", "sector", "year", "stage"]
BREAKDOWNS: tuple[str, ...] = ("country", "sector", "year", "stage")


@dataclass(frozen=True)
class Filters:
    """Which projects to count. Empty tuples and None mean 'no filter'."""

    countries: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    live_from: int | None = None
    live_to: int | None = None
    as_of: dt.date | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "country": list(self.countries), "sector": list(self.sectors), "stage": list(self.stages),
            "live_from": self.live_from, "live_to": self.live_to,
            "as_of": self.as_of.isoformat() if self.as_of else None,
        }


def parse_as_of(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise SibkitError(f"--as-of {text!r}: expected a date as YYYY-MM-DD") from None


def check_filters(dataset: Dataset, filters: Filters) -> None:
    """Refuse filter values that can never match, naming the option (a typo would silently give 0)."""
    from sibkit.indigo.values import country_code_problem, unknown_value_problem

    for code in filters.countries:
        if problem := country_code_problem(code):
            raise SibkitError(f"--country: {problem}")
    for option, column, given in (("--sector", "sector", filters.sectors), ("--stage", "stage", filters.stages)):
        if not given:
            continue
        known = sorted({str(v) for v in derived(dataset)[column].dropna()})
        for value in given:
            if problem := unknown_value_problem(column, value, known):
                raise SibkitError(f"{option}: {problem}")
    if filters.live_from is not None and filters.live_to is not None and filters.live_from > filters.live_to:
        raise SibkitError(f"--live-from {filters.live_from} is after --live-to {filters.live_to}")


def filter_mask(dataset: Dataset, filters: Filters) -> np.ndarray:
    """Which rows of ``derived(dataset)`` pass the filters, as a boolean array (vectorised over the
    columns precomputed once per dataset)."""
    cols = columns(dataset)
    keep = np.ones(len(cols.live_year), dtype=bool)
    if filters.countries:
        wanted = [cols.country_codes[c] for c in {c.upper() for c in filters.countries} if c in cols.country_codes]
        keep &= cols.in_country[:, wanted].any(axis=1)
    for given, masks in ((filters.sectors, cols.sector_folded), (filters.stages, cols.stage_folded)):
        if given:
            any_of = np.zeros_like(keep)
            for value in {v.casefold() for v in given}:
                if value in masks:
                    any_of |= masks[value]
            keep &= any_of
    with np.errstate(invalid="ignore"):  # NaN (no year) compares False
        if filters.live_from is not None:
            keep &= cols.live_year >= filters.live_from
        if filters.live_to is not None:
            keep &= cols.live_year <= filters.live_to
    if filters.as_of is not None:
        keep &= cols.contract_day <= np.datetime64(filters.as_of, "D")  # NaT compares False
    return keep


def filter_projects(dataset: Dataset, filters: Filters) -> pd.DataFrame:
    """Derived project rows that pass the filters."""
    return derived(dataset)[filter_mask(dataset, filters)]


def total(values: pd.Series) -> float | None:
    """The sum of the known values; None (not 0) when no value is known."""
    known = values.dropna()
    return float(known.sum()) if len(known) else None


def headline(frame: pd.DataFrame) -> dict[str, Any]:
    """Counts and sums over derived project rows; missing values are counted, not guessed."""
    return _headline(frame["service_users"].to_numpy(dtype="float64"),
                     frame["capital_raised_usd"].to_numpy(dtype="float64"))


def _total(values: np.ndarray) -> tuple[float | None, int]:
    """The sum of the known values (None when none is known; summed in row order as pandas does)
    and how many are missing."""
    known = values[~np.isnan(values)]
    return (float(known.sum()) if len(known) else None), len(values) - len(known)


def _headline(users: np.ndarray, capital: np.ndarray) -> dict[str, Any]:
    users_total, users_missing = _total(users)
    capital_total, capital_missing = _total(capital)
    return {"projects": len(users), "service_users": users_total, "service_users_missing": users_missing,
            "capital_raised_usd": capital_total, "capital_missing": capital_missing}


def not_converted(frame: pd.DataFrame) -> tuple[int, list[str]]:
    """How many projects state their capital only in a currency other than USD (never converted, so without
    a USD figure), and those currencies as INDIGO writes them, sorted."""
    own = frame["capital_raised"].notna() & frame["capital_raised_usd"].isna()
    currencies = sorted({str(c) for c in frame.loc[own, "capital_currency"].dropna()})
    return int(own.sum()), currencies


def _spread(values: pd.Series | np.ndarray) -> dict[str, Any]:
    array = np.asarray(values, dtype="float64")
    present = array[~np.isnan(array)]
    return {"total": float(present.sum()), "median": float(np.median(present)) if len(present) else None,
            "mean": float(present.mean()) if len(present) else None, "based_on": len(present)}


def summary(frame: pd.DataFrame, currency: str | None = None) -> dict[str, Any]:
    """Headline figures with what each rests on: totals, medians and how many projects have a value
    (service users actual and target apart, capital, duration of service provision in years).
    With ``currency`` (e.g. "GBP"), capital in that currency too, over projects that state it."""
    result: dict[str, Any] = {
        "projects": len(frame),
        "service_users": _spread(frame["service_users"]),
        "service_users_actual": _spread(frame["service_users_actual"]),
        "service_users_target": _spread(frame["service_users_target"]),
        "capital_raised_usd": _spread(frame["capital_raised_usd"]),
        "duration_years": _spread(frame["duration_years"]),
    }
    actual = frame["service_users_actual"].to_numpy(dtype="float64")
    target = frame["service_users_target"].to_numpy(dtype="float64")
    both = ~(np.isnan(actual) | np.isnan(target))
    result["actual_vs_target"] = {"actual": float(actual[both].sum()), "target": float(target[both].sum()),
                                  "based_on": int(both.sum())}
    count, currencies = not_converted(frame)
    # ``stats`` gives the count alone under ``capital_not_converted``; here with the currencies named
    result["capital_other_currencies"] = {"projects": count, "currencies": currencies}
    if currency:
        own = (frame["capital_currency"] == currency).fillna(False).to_numpy(dtype=bool)
        result["capital_raised_local"] = {"currency": currency,
                                          **_spread(frame["capital_raised"].to_numpy(dtype="float64")[own])}
    return result


BREAKDOWN_COLUMNS = ["projects", "service_users", "service_users_missing", "capital_raised_usd", "capital_missing"]


def breakdown_rows(frame: pd.DataFrame, by: str) -> list[dict[str, Any]]:
    """``breakdown`` as a list of rows (no DataFrame: the dashboard draws these directly)."""
    if by not in BREAKDOWNS:
        raise SibkitError(f"--by {by!r}: expected one of {', '.join(BREAKDOWNS)}")
    users = frame["service_users"].to_numpy(dtype="float64")
    capital = frame["capital_raised_usd"].to_numpy(dtype="float64")
    if by == "country":  # one row per (project, country); a project without a country under "(none)"
        per_project = [codes or ("(none)",) for codes in frame["countries"]]
        rows = np.repeat(np.arange(len(frame)), [len(codes) for codes in per_project])
        keys = np.array([code for codes in per_project for code in codes], dtype=object)
        users, capital = users[rows], capital[rows]
    else:
        column = frame["live_year" if by == "year" else by].astype("string")
        keys = column.fillna("(none)").to_numpy(dtype=object)
    groups, inverse = np.unique(keys, return_inverse=True)
    return _grouped(by, [str(key) for key in groups], inverse, users, capital)


def breakdown_rows_at(dataset: Dataset, keep: np.ndarray, by: str) -> list[dict[str, Any]]:
    """``breakdown_rows`` of the rows of ``derived(dataset)`` where ``keep`` (from ``filter_mask``),
    read from the groups numbered once per dataset."""
    if by not in BREAKDOWNS:
        raise SibkitError(f"--by {by!r}: expected one of {', '.join(BREAKDOWNS)}")
    cols = columns(dataset)
    rows, numbers, labels = cols.groups[by]
    chosen = keep[rows]
    rows, numbers = rows[chosen], numbers[chosen]
    return _grouped(by, labels, numbers, cols.service_users[rows], cols.capital_raised_usd[rows])


def _grouped(by: str, labels: list[str], numbers: np.ndarray, users: np.ndarray,
             capital: np.ndarray) -> list[dict[str, Any]]:
    """Headline figures per group (``numbers``: each entry's group, an index into the sorted ``labels``)."""
    order = np.argsort(numbers, kind="stable")  # each group's rows in their original order
    ends = np.cumsum(np.bincount(numbers, minlength=len(labels)))
    users, capital = users[order], capital[order]
    result = []
    start = 0
    for key, end in zip(labels, ends.tolist(), strict=True):
        if end > start:
            result.append({by: key, **_headline(users[start:end], capital[start:end])})
        start = end
    if by != "year":
        result.sort(key=lambda row: row[by])
        result.sort(key=lambda row: -row["projects"])  # stable: ties stay in name order
    return result


def breakdown(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Headline figures per country, sector, live year or stage (a project in two countries
    counts in both)."""
    return pd.DataFrame(breakdown_rows(frame, by), columns=[by, *BREAKDOWN_COLUMNS])


def stats(dataset: Dataset, filters: Filters | None = None, by: str | None = None) -> dict[str, Any]:
    """Headline figures (and a breakdown when asked) as one JSON-ready object."""
    filters = filters or Filters()
    frame = filter_projects(dataset, filters)
    result: dict[str, Any] = {**headline(frame), "capital_not_converted": not_converted(frame)[0],
                              "filters": filters.describe()}
    if by:
        result["breakdown"] = breakdown_rows(frame, by)  # None where unknown (a DataFrame would make it NaN)
    return result
