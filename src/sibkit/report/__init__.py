"""The study report: ``run_study`` gathers every result, ``write_report`` writes the folder.

Names are imported on first use (PEP 562): the command line stays quick.
"""

from sibkit.lazy import lazy_exports

__getattr__, __all__ = lazy_exports("sibkit.report", {
    "StudyResults": "results", "as_tables": "results", "is_exploratory": "results", "record_only_cases": "results",
    "summary": "results", "evidence_statement": "wording", "FindingsBasis": "basis", "basis_paragraph": "basis",
    "findings_basis": "basis", "run_study": "run", "write_report": "run",
})
