"""What changed between two INDIGO releases, as DataFrames: ``diff(old, new)`` and ``sibkit data diff``.

- projects added and removed;
- for each project in both, every field that changed (grouped: stage, dates, capital, service users,
  outcome payments, other), with the old and the new value;
- for each project in both, outcome metrics, results, outcome payments, documents and sources added,
  removed or changed. A row is matched across releases by its key (a metric by its id; a result by its
  metric, level, type and period; a payment by its plan, metric, type, payer and period; a document by
  its URL, else title); where a key is not unique the rows are compared whole (added / removed).

Rows of projects added or removed are not listed again under their tables: the project line says it.
Values are compared as loaded (typed), so a number written ``1000`` or ``1,000.0`` is the same.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sibkit.indigo.dataset import Dataset, columns_of
from sibkit.releases.dated import release_of
from sibkit.words import counted

#: sub-tables compared, with the columns that identify a row within a project
KEYS: dict[str, tuple[str, ...]] = {
    "outcome_metrics": ("id",),
    "results": ("outcome_metric_id", "result_level", "result_type", "period_start_date", "period_end_date"),
    "outcome_payments": ("outcome_payment_plan_id", "outcome_metric_id", "type", "payer_organisation_id",
                         "period_start_date", "period_end_date"),
    "documents": ("url",),
    "sources": ("id",),
}
KINDS = ("projects", "fields", *KEYS)
KIND_WORDS = {"projects": "projects", "fields": "project fields", "outcome_metrics": "outcome metrics",
              "results": "results", "outcome_payments": "outcome payments", "documents": "documents",
              "sources": "sources"}
CHANGE_COLUMNS = ["project_id", "name", "change", "row", "field", "old", "new"]
_SEP = "\x1f"


def field_group(column: str) -> str:
    """Which headline a project column belongs to (for the "fields" table)."""
    if column.startswith("stage_development"):
        return "stage"
    if column.startswith("dates_"):
        return "dates"
    if column.startswith(("overall_project_finance_total_investment_commitment", "investment_details_")):
        return "capital"
    if column.startswith("service_and_beneficiaries_") and "number" in column:
        return "service users"
    if column.startswith("overall_project_finance_total_outcome_payments_made"):
        return "outcome payments"
    return "other"


@dataclass
class ReleaseDiff:
    """Every change between two releases, one DataFrame per kind (see the module's docstring)."""

    old: Any  # sibkit.releases.Release
    new: Any
    projects: pd.DataFrame  # project_id, name, change (added / removed)
    fields: pd.DataFrame  # project_id, name, group, field, column, old, new
    tables_changed: dict[str, pd.DataFrame] = field(default_factory=dict)  # kind -> CHANGE_COLUMNS

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every kind's changes, by kind (``projects``, ``fields``, ``outcome_metrics``, ...)."""
        return {"projects": self.projects, "fields": self.fields, **self.tables_changed}

    @property
    def summary(self) -> pd.DataFrame:
        """One row per kind: added, removed, changed."""
        rows = []
        for kind, frame in self.tables().items():
            if kind == "fields":
                rows.append((kind, 0, 0, len(frame), frame["project_id"].nunique() if len(frame) else 0))
                continue
            counts = frame["change"].value_counts() if len(frame) else pd.Series(dtype=int)
            changed_rows = frame.loc[frame["change"] == "changed", ["project_id", "row"]].drop_duplicates() \
                if "row" in frame.columns and len(frame) else frame.head(0)
            rows.append((kind, int(counts.get("added", 0)), int(counts.get("removed", 0)), len(changed_rows),
                         frame["project_id"].nunique() if len(frame) else 0))
        return pd.DataFrame(rows, columns=["kind", "added", "removed", "changed", "projects"])

    def summary_lines(self) -> list[str]:
        """A line per kind in words ("results: 1 added, 0 removed, 0 changed (1 project)")."""
        lines = []
        for row in self.summary.to_dict("records"):
            words = KIND_WORDS[row["kind"]]
            if row["kind"] == "fields":
                lines.append(f"{words}: {row['changed']} changed in {counted(row['projects'], 'project')}")
            elif row["kind"] == "projects":
                lines.append(f"{words}: {row['added']} added, {row['removed']} removed")
            else:
                lines.append(f"{words}: {row['added']} added, {row['removed']} removed, {row['changed']} changed "
                             f"({counted(row['projects'], 'project')})")
        return lines

    def headline(self) -> str:
        return f"INDIGO {self.old.label} → {self.new.label}: " + (
            "no change." if self.is_empty() else f"{sum(len(f) for f in self.tables().values())} changes.")

    def is_empty(self) -> bool:
        return all(frame.empty for frame in self.tables().values())

    def for_projects(self, ids: set[str]) -> ReleaseDiff:
        """The changes that concern these projects only."""
        def keep(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[frame["project_id"].isin(ids)].reset_index(drop=True)

        return ReleaseDiff(self.old, self.new, keep(self.projects), keep(self.fields),
                           {kind: keep(frame) for kind, frame in self.tables_changed.items()})

    def to_json(self) -> dict[str, Any]:
        def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: (None if _missing(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]

        return {"old": self.old.to_json(), "new": self.new.to_json(), "summary": rows(self.summary),
                "changes": {kind: rows(frame) for kind, frame in self.tables().items()}}

    def write_csv(self, folder: Path) -> list[Path]:
        from sibkit import spreadsheet

        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for kind, frame in {"summary": self.summary, **self.tables()}.items():
            path = folder / f"diff-{kind.replace('_', '-')}.csv"  # diff-outcome-metrics.csv
            spreadsheet.to_csv(frame, path)
            written.append(path)
        return written


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text (None when missing), so that two releases compare cell by cell."""
    out = {}
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_float_dtype(series):
            values = series.to_numpy(dtype="float64")
            texts = np.where(np.isnan(values), None,
                             [str(int(v)) if v == v and float(v).is_integer() else repr(float(v)) for v in values])
            out[column] = pd.Series(texts, index=frame.index, dtype=object)
        else:
            out[column] = series.astype(object).where(series.notna(), None)
    return pd.DataFrame(out, index=frame.index)


def _names(old: Dataset, new: Dataset) -> dict[str, str]:
    names = dict(zip(old.projects["id"], old.projects["name"].astype(object), strict=True))
    names.update(zip(new.projects["id"], new.projects["name"].astype(object), strict=True))
    return {k: ("" if _missing(v) else str(v)) for k, v in names.items()}


def diff(old: Dataset, new: Dataset) -> ReleaseDiff:
    """Every change from ``old`` to ``new`` (two loaded releases), as a ``ReleaseDiff`` of DataFrames."""
    names = _names(old, new)
    old_ids, new_ids = set(old.projects["id"].dropna()), set(new.projects["id"].dropna())
    added, removed = sorted(new_ids - old_ids), sorted(old_ids - new_ids)
    projects = pd.DataFrame([(pid, names.get(pid, ""), "added") for pid in added]
                            + [(pid, names.get(pid, ""), "removed") for pid in removed],
                            columns=["project_id", "name", "change"])
    common = old_ids & new_ids
    tables = {table: _table_changes(table, old[table], new[table], common, names) for table in KEYS}
    return ReleaseDiff(release_of(old), release_of(new), projects, _field_changes(old, new, common, names), tables)


def _field_changes(old: Dataset, new: Dataset, common: set[str], names: dict[str, str]) -> pd.DataFrame:
    titles = {name: title for name, title, *_ in columns_of("projects")}
    before = _cells(old.projects[old.projects["id"].isin(common)].drop_duplicates("id").set_index("id"))
    after = _cells(new.projects[new.projects["id"].isin(common)].drop_duplicates("id").set_index("id"))
    after = after.reindex(before.index)
    rows = []
    for column in before.columns:
        a, b = before[column].to_numpy(dtype=object), after[column].to_numpy(dtype=object)
        differ = np.array([x != y for x, y in zip(a, b, strict=True)], dtype=bool)
        for position in np.flatnonzero(differ):
            pid = before.index[position]
            rows.append((pid, names.get(pid, ""), field_group(column), titles.get(column, column), column,
                         a[position], b[position]))
    frame = pd.DataFrame(rows, columns=["project_id", "name", "group", "field", "column", "old", "new"])
    return frame.sort_values(["project_id", "column"], kind="stable").reset_index(drop=True)


def _keyed(frame: pd.DataFrame, key: tuple[str, ...]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The rows' cells, each row's key and each whole row as one string."""
    cells = _cells(frame.reset_index(drop=True))
    texts = {column: ["" if v is None else str(v) for v in cells[column].tolist()] for column in cells.columns}
    keys = [_SEP.join(parts) for parts in zip(*(texts[c] for c in ("project_id", *key)), strict=True)]
    whole = [_SEP.join(parts) for parts in zip(*texts.values(), strict=True)] if texts else []
    return cells, keys, whole


def _describe_row(table: str, row: dict[str, Any]) -> str:
    """A row named in words by its key (the metric, the period)."""
    if table in ("outcome_metrics", "sources"):
        return f"{row.get('id') or '–'}"
    if table == "documents":
        return row.get("url") or row.get("title") or "–"
    period = f"{row.get('period_start_date') or '…'} to {row.get('period_end_date') or '…'}"
    metric = row.get("outcome_metric_id") or "no metric"
    what = row.get("result_type") if table == "results" else row.get("type")
    return f"{metric}, {period}" + (f", {what}" if what else "")


def _summary_of_row(table: str, row: dict[str, Any]) -> str:
    """What an added or removed row holds, briefly."""
    if table == "results":
        engaged, positive = row.get("number_engaged_in_impact_bond"), row.get("number_with_positive_social_outcomes")
        return (f"achieved {row.get('outcomes_achieved') or '–'}, engaged {engaged or '–'}, "
                f"positive outcomes {positive or '–'}")
    if table == "outcome_payments":
        return f"{row.get('money_currency') or ''} {row.get('money_amount') or '–'}".strip()
    if table == "documents":
        return row.get("title") or "–"
    if table == "sources":
        return row.get("name") or row.get("url") or "–"
    return row.get("definition") or "–"


def _table_changes(table: str, old: pd.DataFrame, new: pd.DataFrame, common: set[str],
                   names: dict[str, str]) -> pd.DataFrame:
    key = KEYS[table]
    old = old[old["project_id"].isin(common)]
    new = new[new["project_id"].isin(common)]
    old_cells, old_keys, old_whole = _keyed(old, key)
    new_cells, new_keys, new_whole = _keyed(new, key)
    rows: list[tuple[Any, ...]] = []
    old_count, new_count = Counter(old_keys), Counter(new_keys)
    unique = {k for k, n in old_count.items() if n == 1} & {k for k, n in new_count.items() if n == 1}
    # rows whose key is unique in both releases: the same row, compared cell by cell
    old_at = {k: i for i, k in enumerate(old_keys) if k in unique}
    new_at = {k: i for i, k in enumerate(new_keys) if k in unique}
    for k, i in old_at.items():
        j = new_at[k]
        if old_whole[i] == new_whole[j]:
            continue
        before, after = old_cells.iloc[i].to_dict(), new_cells.iloc[j].to_dict()
        label = _describe_row(table, after)
        for column in old_cells.columns:
            if before[column] != after[column]:
                rows.append((after["project_id"], names.get(after["project_id"], ""), "changed", label, column,
                             before[column], after[column]))
    # the others compared whole: a row only in one release was added or removed
    rest_old = [i for i, k in enumerate(old_keys) if k not in unique]
    rest_new = [j for j, k in enumerate(new_keys) if k not in unique]
    pool: dict[str, int] = {}
    for i in rest_old:
        pool[old_whole[i]] = pool.get(old_whole[i], 0) + 1
    for j in rest_new:
        text = new_whole[j]
        if pool.get(text, 0):
            pool[text] -= 1
            continue
        row = new_cells.iloc[j].to_dict()
        rows.append((row["project_id"], names.get(row["project_id"], ""), "added", _describe_row(table, row), None,
                     None, _summary_of_row(table, row)))
    for i in rest_old:
        text = old_whole[i]
        if pool.get(text, 0):
            pool[text] -= 1
            row = old_cells.iloc[i].to_dict()
            rows.append((row["project_id"], names.get(row["project_id"], ""), "removed", _describe_row(table, row),
                         None, _summary_of_row(table, row), None))
    frame = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    order = {"added": 0, "changed": 1, "removed": 2}
    return (frame.assign(_order=frame["change"].map(order)).sort_values(["project_id", "_order", "row"], kind="stable")
            .drop(columns="_order").reset_index(drop=True))
