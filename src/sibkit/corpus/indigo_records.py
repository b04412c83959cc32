"""Each case's INDIGO record as a document, so a study runs end to end without downloads."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import delete, select

from sibkit.corpus.extraction import Extracted
from sibkit.corpus.importer import ImportOutcome, store_document
from sibkit.corpus.normalise import join_pages, normalise_page
from sibkit.indigo import Dataset
from sibkit.store import Document, DocumentCase, Store

PROJECT_SECTIONS = (
    ("Social challenge", "purpose_and_classifications_social_challenge"),
    ("Intervention", "purpose_and_classifications_intervention"),
    ("Target population", "service_and_beneficiaries_target_population"),
    ("Changes due to COVID-19", "changes_to_project_due_to_covid19"),
    ("Notes", "notes"),
    ("Notes on dates", "dates_notes"),
    ("Notes on purpose and classifications", "purpose_and_classifications_notes"),
    ("Notes on service and beneficiaries", "service_and_beneficiaries_notes"),
    ("Notes on project finance", "overall_project_finance_notes"),
)


def _text(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def record_text(dataset: Dataset, project_id: str) -> tuple[str, str]:
    """(title, text) of a project's narrative fields, in a fixed order with headings."""
    project = dataset.projects[dataset.projects["id"] == project_id].iloc[0]
    name = _text(project["name"]) or project_id
    blocks = [f"INDIGO record: {name} ({project_id})"]
    for heading, column in PROJECT_SECTIONS:
        value = _text(project[column])
        if value:
            blocks.append(f"{heading}\n{value}")
    metrics = [m for m in (_text(d) for d in dataset.rows_for("outcome_metrics", project_id)["definition"]) if m]
    if metrics:
        blocks.append("Outcome metrics\n" + "\n".join(f"- {m}" for m in metrics))
    provisions = dataset.rows_for("service_provisions", project_id)
    interventions = [t for t in (_text(v) for v in provisions["intervention"]) if t]
    if interventions:
        blocks.append("Service provision\n" + "\n".join(f"- {t}" for t in dict.fromkeys(interventions)))
    for label, table in (("Alterations to the service", provisions),
                         ("Alterations to outcome payment commitments",
                          dataset.rows_for("outcome_payment_commitments", project_id))):
        lines = []
        for description, reason in zip(table["alterations_description"], table["alterations_reason"], strict=True):
            description, reason = _text(description), _text(reason)
            if description or reason:
                lines.append(f"- {description or '(not described)'}" + (f" Reason: {reason}" if reason else ""))
        if lines:
            blocks.append(f"{label}\n" + "\n".join(dict.fromkeys(lines)))
    return f"INDIGO record: {name}", "\n\n".join(blocks)


def add_indigo_records(store: Store, dataset: Dataset, case_ids: Sequence[str]) -> list[ImportOutcome]:
    """Add (or refresh) each case's INDIGO record document; an old version is unlinked, not deleted."""
    outcomes = []
    for case_id in case_ids:
        title, raw = record_text(dataset, case_id)
        text, pages = join_pages([normalise_page(raw)])
        sha256 = hashlib.sha256(f"indigo-record\n{text}".encode()).hexdigest()
        origin = f"indigo:{case_id}"
        with store.session() as session:
            older = session.scalars(select(Document.id).where(Document.origin == origin,
                                                              Document.sha256 != sha256)).all()
            if older:
                session.execute(delete(DocumentCase).where(DocumentCase.document_id.in_(older),
                                                           DocumentCase.case_id == case_id))
        extracted = Extracted(text=text, pages=pages, kind="text")
        outcomes.append(store_document(store, sha256=sha256, extracted=extracted, case_ids=[case_id], title=title,
                                       doc_type="indigo_record", origin=origin))
    return outcomes
