"""A study's corpus: documents imported, extracted, fetched, de-duplicated and linked to cases.

The names below are imported from their modules on first use (PEP 562), so that the command
line starts without loading every library the corpus can use.
"""

from __future__ import annotations

from sibkit.lazy import lazy_exports

_EXPORTS = {
    "Extracted": "extraction",
    "extract": "extraction",
    "KINDS": "evidence",
    "document_kind": "evidence",
    "evidence_by_case": "evidence",
    "evidence_by_kind": "evidence",
    "evidence_table": "evidence",
    "FetchSettings": "fetch",
    "fetch_reading_list": "fetch",
    "ImportOutcome": "importer",
    "ImportReport": "importer",
    "add_file": "importer",
    "add_paths": "importer",
    "ImportItem": "importer",
    "import_items": "importer",
    "check_type": "importer",
    "read_manifest": "importer",
    "add_indigo_records": "indigo_records",
    "record_text": "indigo_records",
    "corpus_status": "status",
    "held_document_keys": "status",
    "linked_documents": "status",
    "open_study_store": "study",
    "min_documents": "study",
    "selected_cases": "study",
    "candidate_cases": "study",
    "check_case_id": "study",
    "check_case_ids": "study",
    "reading_list_items": "study",
    "fetch_study": "study",
    "fetch_plan": "study",
    "study_items": "study",
    "Item": "gather",
    "gather_items": "gather",
    "study_status": "study",
}


__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
