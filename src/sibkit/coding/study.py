"""The coding of one study: its codebook, its documents, its case x theme counts."""

from __future__ import annotations

from collections.abc import Callable

from sibkit.coding.codebook import Codebook, load_codebook
from sibkit.coding.coder import CodingReport, code_documents
from sibkit.study import Study


def study_codebook(study: Study) -> Codebook:
    """The codebook a study names (built-in name or a path relative to the study file)."""
    return load_codebook(study.codebook, study.base_dir)


def code_study(study: Study, progress: Callable[[int, int], None] | None = None) -> CodingReport:
    """Code every readable document of the study with its codebook."""
    from sibkit.corpus import open_study_store

    return code_documents(open_study_store(study), study_codebook(study), progress=progress)
