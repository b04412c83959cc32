"""Each case's INDIGO record as a document, so a study runs end to end without downloads."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import delete, select

from sibkit.corpus.extraction import Extracted
from sibkit.corpus.importer import ImportOutcome, clean_text, store_document
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


def _project_rows(dataset: Dataset) -> dict[str, dict[str, object]]:
    """The columns a record reads, per project id (the first row of an id), built once per dataset."""
    columns = ["id", "name", *(column for _, column in PROJECT_SECTIONS)]
    rows: dict[str, dict[str, object]] = {}
    for row in dataset.projects[columns].to_dict("records"):
        rows.setdefault(row["id"], row)  # type: ignore[arg-type]
    return rows


def _sub_rows(dataset: Dataset, table: str, columns: tuple[str, ...], project_id: str) -> list[tuple[object, ...]]:
    """A project's rows of a sub-table, only ``columns``, in table order (grouped once per dataset)."""
    def build() -> dict[str, list[tuple[object, ...]]]:
        frame = dataset[table]
        grouped: dict[str, list[tuple[object, ...]]] = {}
        for project, *values in zip(frame["project_id"], *(frame[c] for c in columns), strict=True):
            grouped.setdefault(project, []).append(tuple(values))
        return grouped

    return dataset.cached(f"indigo_records:{table}:{','.join(columns)}", build).get(project_id, [])


def record_text(dataset: Dataset, project_id: str) -> tuple[str, str]:
    """(title, text) of a project's narrative fields, in a fixed order with headings."""
    rows = dataset.cached("indigo_records:projects", lambda: _project_rows(dataset))
    project = rows[project_id] if project_id in rows else dataset.projects[dataset.projects["id"] == project_id].iloc[0]
    name = _text(project["name"]) or project_id
    blocks = [f"INDIGO record: {name} ({project_id})"]
    for heading, column in PROJECT_SECTIONS:
        value = _text(project[column])
        if value:
            blocks.append(f"{heading}\n{value}")
    metrics = [m for m in (_text(d) for (d,) in _sub_rows(dataset, "outcome_metrics", ("definition",), project_id))
               if m]
    if metrics:
        blocks.append("Outcome metrics\n" + "\n".join(f"- {m}" for m in metrics))
    alterations = ("alterations_description", "alterations_reason")
    provisions = _sub_rows(dataset, "service_provisions", ("intervention", *alterations), project_id)
    interventions = [t for t in (_text(v) for v, *_ in provisions) if t]
    if interventions:
        blocks.append("Service provision\n" + "\n".join(f"- {t}" for t in dict.fromkeys(interventions)))
    for label, table in (("Alterations to the service", [row[1:] for row in provisions]),
                         ("Alterations to outcome payment commitments",
                          _sub_rows(dataset, "outcome_payment_commitments", alterations, project_id))):
        lines = []
        for description, reason in table:
            description, reason = _text(description), _text(reason)
            if description or reason:
                lines.append(f"- {description or '(not described)'}" + (f" Reason: {reason}" if reason else ""))
        if lines:
            blocks.append(f"{label}\n" + "\n".join(dict.fromkeys(lines)))
    return f"INDIGO record: {name}", "\n\n".join(blocks)


def add_indigo_records(store: Store, dataset: Dataset, case_ids: Sequence[str]) -> list[ImportOutcome]:
    """Add (or refresh) each case's INDIGO record document; an old version is unlinked, not deleted."""
    outcomes = []
    records = _records(dataset, list(case_ids))
    unchanged = _unchanged(store, [(case_id, f"indigo:{case_id}", sha256) for case_id, *_, sha256 in records])
    for case_id, title, text, pages, sha256 in records:
        origin = f"indigo:{case_id}"
        if case_id in unchanged:  # stored, linked, and no older version still linked: nothing to write
            outcomes.append(ImportOutcome(clean_text(origin), "unchanged", "", unchanged[case_id]))
            continue
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


def _records(dataset: Dataset, case_ids: list[str]) -> list[tuple[str, str, str, list[int], str]]:
    """(case, title, normalised text, page starts, SHA-256) of each case's record; read back from
    ``sibkit.memo`` for an export loaded before (the text depends on nothing else)."""
    def build() -> list[tuple[str, str, str, list[int], str]]:
        records = []
        for case_id in case_ids:
            title, raw = record_text(dataset, case_id)
            text, pages = join_pages([normalise_page(raw)])
            records.append((case_id, title, text, pages,
                            hashlib.sha256(f"indigo-record\n{text}".encode()).hexdigest()))
        return records

    from sibkit import memo
    from sibkit.indigo.typed_cache import content_key

    content = content_key(dataset)
    if content is None:
        return build()
    return memo.memoised(memo.key(("indigo_records", content, case_ids), libraries=("pandas",),
                                  modules=("sibkit.corpus.indigo_records", "sibkit.corpus.normalise")), build)


def _unchanged(store: Store, records: list[tuple[str, str, str]]) -> dict[str, int]:
    """Document id per case whose record (case, origin, SHA-256) is stored and linked to it, with no
    other version of the same origin linked to it: ``add_indigo_records`` would change nothing there."""
    if not records:
        return {}
    with store.session() as session:
        documents = session.execute(select(Document.id, Document.sha256, Document.origin)
                                    .where(Document.origin.like("indigo:%"))).all()
        links = session.execute(select(DocumentCase.document_id, DocumentCase.case_id)
                                .join(Document, Document.id == DocumentCase.document_id)
                                .where(Document.origin.like("indigo:%"))).all()
    cases_of: dict[int, set[str]] = {}
    for link in links:
        cases_of.setdefault(link.document_id, set()).add(link.case_id)
    by_sha = {row.sha256: row for row in documents}
    by_origin: dict[str, list[int]] = {}
    for row in documents:
        by_origin.setdefault(row.origin, []).append(row.id)
    found = {}
    for case_id, origin, sha256 in records:
        current = by_sha.get(sha256)
        if current is None or current.origin != origin or case_id not in cases_of.get(current.id, ()):
            continue
        if any(other != current.id and case_id in cases_of.get(other, ()) for other in by_origin.get(origin, ())):
            continue  # an older version is still linked: the full path unlinks it
        found[case_id] = current.id
    return found
