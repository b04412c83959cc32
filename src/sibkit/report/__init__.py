"""The study report: ``run_study`` gathers every result, ``write_report`` writes the folder.

Names are imported on first use (PEP 562): the command line stays quick.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = ("StudyResults", "as_tables", "evidence_statement", "is_exploratory", "record_only_cases", "run_study",
            "summary", "write_report")


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        from sibkit.report import run

        return getattr(run, name)
    raise AttributeError(f"module 'sibkit.report' has no attribute {name!r}")


__all__ = list(_EXPORTS)
