"""Data-quality report: completeness by INDIGO priority, bad values, broken references."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from sibkit.indigo._fields import PRIORITIES, TABLES
from sibkit.indigo.dataset import Dataset, LoadIssue, columns_of


@dataclass
class QualityReport:
    completeness: pd.DataFrame  # table, field, priority, filled, total, share
    by_priority: pd.DataFrame  # priority, fields, mean_share
    problems: pd.DataFrame  # kind, where, row, column, message

    def to_json(self) -> dict[str, Any]:
        return {
            "by_priority": self.by_priority.to_dict("records"),
            "completeness": self.completeness.to_dict("records"),
            "problems": self.problems.to_dict("records"),
            "problem_counts": self.problems["kind"].value_counts().sort_index().to_dict(),
        }


def _priority(table: str, path: str) -> int | None:
    section = TABLES[table]["path"] or "/" + path.strip("/").split("/")[0]
    return PRIORITIES.get(section)


def completeness(dataset: Dataset) -> pd.DataFrame:
    """Share of projects with each project field filled, and with rows in each sub-table."""
    rows = []
    projects = dataset.projects
    total = len(projects)
    for name, _title, path, _kind in columns_of("projects"):
        if name == "id":
            continue
        filled = int(projects[name].notna().sum())
        rows.append(("projects", name, _priority("projects", path), filled, total))
    for table, spec in TABLES.items():
        if spec["model"] != "project" or not spec["parent"]:
            continue
        with_rows = int(dataset[table]["project_id"].dropna().isin(set(projects["id"])).groupby(
            dataset[table]["project_id"]).any().sum()) if len(dataset[table]) else 0
        rows.append((table, "(any row)", PRIORITIES.get(spec["path"]), with_rows, total))
    frame = pd.DataFrame(rows, columns=["table", "field", "priority", "filled", "total"])
    frame["share"] = (frame["filled"] / frame["total"]).where(frame["total"] > 0).round(4)
    frame["priority"] = frame["priority"].astype("Int64")
    return frame


def _split_ids(value: object) -> list[str]:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return []
    return [part.strip() for part in str(value).split(",") if part.strip()]


def broken_references(dataset: Dataset) -> list[tuple[str, str, int | None, str, str]]:
    """Rows pointing at missing projects, outcome metrics or organisations; undefined source ids."""
    problems: list[tuple[str, str, int | None, str, str]] = []
    project_ids = set(dataset.projects["id"].dropna())
    organisation_ids = set(dataset.organisations["id"].dropna())
    metric_ids = {(p, m) for p, m in zip(dataset.outcome_metrics["project_id"], dataset.outcome_metrics["id"],
                                          strict=True)}
    source_ids: dict[str, set[str]] = {}
    for project_id, source_id in zip(dataset.sources["project_id"], dataset.sources["id"], strict=True):
        if pd.notna(source_id):
            source_ids.setdefault(project_id, set()).add(str(source_id).strip())

    for table, spec in TABLES.items():
        if spec["model"] != "project":
            continue
        frame = dataset[table]
        names = [c[0] for c in columns_of(table)]
        org_columns = [n for n in names if n.endswith(("organisation_id", "organisation_ids"))]
        src_columns = [n for n in names if n.endswith("source_ids")]
        for position, row in enumerate(frame.itertuples(index=False), start=1):
            values = row._asdict()
            project_id = values["id"] if table == "projects" else values["project_id"]
            where = f"{table} {project_id}" if table == "projects" else f"{table} of {project_id}"
            if table != "projects" and project_id not in project_ids:
                problems.append(("missing project", table, position, "project_id",
                                 f"points at project {project_id!r}, which does not exist"))
            metric = values.get("outcome_metric_id") if table != "outcome_metrics" else None
            if metric is not None and pd.notna(metric) and (project_id, metric) not in metric_ids:
                problems.append(("missing outcome metric", where, position, "outcome_metric_id",
                                 f"points at outcome metric {metric!r}, not defined for this project"))
            for column in org_columns:
                for org in _split_ids(values[column]):
                    if column == "publishing_organisation_ids" and not org.startswith("INDIGO-ORG-"):
                        continue  # this field often holds publishers' names rather than ids
                    if org not in organisation_ids:
                        problems.append(("missing organisation", where, position, column,
                                         f"points at organisation {org!r}, which does not exist"))
            for column in src_columns:
                for source in _split_ids(values[column]):
                    if source not in source_ids.get(project_id, set()):
                        problems.append(("undefined source", where, position, column,
                                         f"cites source {source!r}, not listed in the project's sources"))
    return problems


def _kind_of(issue: LoadIssue) -> str:
    if issue.refused:
        return "refused row"
    return "bad value" if issue.column else "file problem"


def quality(dataset: Dataset) -> QualityReport:
    """Completeness by priority level, values that did not parse, and broken references."""
    table = completeness(dataset)
    by_priority = (table.dropna(subset=["priority"]).groupby("priority")
                   .agg(fields=("field", "size"), mean_share=("share", "mean")).reset_index())
    by_priority["mean_share"] = by_priority["mean_share"].round(4)
    problems = [(_kind_of(issue), issue.where, issue.row, issue.column or "", issue.message)
                for issue in dataset.issues]
    problems += broken_references(dataset)
    frame = pd.DataFrame(problems, columns=["kind", "where", "row", "column", "message"])
    frame["row"] = frame["row"].astype("Int64")
    return QualityReport(completeness=table, by_priority=by_priority, problems=frame)
