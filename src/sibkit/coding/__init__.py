"""Codebooks, automatic coding, keyword-in-context and the review loop."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from sibkit.coding.codebook import Codebook, Term, Theme, load_codebook, parse_codebook
from sibkit.coding.coder import (
    CodingReport,
    case_theme_counts,
    code_documents,
    document_counts,
    kwic,
    merge_hits,
    references,
    review_outcomes,
)
from sibkit.coding.matcher import CompiledCodebook, Hit, compile_codebook, match_text
from sibkit.coding.review import decision_log, export_rows, import_decisions, write_review_file
from sibkit.study import Study


def study_codebook(study: Study) -> Codebook:
    """The codebook a study names (built-in name or a path relative to the study file)."""
    return load_codebook(study.codebook, study.base_dir)


def code_study(study: Study, progress: Callable[[], None] | None = None) -> CodingReport:
    """Code every readable document of the study with its codebook."""
    from sibkit.corpus import open_study_store

    return code_documents(open_study_store(study), study_codebook(study), progress=progress)


def study_case_theme_counts(study: Study, case_ids: list[str]) -> pd.DataFrame:
    """``case_theme_counts`` for a study's cases and its codebook's coded themes."""
    from sibkit.corpus import open_study_store

    themes = [t.id for t in study_codebook(study).themes if t.terms]
    return case_theme_counts(open_study_store(study), case_ids, themes)


__all__ = ["Codebook", "CodingReport", "CompiledCodebook", "Hit", "Term", "Theme", "case_theme_counts",
           "code_documents", "code_study", "compile_codebook", "decision_log", "document_counts", "export_rows",
           "import_decisions", "kwic", "load_codebook", "match_text", "merge_hits", "parse_codebook", "references",
           "review_outcomes", "study_case_theme_counts", "study_codebook", "write_review_file"]
