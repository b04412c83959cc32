"""The recall audit: a seeded random sample of sentences no counted hit touched, marked by coders
(append-only), and per theme the miss rate it implies beside the precision of the study's own review
(``instrument_error``; ``sibkit review audit``; the workbench's ``/review/audit``).

Names are imported from their modules on first use (PEP 562): the command line stays quick.
"""

from __future__ import annotations

from sibkit.lazy import lazy_exports

_EXPORTS = {
    "draw_sample": "sample",
    "mark": "sample",
    "population": "sample",
    "sampled_sentences": "sample",
    "standing_marks": "sample",
    "instrument_error": "estimate",
    "wilson": "estimate",
    "export_sheet": "sheet",
    "import_sheet": "sheet",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
