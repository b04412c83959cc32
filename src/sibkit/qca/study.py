"""QCA of a study: its classified cases, the themes it names as conditions, its thresholds.

Calibration reads each theme's reference density: the references that count after review
(accepted ones where a person reviewed the case and theme, the automatic ones otherwise) per 10,000
words of the case's documents, with the study's anchors (``qca.anchors``, per theme
``qca.theme_anchors``):

- crisp: a case is in the set when its density is at least the crossover anchor;
- fuzzy: the direct method (Ragin 2008, ch. 5) with the three anchors.

Constant and near-constant conditions are left out with a note (``qca.min_share``); every solution
term is shown with the cases and hits it rests on and their review state, with a warning when a
term rests on one case or one hit; the robustness table re-runs the analysis under every anchor
scale and consistency cut-off of ``qca.robustness`` and says which terms survive them all (after
Skaaning 2011, *Sociological Methods & Research* 40, 391-408).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from sibkit import spreadsheet
from sibkit.errors import SibkitError
from sibkit.outcomes import STRUGGLING, SUCCESSFUL
from sibkit.qca.method import QcaResult, analyse, calibrate, max_conditions, skewed_conditions
from sibkit.study.model import Anchors, Qca, Study

EVIDENCE_COLUMNS = ["solution", "model", "term", "case_id", "class", "condition", "hits", "review", "reference_ids",
                    "example"]
TABLE_FILES = ("qca-truth-table", "qca-solutions", "qca-terms", "qca-evidence", "qca-contradictions",
               "qca-robustness", "qca-scenarios", "qca-necessity", "qca-data")


def _anchors(settings: Qca, theme: str, scale: float = 1.0) -> Anchors:
    base = settings.theme_anchors.get(theme, settings.anchors)
    return Anchors(full_out=base.full_out * scale, crossover=base.crossover * scale, full_in=base.full_in * scale)


def qca_data(counts: pd.DataFrame, classes: pd.Series, conditions: Sequence[str], settings: Qca, *,
             outcome: str | None = None, fuzzy: bool | None = None, scale: float = 1.0) -> pd.DataFrame:
    """One row per successful or struggling case: membership in each condition and in the outcome.

    Crisp: in the set when the theme's density (``rate_per_10k``) is at least the crossover anchor;
    fuzzy: the density calibrated with the direct method; ``scale`` multiplies every anchor (the
    robustness table). The outcome is crisp: 1 when the case's class is ``outcome``.
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
    frame["membership"] = 0.0
    for theme in conditions:
        anchors = _anchors(settings, theme, scale)
        mask = frame["theme"] == theme
        density = frame.loc[mask, "rate_per_10k"].astype(float)
        if fuzzy:
            frame.loc[mask, "membership"] = calibrate(density, anchors.full_out, anchors.crossover, anchors.full_in)
        else:
            rising = anchors.full_in > anchors.crossover
            frame.loc[mask, "membership"] = ((density >= anchors.crossover) if rising
                                             else (density <= anchors.crossover)).astype(float)
    wide = frame.pivot(index="case_id", columns="theme", values="membership").reindex(
        index=list(compared.index), columns=list(conditions)).fillna(0.0)
    wide[outcome] = (compared.loc[wide.index] == outcome).astype(float)
    return wide.rename_axis(columns=None).reset_index()


def calibration_text(settings: Qca, conditions: Sequence[str], fuzzy: bool, scale: float = 1.0) -> str:
    """The calibration in words, with its anchors."""
    anchors = {c: _anchors(settings, c, scale) for c in conditions}
    density = "references that count after review per 10,000 words"
    if fuzzy:
        return (f"fuzzy, direct method on the density of {density} (anchors full out / crossover / full in: "
                + "; ".join(f"{c} {a.full_out:g} / {a.crossover:g} / {a.full_in:g}" for c, a in anchors.items()) + ")")
    same = len({a.crossover for a in anchors.values()}) == 1
    if same and anchors:
        value = next(iter(anchors.values())).crossover
        return f"crisp: in the set from {value:g} {density} (the crossover anchor)"
    return (f"crisp: in the set from the crossover anchor of {density}: "
            + "; ".join(f"{c} {a.crossover:g}" for c, a in anchors.items()))


def presence_differences(data: pd.DataFrame, cells: pd.DataFrame, study: Study) -> int:
    """How many case × condition cells the crisp calibration puts in the set while the comparison's
    presence rule does not count the theme as associated, or the other way round."""
    from sibkit.analysis import associate

    associated = associate(cells, study.analysis.presence).set_index(["case_id", "theme"])["associated"]
    differ = 0
    for condition in [c for c in data.columns if c in set(cells["theme"])]:
        for case_id, membership in zip(data["case_id"], data[condition], strict=True):
            differ += bool(membership > 0.5) != bool(associated.get((case_id, condition), False))
    return differ


def _prepare(counts: pd.DataFrame, classes: pd.Series, study: Study, conditions: Sequence[str] | None,
             outcome: str | None) -> tuple[list[str], str, int]:
    settings = study.qca
    conditions = list(conditions if conditions is not None else settings.conditions)
    n_cases = int(classes.isin([SUCCESSFUL, STRUGGLING]).sum())
    if not conditions:
        themes = ", ".join(sorted(set(counts["theme"])))
        raise SibkitError(f"no QCA conditions: declare qca.conditions in the study file or pass --conditions "
                          f"(at most {max_conditions(n_cases, settings.cases_per_row)} with {n_cases} classified "
                          f"cases); themes: {themes}")
    return conditions, outcome or settings.outcome, n_cases


def _run(counts: pd.DataFrame, classes: pd.Series, study: Study, conditions: list[str], outcome: str,
         fuzzy: bool, scale: float, consistency: float, names: Mapping[str, str] | None = None) -> QcaResult:
    """Calibrate, leave out skewed conditions, analyse: one scenario."""
    settings = study.qca
    data = qca_data(counts, classes, conditions, settings, outcome=outcome, fuzzy=fuzzy, scale=scale)
    if data[outcome].sum() == 0:
        raise SibkitError(f"no case is {outcome}: QCA needs cases with the outcome")
    kept, dropped = skewed_conditions(data, conditions, settings.min_share, names)
    if not kept:
        raise SibkitError("every condition is constant or near-constant in these cases ("
                          + "; ".join(dropped.values()) + "): there is nothing to compare")
    expectations = {c: (1 if settings.expectations[c] == "present" else 0)
                    for c in kept if c in settings.expectations}
    result = analyse(data[["case_id", *kept, outcome]], kept, outcome, frequency=settings.frequency,
                     consistency=consistency, pri=settings.pri, expectations=expectations,
                     cases_per_row=settings.cases_per_row)
    result.data = data
    result.dropped = dropped
    return result


def qca_from(counts: pd.DataFrame, classes: pd.Series, study: Study, *, conditions: Sequence[str] | None = None,
             outcome: str | None = None, fuzzy: bool | None = None, hits: pd.DataFrame | None = None,
             names: Mapping[str, str] | None = None, robustness: bool = True) -> QcaResult:
    """QCA with the study's settings (conditions, outcome and calibration may be overridden).

    ``hits``: the study's references in context (``coding.kwic``), to show the hits each term rests
    on; ``robustness``: also run every scenario of ``qca.robustness``."""
    settings = study.qca
    conditions, outcome, n_cases = _prepare(counts, classes, study, conditions, outcome)
    fuzzy = settings.fuzzy if fuzzy is None else fuzzy
    result = _run(counts, classes, study, conditions, outcome, fuzzy, 1.0, settings.consistency, names)
    if result.dropped:
        result.warnings.insert(0, "left out as conditions: " + "; ".join(result.dropped.values())
                               + f" (a condition needs at least {100 * settings.min_share:.0f}% of the cases on each "
                               "side of 0.5)")
    result.settings["calibration"] = calibration_text(settings, result.conditions, fuzzy)
    result.settings["successful"] = int((classes == SUCCESSFUL).sum())
    result.settings["struggling"] = int((classes == STRUGGLING).sum())
    result.settings["left_out"] = int(len(classes) - n_cases)
    result.settings["conditions_declared"] = list(conditions)
    compared = [c for c in classes.index if classes[c] in (SUCCESSFUL, STRUGGLING)]
    cells = counts[counts["case_id"].isin(compared) & counts["theme"].isin(result.conditions)]
    # a density rests on unreviewed hits only where it has hits and none was reviewed (no hit: nothing to review)
    hit = cells["effective_references"] > 0 if "effective_references" in cells else True
    result.settings["unreviewed_cells"] = int((hit & ~cells["reviewed"].astype(bool)).sum()) \
        if "reviewed" in cells else 0
    result.settings["cells"] = len(cells)
    if not fuzzy:  # where crisp sets and the comparison's presence rule part ways, say how often
        result.settings["presence_rule"] = study.analysis.presence.label()
        result.settings["presence_differs"] = presence_differences(result.data, cells, study)
    result.evidence = term_evidence(result, counts, classes, hits)
    _term_warnings(result, names or {})
    if robustness:
        result.robustness, result.robust_terms = robustness_table(counts, classes, study, conditions, outcome, fuzzy,
                                                                  result, names)
    return result


def _positive_conditions(pattern: str, conditions: Sequence[str]) -> list[str]:
    return [c for c, value in zip(conditions, pattern, strict=True) if value == "1"]


def term_evidence(result: QcaResult, counts: pd.DataFrame, classes: pd.Series,
                  hits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per solution term and covered case: the hits behind each present condition, their review state,
    the reference ids and one hit in context. A term of absent conditions only rests on no hits."""
    if result.terms.empty:
        return pd.DataFrame(columns=EVIDENCE_COLUMNS)
    by_cell = counts.set_index(["case_id", "theme"])
    live = None
    if hits is not None and len(hits):
        live = hits[hits["counts_for"].notna()]
    rows = []
    for term in result.terms.to_dict("records"):
        present = _positive_conditions(term["pattern"], result.conditions)
        for case_id in str(term["cases"]).split():
            for condition in present or [""]:
                row = {"solution": term["solution"], "model": term["model"], "term": term["term"],
                       "case_id": case_id, "class": classes.get(case_id, ""), "condition": condition, "hits": 0,
                       "review": "", "reference_ids": "", "example": ""}
                if condition:
                    cell = by_cell.loc[(case_id, condition)] if (case_id, condition) in by_cell.index else None
                    row["hits"] = int(cell["effective_references"]) if cell is not None else 0
                    row["review"] = "reviewed" if cell is not None and bool(cell.get("reviewed", False)) \
                        else "unreviewed"
                    if live is not None:
                        found = live[(live["counts_for"] == condition)
                                     & live["case_ids"].map(lambda ids, c=case_id: c in ids).astype(bool)]
                        row["reference_ids"] = " ".join(str(i) for i in found["reference_id"])
                        if len(found):
                            first = found.iloc[0]
                            row["example"] = f"…{first['left']} [{first['text']}] {first['right']}…"
                else:
                    row["review"] = "absence of hits"
                rows.append(row)
    return pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)


def _term_warnings(result: QcaResult, names: Mapping[str, str]) -> None:
    """Per term: the cases with the outcome it covers and the hits behind it; a warning when one of either."""
    terms = result.terms
    if terms.empty:
        for column in ("outcome_cases", "hits", "unreviewed_hits", "rests_on"):
            terms[column] = pd.Series(dtype=object)
        return
    outcome_cases = set(result.data.loc[result.data[result.outcome] > 0.5, "case_id"].astype(str))
    evidence = result.evidence
    summaries = []
    for term in terms.to_dict("records"):
        own = evidence[(evidence["solution"] == term["solution"]) & (evidence["model"] == term["model"])
                       & (evidence["term"] == term["term"])]
        covered = sorted(set(own["case_id"]) & outcome_cases)
        with_outcome = own[own["case_id"].isin(covered) & (own["condition"] != "")]
        hits = int(with_outcome["hits"].sum())
        unreviewed = int(with_outcome.loc[with_outcome["review"] == "unreviewed", "hits"].sum())
        has_presence = "1" in term["pattern"]
        notes = []
        if len(covered) == 1:
            notes.append(f"one case ({covered[0]})")
        if has_presence and hits == 1:
            ids = " ".join(i for i in with_outcome["reference_ids"] if i)
            notes.append(f"one hit{f' (reference {ids})' if ids else ''}")
        summaries.append({"outcome_cases": len(covered), "hits": hits if has_presence else 0,
                          "unreviewed_hits": unreviewed, "rests_on": " and ".join(notes)})
        if notes:
            result.warnings.append(f"the {term['solution']} term {term['term']} rests on " + " and ".join(notes)
                                   + (f", {unreviewed} of its hits unreviewed" if unreviewed else "")
                                   + ": read it as a description of that case, not a pattern")
    for column in ("outcome_cases", "hits", "unreviewed_hits", "rests_on"):
        terms[column] = [s[column] for s in summaries]


def scenario_label(scale: float, consistency: float) -> str:
    return f"anchors ×{scale:g}, consistency {consistency:g}"


def robustness_table(counts: pd.DataFrame, classes: pd.Series, study: Study, conditions: list[str], outcome: str,
                     fuzzy: bool, result: QcaResult, names: Mapping[str, str] | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(every scenario's solutions, per term of the result: the scenarios that give it and whether it
    survives them all). A scenario multiplies every anchor by a scale and uses one consistency cut-off."""
    settings = study.qca
    cuts = sorted({*settings.robustness.consistency, settings.consistency})
    scales = sorted({*settings.robustness.anchor_scales, 1.0})
    rows = []
    found: dict[str, dict[tuple[str, str], bool]] = {}
    labels = []
    for scale in scales:
        for cut in cuts:
            label = scenario_label(scale, cut)
            labels.append(label)
            found[label] = {}
            try:
                scenario = _run(counts, classes, study, conditions, outcome, fuzzy, scale, cut, names)
            except SibkitError as exc:
                rows.append({"scenario": label, "anchor_scale": scale, "consistency": cut, "conditions": "",
                             "solution": "", "expression": "", "note": str(exc)})
                continue
            kept = " ".join(scenario.conditions)
            if scenario.solutions.empty:
                rows.append({"scenario": label, "anchor_scale": scale, "consistency": cut, "conditions": kept,
                             "solution": "", "expression": "", "note": "no row reaches the thresholds"})
            for solution in scenario.solutions.to_dict("records"):
                rows.append({"scenario": label, "anchor_scale": scale, "consistency": cut, "conditions": kept,
                             "solution": solution["solution"], "expression": solution["expression"], "note": ""})
            for term in scenario.terms.to_dict("records"):
                found[label][(term["solution"], term["term"])] = True
    scenarios = pd.DataFrame(rows, columns=["scenario", "anchor_scale", "consistency", "conditions", "solution",
                                            "expression", "note"])
    own = list(dict.fromkeys((t["solution"], t["term"]) for t in result.terms.to_dict("records")))
    keys = list(dict.fromkeys([*own, *(k for label in labels for k in found[label])]))
    summary = []
    for solution, term in keys:
        marks = {label: bool(found[label].get((solution, term))) for label in labels}
        summary.append({"solution": solution, "term": term, "in_result": (solution, term) in own, **marks,
                        "scenarios_with": sum(marks.values()), "scenarios": len(labels),
                        "survives": all(marks.values())})
    table = pd.DataFrame(summary, columns=["solution", "term", "in_result", *labels, "scenarios_with", "scenarios",
                                           "survives"])
    return scenarios, table


def qca_study(study: Study, *, conditions: Sequence[str] | None = None, outcome: str | None = None,
              fuzzy: bool | None = None) -> QcaResult:
    """QCA of a study from its database (coded documents) and its classification, for the CLI and notebooks."""
    from sibkit.coding import case_theme_counts, kwic, study_codebook
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
        codebook = study_codebook(study)
        themes = [theme.id for theme in codebook.themes if theme.terms]
        counts = case_theme_counts(store, selection.selected, themes, count_negated=study.count_negated,
                                   count_suggestions=study.suggest.count_unreviewed)
        hits = kwic(store, width=70)
    finally:
        store.close()
    return qca_from(counts, classes, study, conditions=conditions, outcome=outcome, fuzzy=fuzzy, hits=hits)


def result_tables(result: QcaResult) -> dict[str, pd.DataFrame]:
    """Every QCA table by file name (the report folder's one naming scheme: words joined by hyphens)."""
    frames = (result.truth_table, result.solutions, result.terms, result.evidence, result.contradictions,
              result.robust_terms, result.robustness, result.necessity, result.data)
    return dict(zip(TABLE_FILES, frames, strict=True))


def write_tables(result: QcaResult, folder: Path) -> list[Path]:
    """qca-truth-table.csv, qca-solutions.csv, qca-terms.csv, qca-evidence.csv, qca-contradictions.csv,
    qca-robustness.csv, qca-scenarios.csv, qca-necessity.csv, qca-data.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in result_tables(result).items():
        spreadsheet.to_csv(frame, folder / f"{name}.csv")
        written.append(folder / f"{name}.csv")
    return written
