"""The coding of one study: its codebook, its documents, its case x theme counts."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from sibkit.coding.codebook import Codebook, load_codebook
from sibkit.coding.coder import CodingReport, case_theme_counts, code_documents
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
