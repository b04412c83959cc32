"""The learned second reader: per theme, a model over sentences trained on labelled passages and a study's
own review decisions and audit marks. It flags keyword hits that read as another sense and proposes
sentences no keyword found, each with its score, as suggestions for review (``sibkit codebook train``,
``sibkit codebook read``, ``sibkit codebook evaluate --reader``).

Names are imported from their modules on first use (PEP 562): the command line stays quick.
"""

from __future__ import annotations

from sibkit.lazy import lazy_exports

_EXPORTS = {
    "LearnedReader": "model",
    "fit": "model",
    "Examples": "training",
    "labelled_examples": "training",
    "train": "training",
    "ReaderEvaluation": "evaluate",
    "evaluate_with_reader": "evaluate",
    "study_examples": "decisions",
    "load_named": "files",
    "packaged_path": "files",
    "reader_for_study": "files",
    "ReadReport": "study",
    "read_documents": "study",
    "read_study": "study",
    "instrument_error": "instrument",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
