"""Qualitative Comparative Analysis: which combinations of themes go with the outcome."""

from sibkit.lazy import lazy_exports

__getattr__, __all__ = lazy_exports("sibkit.qca", {
    "QcaResult": "method", "analyse": "method", "calibrate": "method", "check_diversity": "method",
    "max_conditions": "method", "prime_implicants": "method", "minimal_covers": "method",
    "qca_data": "study", "qca_study": "study",
})
