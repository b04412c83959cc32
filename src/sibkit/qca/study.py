"""QCA of a study: its classified cases, the themes it names as conditions, its thresholds."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sibkit import spreadsheet
from sibkit.errors import SibkitError
from sibkit.outcomes import STRUGGLING, SUCCESSFUL
from sibkit.qca.method import QcaResult, analyse, calibrate, max_conditions
from sibkit.study.model import Presence, Qca, Study


def qca_data(counts: pd.DataFrame, classes: pd.Series, conditions: Sequence[str], settings: Qca,
             presence: Presence, *, outcome: str | None = None, fuzzy: bool | None = None) -> pd.DataFrame:
    """One row per successful or struggling case: membership in each condition and in the outcome.

    Crisp: a theme is present when the study's presence rule says the case is associated with it.
    Fuzzy: the theme's rate per 10,000 words, calibrated with the direct method and the study's anchors.
    The outcome is crisp: 1 when the case's class is ``outcome``.
    """
    outcome = outcome or settings.outcome
    fuzzy = settings.fuzzy if fuzzy is None else fuzzy
    if outcome not in (SUCCESSFUL, STRUGGLING):
        raise SibkitError(f"QCA outcome {outcome!r} must be {SUCCESSFUL} or {STRUGGLING}")
    known = sorted(set(counts["theme"]))
    unknown = [c for c in conditions if c not in known]
    if unknown:
        raise SibkitError(f"unknown QCA condition {unknown[0]!r}: conditions are theme ids ({', '.join(known)})")
    compared = classes[classes.isin([SUCCESSFUL, STRUGGLING])]
    frame = counts[counts["case_id"].isin(compared.index) & counts["theme"].isin(conditions)].copy()
    if fuzzy:
        frame["membership"] = 0.0
        for theme in conditions:
            anchors = settings.theme_anchors.get(theme, settings.anchors)
            mask = frame["theme"] == theme
            frame.loc[mask, "membership"] = calibrate(frame.loc[mask, "rate_per_10k"].astype(float), anchors.full_out,
                                                      anchors.crossover, anchors.full_in)
    else:
        from sibkit.analysis import associate

        frame["membership"] = associate(frame, presence)["associated"].astype(float)
    wide = frame.pivot(index="case_id", columns="theme", values="membership").reindex(
        index=list(compared.index), columns=list(conditions)).fillna(0.0)
    wide[outcome] = (compared.loc[wide.index] == outcome).astype(float)
    return wide.rename_axis(columns=None).reset_index()


def qca_from(counts: pd.DataFrame, classes: pd.Series, study: Study, *, conditions: Sequence[str] | None = None,
             outcome: str | None = None, fuzzy: bool | None = None) -> QcaResult:
    """QCA with the study's settings (conditions, outcome and calibration may be overridden)."""
    settings = study.qca
    conditions = list(conditions if conditions is not None else settings.conditions)
    n_cases = int(classes.isin([SUCCESSFUL, STRUGGLING]).sum())
    if not conditions:
        themes = ", ".join(sorted(set(counts["theme"])))
        raise SibkitError(f"no QCA conditions: declare qca.conditions in the study file or pass --conditions "
                          f"(at most {max_conditions(n_cases, settings.cases_per_row)} with {n_cases} classified "
                          f"cases); themes: {themes}")
    outcome = outcome or settings.outcome
    data = qca_data(counts, classes, conditions, settings, study.analysis.presence, outcome=outcome, fuzzy=fuzzy)
    if data[outcome].sum() == 0:
        raise SibkitError(f"no case is {outcome}: QCA needs cases with the outcome")
    expectations = {c: (1 if settings.expectations[c] == "present" else 0)
                    for c in conditions if c in settings.expectations}
    result = analyse(data, conditions, outcome, frequency=settings.frequency, consistency=settings.consistency,
                     pri=settings.pri, expectations=expectations, cases_per_row=settings.cases_per_row)
    result.settings["calibration"] = ("direct method, anchors (rate per 10,000 words): " + "; ".join(
        f"{c} {a.full_out:g}/{a.crossover:g}/{a.full_in:g}" for c, a in
        ((c, settings.theme_anchors.get(c, settings.anchors)) for c in conditions))
        if result.fuzzy or (fuzzy if fuzzy is not None else settings.fuzzy)
        else f"crisp: present when {study.analysis.presence.label()}")
    result.settings["successful"] = int((classes == SUCCESSFUL).sum())
    result.settings["struggling"] = int((classes == STRUGGLING).sum())
    result.settings["left_out"] = int(len(classes) - n_cases)
    return result


def qca_study(study: Study, *, conditions: Sequence[str] | None = None, outcome: str | None = None,
              fuzzy: bool | None = None) -> QcaResult:
    """QCA of a study from its database (coded documents) and its classification, for the CLI and notebooks."""
    from sibkit.coding import case_theme_counts, study_codebook
    from sibkit.corpus import held_document_keys, open_study_store
    from sibkit.outcomes import classify_study
    from sibkit.study import select

    url = study.database_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise SibkitError(f"{study.path.name}: no coded corpus yet ({url}); run `sibkit run {study.path}` "
                          "or `sibkit code` first")
    store = open_study_store(study)
    try:
        selection = select(study, extra_documents=held_document_keys(store))
        classes = classify_study(study, selection).cases.set_index("case_id")["class"]
        themes = [theme.id for theme in study_codebook(study).themes if theme.terms]
        counts = case_theme_counts(store, selection.selected, themes)
    finally:
        store.close()
    return qca_from(counts, classes, study, conditions=conditions, outcome=outcome, fuzzy=fuzzy)


def write_tables(result: QcaResult, folder: Path) -> list[Path]:
    """qca-truth-table.csv, qca-solutions.csv, qca-terms.csv, qca-necessity.csv, qca-data.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in (("qca-truth-table", result.truth_table), ("qca-solutions", result.solutions),
                        ("qca-terms", result.terms), ("qca-necessity", result.necessity), ("qca-data", result.data)):
        spreadsheet.to_csv(frame, folder / f"{name}.csv")
        written.append(folder / f"{name}.csv")
    return written
