"""Output a paper can use: the corpus as a bibliography (CSL-JSON, BibTeX, RIS), the report as a DOCX
with numbered captions, and a methods paragraph generated from the study file.

Names are imported from their modules on first use (PEP 562): the command line starts without pandas.
"""

from __future__ import annotations

from sibkit.lazy import lazy_exports

FORMATS = ("csl-json", "bibtex", "ris")  # the bibliography's formats (``sibkit cite --format``)

_EXPORTS = {
    "Entry": "bibliography",
    "bibliography": "bibliography",
    "render": "bibliography",
    "methods_paragraph": "methods",
    "write_docx": "docx",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
