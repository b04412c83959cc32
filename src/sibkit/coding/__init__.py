"""Codebooks, automatic coding, keyword-in-context and the review loop.

Names are imported from their modules on first use (PEP 562): the command line stays quick.
"""

from __future__ import annotations

from sibkit.lazy import lazy_exports

_EXPORTS = {
    "Codebook": "codebook",
    "Term": "codebook",
    "Theme": "codebook",
    "load_codebook": "codebook",
    "parse_codebook": "codebook",
    "CodingReport": "coder",
    "case_theme_counts": "coder",
    "code_documents": "coder",
    "document_counts": "coder",
    "kwic": "coder",
    "merge_hits": "coder",
    "references": "coder",
    "review_outcomes": "coder",
    "Evaluation": "evaluate",
    "evaluate_codebook": "evaluate",
    "compare_labellings": "evaluate",
    "read_labelled": "evaluate",
    "mine_terms": "mining",
    "CompiledCodebook": "matcher",
    "Hit": "matcher",
    "compile_codebook": "matcher",
    "match_text": "matcher",
    "reliability": "agreement",
    "codebook_diff": "terms",
    "diff_summary": "terms",
    "term_table": "terms",
    "decision_log": "review",
    "export_rows": "review",
    "import_decisions": "review",
    "write_review_file": "review",
    "study_codebook": "study",
    "code_study": "study",
}


__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
