"""Classification of a study's selected cases, as its ``outcomes`` section declares."""

from __future__ import annotations

from sibkit.outcomes.classify import Classification, classify
from sibkit.study.model import Study
from sibkit.study.selection import Selection, select


def classify_study(study: Study, selection: Selection | None = None) -> Classification:
    """Classify the selected cases with the study's tolerance, rules, index, kinds of payment and target,
    interim rule, overrides and sensitivity list."""
    selection = selection if selection is not None else select(study)
    settings = study.outcomes
    tolerances = sorted({*settings.sensitivity, settings.tolerance})
    return classify(study.dataset(), selection.selected, tolerance=settings.tolerance, rules=settings.rules,
                    classify_in_implementation=settings.classify_in_implementation,
                    overrides=study.read_path(settings.overrides) if settings.overrides else None,
                    sensitivity=tolerances, index=settings.index, payment_kinds=settings.payment_kinds,
                    target_kinds=settings.target_kinds, interim=settings.interim)
