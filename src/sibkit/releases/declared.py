"""A second INDIGO release made from GO Lab's 2025-05-20 export by declared edits (the csv module only), so
that the tests and ``benchmarks/bench_releases.py`` check ``data diff`` and a study's "since last run"
against changes known in advance. Not used by sibkit itself.

The edits, each chosen for what it does to the example study (UK SIBs live 2016-2021, >= 4 documents):
- ADDED: a new project, a copy of INDIGO-POJ-0167's row under a new id and name, with four documents:
  it enters the selection (no outcome data: insufficient data);
- STAGE: INDIGO-POJ-0168's stage Implementation -> Complete (nothing else about it changes);
- RESULT: a final result for INDIGO-POJ-0113's first metric, 1,200 of its target of 1,250: its achievement
  ratio goes from 0.1168 to 0.96 and its class from struggling to successful;
- PAYMENT: a new outcome payment for INDIGO-POJ-0177 (a copy of its first payment row for a later period);
- DOCUMENT: INDIGO-POJ-0195's "Case study on the Skill Mill Impact Bond" removed: it has 3 distinct
  documents left and leaves the selection (it was struggling).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

NEW_ID = "INDIGO-POJ-9001"
NEW_NAME = "Declared test project: a copy of INDIGO-POJ-0167"
NEW_DOCUMENTS = [(f"Declared test document {n}", f"https://example.org/declared-test/{n}.pdf") for n in range(1, 5)]
STAGE_CASE, OLD_STAGE, NEW_STAGE = "INDIGO-POJ-0168", "Implementation", "Complete"
RESULT_CASE, RESULT_METRIC = "INDIGO-POJ-0113", "outcomemetric1"
RESULT = {"Result level - (Value)": "Outcome level", "Result type - (Value)": "Final",
          "Period - Start - (Value)": "2018-11", "Period - End - (Value)": "2023-03",
          "Outcomes achieved - (Value)": "1200"}
PAYMENT_CASE = "INDIGO-POJ-0177"
PAYMENT_PERIOD = ("2024-01", "2024-03")
PAYMENT_AMOUNT = "12345"
REMOVED_CASE = "INDIGO-POJ-0195"
REMOVED_TITLE = "Case study on the Skill Mill Impact Bond "  # INDIGO's title, trailing space included
REMOVED_URL = "https://golab.bsg.ox.ac.uk/knowledge-bank/case-studies/the-skill-mill/"


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def make_second_release(shared_export: Path, target: Path) -> Path:
    """Copy the shared export to ``target`` and apply the declared edits; returns ``target``."""
    shutil.copytree(shared_export, target)
    header, projects = read(target / "projects.csv")
    template = next(row for row in projects if row["ID"] == "INDIGO-POJ-0167")
    for row in projects:
        if row["ID"] == STAGE_CASE:
            assert row["Stage of Development - (Value)"] == OLD_STAGE
            row["Stage of Development - (Value)"] = NEW_STAGE
    projects.append({**template, "ID": NEW_ID, "Impact Bond Name - (Value)": NEW_NAME})
    write(target / "projects.csv", header, projects)

    header, documents = read(target / "projects_documents.csv")
    before = len(documents)
    documents = [row for row in documents if not (row["Project ID"] == REMOVED_CASE
                                                  and row["URL - (Value)"] == REMOVED_URL)]
    assert len(documents) == before - 1
    for title, url in NEW_DOCUMENTS:
        documents.append({**dict.fromkeys(header, ""), "Project ID": NEW_ID, "Title - (Value)": title,
                          "URL - (Value)": url})
    write(target / "projects_documents.csv", header, documents)

    header, results = read(target / "projects_results.csv")
    results.append({**dict.fromkeys(header, ""), "Project ID": RESULT_CASE,
                    "Outcome Metric Id - (Value)": RESULT_METRIC, **RESULT})
    write(target / "projects_results.csv", header, results)

    header, payments = read(target / "projects_outcome_payments.csv")
    first = next(row for row in payments if row["Project ID"] == PAYMENT_CASE)
    payments.append({**first, "Period - Start - (Value)": PAYMENT_PERIOD[0],
                     "Period - End - (Value)": PAYMENT_PERIOD[1], "Payments - Amount - (Value)": PAYMENT_AMOUNT,
                     "Payments - Amount USD - (Value)": ""})
    write(target / "projects_outcome_payments.csv", header, payments)
    return target


def payment_template(shared_export: Path) -> dict[str, str]:
    """INDIGO-POJ-0177's first payment row in the shared export (the new payment copies it)."""
    _header, payments = read(shared_export / "projects_outcome_payments.csv")
    return next(row for row in payments if row["Project ID"] == PAYMENT_CASE)
