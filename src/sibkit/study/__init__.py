"""Studies: the study file, case selection with its flow of exclusions.

Names are imported from their modules on first use (PEP 562): the command line starts without pydantic.
"""

from __future__ import annotations

from sibkit.lazy import lazy_exports

_EXPORTS = {
    "Analysis": "model",
    "Outcomes": "model",
    "Presence": "model",
    "Step": "model",
    "Study": "model",
    "load_study": "model",
    "parse_study": "model",
    "Selection": "selection",
    "distinct_documents": "selection",
    "document_key": "selection",
    "normalise_title": "selection",
    "normalise_url": "selection",
    "reading_list": "selection",
    "select": "selection",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
