"""What a study run found (``StudyResults``) and the report's tables by file name.

Its own module so that ``run.py`` (which computes the results) and ``render.py`` (which writes them)
each import it and never each other.

One naming scheme for every file in the report folder: lower-case words joined by hyphens, the
table's name then its kind (``classification-sensitivity.csv``, ``qca-truth-table.csv``), the same
names ``sibkit classify`` and ``sibkit qca`` write there; the workbook's sheets carry the same names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sibkit.study import Study


@dataclass
class StudyResults:
    """Everything the report shows, as DataFrames and values."""

    study: Study
    flow: pd.DataFrame
    selection: pd.DataFrame
    selected: list[str]
    classification: pd.DataFrame
    metrics: pd.DataFrame
    class_sensitivity: pd.DataFrame
    corpus: pd.DataFrame
    documents: pd.DataFrame
    counts: pd.DataFrame
    matrix: pd.DataFrame
    findings: pd.DataFrame
    overall: dict[str, Any]
    sensitivity: pd.DataFrame
    survivors: pd.DataFrame
    examples: pd.DataFrame
    themes: pd.DataFrame
    inputs: pd.DataFrame
    evidence: pd.DataFrame = field(default_factory=pd.DataFrame)
    evidence_cases: pd.DataFrame = field(default_factory=pd.DataFrame)
    evidence_kinds: pd.DataFrame = field(default_factory=pd.DataFrame)
    replication: pd.DataFrame = field(default_factory=pd.DataFrame)
    detectable: pd.DataFrame = field(default_factory=pd.DataFrame)
    primary_themes: list[str] = field(default_factory=list)
    group_warnings: list[str] = field(default_factory=list)
    limitations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    suggestions: dict[str, Any] = field(default_factory=dict)
    agreement: pd.DataFrame = field(default_factory=pd.DataFrame)
    qca: Any = None  # sibkit.qca.QcaResult when the study declares QCA conditions
    qca_note: str = ""  # why there is no QCA result
    override_passages: list[dict[str, Any]] = field(default_factory=list)
    instrument: dict[str, Any] = field(default_factory=dict)  # sibkit.audit.report.instrument_section
    carried_error: Any = None  # sibkit.analysis.instrument.InstrumentFindings: the findings with the measured error
    measured_error: pd.DataFrame = field(default_factory=pd.DataFrame)  # per theme: precision, recall, source
    dataset_source: str = ""
    dataset_sha256: str = ""  # the release's SHA-256, as ``sibkit data list`` shows it
    # what other areas' results say the findings rest on, where they say it (release, kinds counted, stage
    # of evidence, payments and targets left out): read by ``basis.findings_basis``
    provided: dict[str, Any] = field(default_factory=dict)
    left_out: pd.DataFrame = field(default_factory=pd.DataFrame)  # payments and targets the outcome rules left out
    release: Any = None  # sibkit.releases.Release: the INDIGO release every figure rests on
    methods: str = ""  # the methods paragraph (sibkit.paper.methods), ready to paste
    since_last_run: Any = None  # sibkit.releases.since.SinceLastRun when the last run used another release


def record_only_cases(results: StudyResults) -> list[str]:
    """Selected cases whose coded evidence is their INDIGO record alone."""
    table = results.evidence_cases
    return [] if table.empty else list(table.loc[table["record_only"], "case_id"])


def is_exploratory(results: StudyResults) -> bool:
    """Most cases are coded from their INDIGO record alone (a database description)."""
    return 2 * len(record_only_cases(results)) > len(results.selected)


def as_tables(results: StudyResults) -> dict[str, pd.DataFrame]:
    """Every table of the report, by file name (without ``.csv``; see the module docstring)."""
    flow = results.flow.assign(excluded_ids=results.flow["excluded_ids"].map(" ".join))
    only = set(record_only_cases(results))

    def marked(table: pd.DataFrame) -> pd.DataFrame:
        if "case_id" not in table.columns:
            return table
        return table.assign(record_only=table["case_id"].isin(only))

    tables = {
        "selection-flow": flow, "selection": results.selection, "classification": marked(results.classification),
        "classification-metrics": results.metrics, "classification-sensitivity": results.class_sensitivity,
        "classification-left-out": results.left_out,
        "corpus": marked(results.corpus), "documents": results.documents,
        "case-theme-matrix": marked(results.matrix), "findings": results.findings,
        "replication": results.replication, "detectable-difference": results.detectable,
        "sensitivity": results.sensitivity, "sensitivity-summary": results.survivors,
        "evidence": results.evidence, "evidence-by-case": results.evidence_cases,
        "evidence-by-kind": results.evidence_kinds, "examples": results.examples, "themes": results.themes,
        "inputs": results.inputs,
    }
    if len(results.agreement):
        tables["agreement"] = results.agreement
    if results.instrument.get("rows"):  # "How far the coding can be trusted here": review precision, audit misses
        tables["instrument-error"] = pd.DataFrame(results.instrument["rows"])
    if results.carried_error is not None:
        tables["findings-with-instrument-error"] = results.carried_error.themes
    if results.qca is not None:
        from sibkit.qca.study import result_tables

        tables.update(result_tables(results.qca))
    return {file_name(name): table for name, table in tables.items()}


def file_name(name: str) -> str:
    """A table's name in the folder's one scheme: lower-case words joined by hyphens."""
    words = re.split(r"[^a-z0-9]+", name.lower())
    return "-".join(w for w in words if w)


def summary(results: StudyResults) -> dict[str, Any]:
    classes = results.classification["class"].value_counts().to_dict()
    return {"selected": len(results.selected), "classes": classes,
            "overall_relative_association": results.overall.get("value"), "exploratory": is_exploratory(results)}
