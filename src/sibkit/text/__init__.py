"""The structure of a document's text: sentences and paragraphs as code-point spans, the places a
sentence ends (cut points) for structure-aware matching, and the zones of extracted text that are not
the document's own prose (reference lists, tables of contents, running headers) or that repeat it.

Names are imported from their modules on first use (PEP 562): the command line stays quick.
"""

from __future__ import annotations

from sibkit.lazy import lazy_exports

_EXPORTS = {
    "Sentence": "sentences",
    "split_sentences": "sentences",
    "split_paragraphs": "sentences",
    "cut_points": "sentences",
    "crosses": "sentences",
    "ZONES": "structure",
    "Zone": "structure",
    "zones": "structure",
    "repeated_sentences": "structure",
    "DocumentStructure": "structure",
    "document_structure": "structure",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
