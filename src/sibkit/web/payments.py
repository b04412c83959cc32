"""Outcome payments per project as the web shows them: made (INDIGO's project total, else the sum of
the payments table's rows of type Actual, else of its rows whose type is not stated), planned, and per
outcome metric, every figure with the rows it rests on.

INDIGO fills the project-level "Total outcome payments made" for 3 projects, while 39 have rows in the
outcome payments table (32 of them of type Actual): reading the table where the total is empty is what
keeps a project page from calling paid outcomes "not in INDIGO".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sibkit.indigo import Dataset
from sibkit.words import counted

TOTAL_PREFIX = "overall_project_finance_total_outcome_payments_made_"


@dataclass
class Sums:
    """Amounts per currency and how many rows (payments) they add up."""

    amounts: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    without_amount: int = 0  # rows of this kind that state no amount (not in ``rows``)

    def add(self, currency: str, amount: float) -> None:
        self.amounts[currency] = self.amounts.get(currency, 0.0) + amount
        self.rows += 1

    def __bool__(self) -> bool:
        return self.rows > 0

    @property
    def note(self) -> str:
        """" (and N more without an amount)" where rows lack one."""
        return f" and {self.without_amount} more without an amount" if self.without_amount else ""


@dataclass
class Payments:
    """One project's outcome payments."""

    made: dict[str, float] = field(default_factory=dict)
    made_from: str = ""  # "project total", "Actual" or "type not stated" ("" when INDIGO has none)
    made_rows: int = 0
    actual: Sums = field(default_factory=Sums)
    planned: Sums = field(default_factory=Sums)
    unstated: Sums = field(default_factory=Sums)
    by_metric: dict[str, dict[str, Sums]] = field(default_factory=dict)  # metric id -> kind -> sums
    rows: list[dict[str, Any]] = field(default_factory=list)  # the table's rows, by period

    @property
    def tied_to_metrics(self) -> bool:
        return bool(self.by_metric)

    @property
    def any_rows(self) -> bool:
        return bool(self.rows)

    @property
    def source(self) -> str:
        """Where ``made`` comes from, in words."""
        if self.made_from == "project total":
            return "INDIGO's project total"
        if self.made_from == "Actual":
            return f"sum of {counted(self.made_rows, 'payment')} of type Actual in INDIGO's outcome payments table"
        if self.made_from == "type not stated":
            return (f"sum of {counted(self.made_rows, 'payment')} in INDIGO's outcome payments table whose type "
                    "(actual or planned) is not stated")
        return ""


def _kind(value: object) -> str:
    text = "" if value is None or value is pd.NA else str(value).strip().casefold()
    return {"actual": "actual", "planned": "planned"}.get(text, "unstated")


def _amount(value: object) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _text(value: object) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else str(value)


def project_payments(dataset: Dataset) -> dict[str, Payments]:
    """Every project's ``Payments`` (projects without any payment figure are left out)."""
    out: dict[str, Payments] = {}
    table = dataset.outcome_payments
    columns = ["project_id", "type", "money_currency", "money_amount", "money_amount_usd", "outcome_metric_id",
               "period_start_date", "period_end_date", "payer_organisation_id", "recipient_organisation_id"]
    for row in table[columns].itertuples(index=False):
        project_id = _text(row.project_id)
        if not project_id:
            continue
        payments = out.setdefault(project_id, Payments())
        kind = _kind(row.type)
        amount, currency = _amount(row.money_amount), _text(row.money_currency).strip().upper()
        if amount is None and _amount(row.money_amount_usd) is not None:
            amount, currency = _amount(row.money_amount_usd), "USD"
        payments.rows.append({"kind": kind, "currency": currency, "amount": amount,
                              "start": _text(row.period_start_date), "end": _text(row.period_end_date),
                              "metric": _text(row.outcome_metric_id), "payer": _text(row.payer_organisation_id),
                              "recipient": _text(row.recipient_organisation_id)})
        if amount is None:
            getattr(payments, kind).without_amount += 1
            continue
        getattr(payments, kind).add(currency, amount)
        metric = _text(row.outcome_metric_id)
        if metric:
            payments.by_metric.setdefault(metric, {}).setdefault(kind, Sums()).add(currency, amount)
    projects = dataset.projects
    for project_id, currency, amount, usd in zip(projects["id"], projects[TOTAL_PREFIX + "currency"],
                                                 projects[TOTAL_PREFIX + "amount"],
                                                 projects[TOTAL_PREFIX + "amount_usd"], strict=True):
        total, name = _amount(amount), _text(currency).strip().upper()
        if total is None and _amount(usd) is not None:
            total, name = _amount(usd), "USD"
        if total is not None:
            out.setdefault(str(project_id), Payments()).made_from = "project total"
            out[str(project_id)].made = {name: total}
    for payments in out.values():
        payments.rows.sort(key=lambda r: (r["start"], r["end"], r["kind"]))
        if payments.made_from:
            continue
        for kind, label in (("actual", "Actual"), ("unstated", "type not stated")):
            sums: Sums = getattr(payments, kind)
            if sums:
                payments.made, payments.made_from, payments.made_rows = dict(sums.amounts), label, sums.rows
                break
    return out


def money(amounts: dict[str, float]) -> str:
    """``GBP 4,183,699`` (several currencies joined with "+"; each summed apart)."""
    return " + ".join(f"{currency} {amount:,.0f}".strip() for currency, amount in sorted(amounts.items()))
