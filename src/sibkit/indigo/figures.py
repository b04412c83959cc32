"""Headline figures of the impact bond field: how many impact bonds, service users, capital.

The same functions feed ``sibkit indigo stats``, the web dashboard and its JSON API.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from sibkit.errors import SibkitError
from sibkit.indigo.dataset import Dataset
from sibkit.indigo.derive import contract_day, derived

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


def filter_projects(dataset: Dataset, filters: Filters) -> pd.DataFrame:
    """Derived project rows that pass the filters."""
    frame = derived(dataset)
    keep = pd.Series(True, index=frame.index)
    if filters.countries:
        wanted = {c.upper() for c in filters.countries}
        keep &= frame["countries"].map(lambda codes: bool(wanted.intersection(codes)))
    if filters.sectors:
        wanted = {s.casefold() for s in filters.sectors}
        keep &= frame["sector"].map(lambda s: pd.notna(s) and s.casefold() in wanted).astype(bool)
    if filters.stages:
        wanted = {s.casefold() for s in filters.stages}
        keep &= frame["stage"].map(lambda s: pd.notna(s) and s.casefold() in wanted).astype(bool)
    if filters.live_from is not None:
        keep &= (frame["live_year"] >= filters.live_from).fillna(False).astype(bool)
    if filters.live_to is not None:
        keep &= (frame["live_year"] <= filters.live_to).fillna(False).astype(bool)
    if filters.as_of is not None:
        as_of = filters.as_of
        keep &= contract_day(frame).map(lambda d: d is not None and pd.notna(d) and d <= as_of).astype(bool)
    return frame[keep]


def total(values: pd.Series) -> float | None:
    """The sum of the known values; None (not 0) when no value is known."""
    known = values.dropna()
    return float(known.sum()) if len(known) else None


def headline(frame: pd.DataFrame) -> dict[str, Any]:
    """Counts and sums over derived project rows; missing values are counted, not guessed."""
    return {
        "projects": len(frame),
        "service_users": total(frame["service_users"]),
        "service_users_missing": int(frame["service_users"].isna().sum()),
        "capital_raised_usd": total(frame["capital_raised_usd"]),
        "capital_missing": int(frame["capital_raised_usd"].isna().sum()),
    }


def _spread(values: pd.Series) -> dict[str, Any]:
    present = values.dropna()
    return {"total": float(present.sum()), "median": float(present.median()) if len(present) else None,
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
    both = frame.dropna(subset=["service_users_actual", "service_users_target"])
    result["actual_vs_target"] = {"actual": float(both["service_users_actual"].sum()),
                                  "target": float(both["service_users_target"].sum()), "based_on": len(both)}
    if currency:
        own = frame[frame["capital_currency"] == currency]
        result["capital_raised_local"] = {"currency": currency, **_spread(own["capital_raised"])}
    return result


def breakdown(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Headline figures per country, sector, live year or stage (a project in two countries
    counts in both)."""
    if by not in BREAKDOWNS:
        raise SibkitError(f"--by {by!r}: expected one of {', '.join(BREAKDOWNS)}")
    if by == "country":
        exploded = frame.explode("countries")
        keys = exploded["countries"].fillna("(none)")
        frame = exploded
    elif by == "year":
        keys = frame["live_year"].astype("string").fillna("(none)")
    else:
        keys = frame[by].astype("string").fillna("(none)")
    rows = []
    for key, group in frame.groupby(keys.to_numpy(), sort=True):
        rows.append({by: str(key), **headline(group)})
    result = pd.DataFrame(rows, columns=[by, "projects", "service_users", "service_users_missing",
                                         "capital_raised_usd", "capital_missing"])
    if by == "year":
        return result
    return result.sort_values(["projects", by], ascending=[False, True], kind="stable").reset_index(drop=True)


def stats(dataset: Dataset, filters: Filters | None = None, by: str | None = None) -> dict[str, Any]:
    """Headline figures (and a breakdown when asked) as one JSON-ready object."""
    filters = filters or Filters()
    frame = filter_projects(dataset, filters)
    result: dict[str, Any] = {**headline(frame), "filters": filters.describe()}
    if by:
        result["breakdown"] = breakdown(frame, by).to_dict("records")
    return result
