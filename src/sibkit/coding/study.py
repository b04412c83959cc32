"""The coding of one study: its codebook, its documents, its case x theme counts."""

from __future__ import annotations

from collections.abc import Callable

from sibkit.coding.codebook import Codebook, load_codebook
from sibkit.coding.coder import CodingReport, code_documents
from sibkit.study import Study


def study_codebook(study: Study) -> Codebook:
    """The codebook a study names (built-in name or a path relative to the study file, not a link out of
    its folder unless the study says ``follow_links: true``)."""
    from sibkit.coding.codebook import BUILT_IN

    if study.codebook in BUILT_IN:
        return load_codebook(study.codebook)
    return load_codebook(study.read_path(study.codebook))


def code_study(study: Study, progress: Callable[[int, int], None] | None = None) -> CodingReport:
    """Code every readable document of the study with its codebook."""
    from sibkit.corpus import open_study_store

    return code_documents(open_study_store(study), study_codebook(study), progress=progress)
