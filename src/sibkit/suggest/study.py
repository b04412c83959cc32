"""Suggestions for one study: its codebook, its database, the model its study file names."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sibkit.study import Study
from sibkit.suggest.embedders import Embedder, load_embedder
from sibkit.suggest.engine import SuggestReport, suggest


def suggest_study(study: Study, *, themes: Sequence[str] | None = None, limit: int | None = None,
                  embedder: Embedder | None = None,
                  progress: Callable[[int, int], None] | None = None) -> SuggestReport:
    """Suggest passages in the study's documents with the model of ``suggest.model`` (or ``embedder``)."""
    from sibkit.coding import study_codebook
    from sibkit.corpus import open_study_store

    codebook = study_codebook(study)
    for theme in themes or ():
        codebook.theme(theme)  # one clear error for an unknown theme
    return suggest(open_study_store(study), codebook, embedder or load_embedder(study.suggest.model),
                   study.suggest, themes=themes, limit=limit, seed=study.analysis.seed, progress=progress)
