"""``sibkit run STUDY``: selection, corpus, coding, classification, comparison, report.

Every step is a plain call into its module; a second run reuses what has not changed (INDIGO
records already stored, documents already coded with the same theme versions). The results are a
``StudyResults`` (``results.py``); ``write_report`` hands them to ``render.py``, which never imports
this module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from sibkit import __version__, memo
from sibkit.analysis import (
    Settings,
    associate,
    compare,
    detectable_difference,
    expand_themes,
    overall_relative_association,
    replication_table,
    sensitivity,
    small_group_warnings,
    with_families,
)
from sibkit.coding import case_theme_counts, code_documents, kwic, study_codebook
from sibkit.corpus import (
    ImportOutcome,
    add_indigo_records,
    add_paths,
    corpus_status,
    evidence_by_case,
    evidence_by_kind,
    evidence_table,
    held_document_keys,
    linked_documents,
    min_documents,
)
from sibkit.corpus import open_study_store as open_store_for
from sibkit.indigo import Dataset
from sibkit.outcomes import INSUFFICIENT, classify_study
from sibkit.outcomes.overrides import override_passages
from sibkit.report.results import StudyResults, as_tables, is_exploratory, record_only_cases, summary
from sibkit.report.wording import detectable_sentence, evidence_statement
from sibkit.study import Study, select
from sibkit.study.selection import reading_list
from sibkit.suggest.engine import summary as suggestion_summary
from sibkit.words import counted

__all__ = ["StudyResults", "as_tables", "evidence_statement", "is_exploratory", "record_only_cases", "run_study",
           "summary", "write_report"]


def dataset_hash(dataset: Dataset) -> str:
    """SHA-256 of every table as CSV (read back from ``sibkit.memo`` for a local export seen before)."""
    def compute() -> str:
        digest = hashlib.sha256()
        for name in sorted(dataset.tables):
            digest.update(name.encode())
            digest.update(dataset.tables[name].to_csv(index=False).encode())
        return digest.hexdigest()

    from sibkit.indigo.typed_cache import content_key

    content = content_key(dataset)  # a folder or zip export, as loaded
    if content is None:
        return compute()
    return memo.memoised(memo.key(("dataset_hash", content), modules=("sibkit.report.run",), libraries=("pandas",)),
                         compute)


def _frame_hash(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


CORPUS_WARNINGS_SHOWN = 10  # import problems named one a line in the run's warnings; the rest are counted


def corpus_warnings(outcomes: list[ImportOutcome]) -> list[str]:
    """The corpus folder's import problems as warnings of the run (``sibkit corpus add`` lists them all)."""
    lines = [f"corpus: {outcome.line()}" for outcome in outcomes[:CORPUS_WARNINGS_SHOWN]]
    if len(outcomes) > CORPUS_WARNINGS_SHOWN:
        lines.append(f"corpus: and {len(outcomes) - CORPUS_WARNINGS_SHOWN} more import problems; "
                     "`sibkit corpus add STUDY` lists them all")
    return lines


def run_study(study: Study, step: Callable[[str], None] | None = None) -> StudyResults:
    """Run the whole study; ``step`` is told the name of each step as it starts."""
    def say(name: str) -> None:
        if step:
            step(name)

    say("Loading the INDIGO dataset")
    dataset = study.dataset()
    store = open_store_for(study)
    corpus_folder = study.resolve(study.corpus.folder)
    import_warnings: list[str] = []
    if corpus_folder.is_dir():
        say("Importing the corpus folder")
        imported = add_paths(store, [corpus_folder], corpus_folder=corpus_folder,
                             known_cases=set(dataset.projects["id"]))
        import_warnings = corpus_warnings(imported.warnings())
    say("Selecting cases")
    selection = select(study, dataset, extra_documents=held_document_keys(store))
    if study.corpus.indigo_records:
        say("Adding INDIGO records to the corpus")
        add_indigo_records(store, dataset, selection.selected)
    say("Coding documents")
    codebook = study_codebook(study)
    code_documents(store, codebook)
    say("Classifying outcomes")
    classification = classify_study(study, selection)
    classes = classification.cases.set_index("case_id")["class"]
    say("Comparing groups")
    themes = [t for t in codebook.themes if t.terms]
    counts = case_theme_counts(store, selection.selected, [t.id for t in themes], count_negated=study.count_negated,
                               count_suggestions=study.suggest.count_unreviewed,
                               count_learned=study.reader.count_unreviewed)
    matrix = associate(counts, study.analysis.presence)
    settings = Settings(study.analysis.seed, study.analysis.permutations, study.analysis.bootstrap)
    parents = {t.id: t.parent for t in codebook.themes}
    named = [*(study.analysis.primary_themes or []), *(t for p in study.analysis.published for t in p.themes)]
    study_warnings = [f"analysis: theme {theme!r} is not in the {codebook.name} codebook; left out"
                      for theme in dict.fromkeys(named) if theme not in parents]
    primary = [t for t in expand_themes(study.analysis.primary_themes or [t.id for t in themes], parents)
               if t in {theme.id for theme in themes}]
    presences = [study.analysis.presence, *study.analysis.alternative_presence]
    findings, overall, detectable, replication, sens_table, survivors = _analysis(
        counts, matrix, classes, classification.sensitivity, settings, primary, study.analysis.published, parents,
        presences, study.outcomes.index)
    say("Carrying the instrument's error into the findings")
    error = _measured_error(study, codebook)
    carried = _carried_error(counts, classes, error, study, parents, primary)
    n_successful, n_struggling = int(overall["n_successful"]), int(overall["n_struggling"])
    corpus = corpus_status(store, selection.selected, min_documents(study), selection.items)
    documents = linked_documents(store)
    documents = documents[documents["case_id"].isin(selection.selected)].reset_index(drop=True)
    evidence = evidence_table(store, reading_list(dataset), selection.selected)
    kwic_table = kwic(store, width=70)
    examples = _examples(kwic_table, [t.id for t in themes])
    if len(examples):
        from sibkit.paper.bibliography import example_citations

        examples = examples.assign(citation=example_citations(store, examples, dataset))
    theme_table = pd.DataFrame([(t.id, t.name, t.parent or "", t.definition, len(t.terms)) for t in codebook.themes],
                               columns=["theme", "name", "parent", "definition", "terms"])
    from sibkit.releases import release_of

    release = release_of(dataset)
    tables_hash = dataset_hash(dataset)  # what "since the last run" tells runs apart by; not the release's hash
    inputs = pd.DataFrame([
        ("study file", str(study.path.name), study.content_hash()),
        ("INDIGO dataset", f"{release.label}, release of {release.date} ({release.date_from})", release.sha256),
        ("codebook", f"{codebook.name} version {codebook.version}", codebook.hash()),
        ("documents", f"{len(documents['document_id'].unique())} documents", _frame_hash(documents)),
        ("references and review decisions", f"{int(counts['references'].sum())} references",
         _frame_hash(counts)),
        ("INDIGO tables as loaded", "hash of its tables as sibkit typed them (what 'Since the last run' compares)",
         tables_hash),
        ("sibkit", __version__, ""),
    ], columns=["input", "what", "sha256"])
    results = StudyResults(
        study=study, flow=selection.flow, selection=selection.cases, selected=selection.selected,
        classification=classification.cases, metrics=classification.metrics,
        class_sensitivity=classification.sensitivity if classification.sensitivity is not None else pd.DataFrame(),
        left_out=classification.left_out_table(),
        corpus=corpus, documents=documents, counts=counts, matrix=matrix, findings=findings,
        overall=overall, sensitivity=sens_table, survivors=survivors, examples=examples, themes=theme_table,
        inputs=inputs, evidence=evidence, evidence_cases=evidence_by_case(evidence, selection.selected),
        evidence_kinds=evidence_by_kind(evidence), replication=replication, detectable=detectable,
        primary_themes=primary, group_warnings=small_group_warnings(n_successful, n_struggling),
        warnings=[*import_warnings, *classification.warnings, *study_warnings],
        suggestions=suggestion_summary(store, study.suggest), carried_error=carried, measured_error=error,
        dataset_source=release.named, dataset_sha256=release.sha256)
    results.warnings += results.group_warnings
    names = dict(zip(theme_table["theme"], theme_table["name"], strict=True))
    results.qca, results.qca_note = _qca(study, counts, classes, kwic_table, names)
    results.override_passages, notes = override_passages(store, classification.cases)
    results.warnings += notes
    results.provided = _provided(study, dataset, selection, classification)
    results.limitations = _limitations(results)
    from sibkit.coding.agreement import study_agreement

    results.agreement = study_agreement(store)
    from sibkit.audit.report import instrument_section

    results.instrument = instrument_section(study, store)
    from sibkit.releases.since import since_last_run

    results.release = release
    results.since_last_run = since_last_run(results, store, tables_hash)
    from sibkit.paper.methods import methods_paragraph

    results.methods = methods_paragraph(study, results)
    return results


#: what the statistics depend on besides their inputs (a change to any of them computes them again)
ANALYSIS_CODE = ("sibkit.analysis.compare", "sibkit.analysis.replication", "sibkit.analysis.instrument",
                 "sibkit.report.run")
ANALYSIS_LIBRARIES = ("numpy", "pandas", "scipy", "statsmodels")


def _analysis(counts: pd.DataFrame, matrix: pd.DataFrame, classes: pd.Series, class_sensitivity: pd.DataFrame | None,
              settings: Settings, primary: list[str], published: list[Any], parents: dict[str, str | None],
              presences: list[Any], index: str) -> tuple[Any, ...]:
    """Findings, overall association, detectable difference, replication, sensitivity and its summary.

    Seeded, so a pure function of its inputs: read back from ``sibkit.memo`` when none changed (the
    permutation tests and bootstraps of every scenario are most of a run's time)."""
    def compute() -> tuple[Any, ...]:
        findings = with_families(compare(matrix, classes, settings), primary)
        overall = overall_relative_association(matrix, classes, primary, settings.bootstrap, settings.seed)
        n_successful, n_struggling = int(overall["n_successful"]), int(overall["n_struggling"])
        detectable = _detectable(n_successful, n_struggling, published)
        replication = replication_table(findings, published, parents, overall)
        sens_table, survivors = sensitivity(counts, class_sensitivity, presences, settings, index=index)
        return findings, overall, detectable, replication, sens_table, survivors

    inputs = ("analysis", counts, matrix, classes, class_sensitivity, settings, primary, published, parents,
              presences, index)
    return memo.memoised(memo.key(inputs, modules=ANALYSIS_CODE, libraries=ANALYSIS_LIBRARIES), compute)


def _detectable(n_successful: int, n_struggling: int, published: list[Any]) -> pd.DataFrame:
    """The smallest detectable difference from a struggling share of 20% and of 50%, and the power to detect
    the published range's ends from there (NaN without a published difference)."""
    from sibkit.analysis import fisher_power

    ranges = [p.difference_pp for p in published if p.difference_pp is not None]
    rows = []
    for baseline in (0.2, 0.5):
        value, method = detectable_difference(n_successful, n_struggling, baseline)
        powers = [math.nan, math.nan]
        if ranges and n_successful and n_struggling:
            powers = [float(fisher_power(min(1.0, baseline + end / 100), baseline, n_successful, n_struggling)[0])
                      for end in (ranges[0].low, ranges[0].high)]
        rows.append((baseline, value, method, *powers))
    return pd.DataFrame(rows, columns=["struggling_share", "detectable_pp", "method", "power_published_low",
                                       "power_published_high"])


def _measured_error(study: Study, codebook: Any) -> pd.DataFrame:
    """Per-theme precision and recall for the Monte Carlo, from the first source that has them: the study's
    own review and recall audit (``sibkit.audit.instrument_error``, where that package is installed), then
    the codebook's measured figures (``Codebook.measured``); an empty table when neither."""
    import importlib.util

    from sibkit.analysis.instrument import measured_error
    from sibkit.errors import SibkitError

    def own() -> pd.DataFrame | None:
        if importlib.util.find_spec("sibkit.audit") is None:
            return None
        from sibkit.audit import instrument_error  # type: ignore[attr-defined]

        try:
            return instrument_error(study)
        except SibkitError:
            return None

    return measured_error(codebook, study_error=own)


def _carried_error(counts: pd.DataFrame, classes: pd.Series, error: pd.DataFrame, study: Study,
                parents: dict[str, str | None], primary: list[str]) -> Any:
    """The findings re-run with the measured error (seeded: read back from ``sibkit.memo``); None when
    nothing is measured."""
    if error.empty:
        return None
    from sibkit.analysis.instrument import carry_error

    def compute() -> Any:
        return carry_error(counts, classes, error, study.analysis.presence, published=study.analysis.published,
                           parents=parents, primary=primary, draws=study.analysis.instrument_draws,
                           seed=study.analysis.seed)

    inputs = ("instrument", counts, classes, error, study.analysis.presence, study.analysis.published, parents,
              primary, study.analysis.instrument_draws, study.analysis.seed)
    return memo.memoised(memo.key(inputs, modules=ANALYSIS_CODE, libraries=ANALYSIS_LIBRARIES), compute)


def _qca(study: Study, counts: pd.DataFrame, classes: pd.Series, hits: pd.DataFrame,
         names: dict[str, str]) -> tuple[Any, str]:
    """The study's QCA, or why there is none (no conditions declared, too many for the cases, ...)."""
    from sibkit.errors import SibkitError
    from sibkit.qca.study import qca_from

    if not study.qca.conditions:
        return None, "The study declares no QCA conditions (qca.conditions in the study file)."
    try:
        return qca_from(counts, classes, study, hits=hits, names=names), ""
    except SibkitError as exc:
        return None, f"QCA not run: {exc}."


INTERIM_RULES = {
    "flag": "their interim results are compared with the lifetime targets and marked interim",
    "pro_rata": "their interim results are compared with the targets pro rata (the share of the contract elapsed)",
    "exclude": "their interim results are left out",
}


def _provided(study: Study, dataset: Dataset, selection: Any, classification: Any) -> dict[str, Any]:
    """What the findings rest on, as far as each area's results expose it (``basis.FindingsBasis``): the
    release (``sibkit.releases.release_of``), the document kinds the selection counted
    (``kinds_counted_labels``), the stage of each case's evidence (``evidence_stage``), how interim
    results are judged (``outcomes.interim``), payments and targets left out (``left_out_summary()``), the
    compared cases the achievement rule decides on a target of unknown kind (``metrics.target_kind``).
    A figure that is not known is simply absent."""
    from sibkit.releases import release_of

    out: dict[str, Any] = {}
    if dataset is not None:
        out["release"] = str(release_of(dataset).date)
    if selection.kinds_counted_labels:
        out["kinds_counted"] = tuple(selection.kinds_counted_labels)
    cases = classification.cases
    if "evidence_stage" in cases.columns:
        compared = cases[cases["class"].isin(["successful", "struggling"])]
        out["stages"] = compared["evidence_stage"].fillna("unknown").value_counts().to_dict()
        out["stage_source"] = "the stage of their results"
    if study.outcomes.interim in INTERIM_RULES:
        out["interim_rule"] = INTERIM_RULES[study.outcomes.interim]
    left = classification.left_out_summary()
    out["payments_left_out"] = dict(left.get("payments_by_kind", {}))
    out["targets_left_out"] = dict(left.get("targets_by_kind", {}))
    metrics = classification.metrics
    if {"ratio", "target_kind", "case_id"} <= set(metrics.columns) and "decided_by" in cases.columns:
        resting = set(metrics.loc[metrics["ratio"].notna() & (metrics["target_kind"] == "unknown"), "case_id"])
        decided = cases[cases["class"].isin(["successful", "struggling"]) & (cases["decided_by"] == "achievement")
                        & cases["case_id"].isin(resting)]
        by_class = decided["class"].value_counts()
        out["unknown_targets"] = {cls: int(by_class.get(cls, 0)) for cls in ("successful", "struggling")}
    return out


def _examples(table: pd.DataFrame, themes: list[str], per_theme: int = 3) -> pd.DataFrame:
    """A few keyword-in-context examples per theme: accepted ones first, then in document order."""
    if table.empty:
        return table
    table = table.assign(case_ids=table["case_ids"].map(" ".join))
    live = table[table["counts_for"].notna()]
    picked = [live[live["counts_for"] == theme].sort_values(["reviewed", "reference_id"], ascending=[False, True])
              .head(per_theme) for theme in themes]
    return pd.concat(picked, ignore_index=True) if picked else table.head(0)


def _limitations(results: StudyResults) -> list[str]:
    notes = []
    classes = results.classification["class"]
    n_insufficient = int((classes == INSUFFICIENT).sum())
    if n_insufficient:
        notes.append(f"{n_insufficient} of {len(classes)} selected cases have too little outcome data in INDIGO to be "
                     "classified (insufficient data) and are left out of the comparison.")
    reviewed = results.counts.groupby("case_id")["reviewed"].any()
    unreviewed = sorted(reviewed[~reviewed].index)
    if unreviewed:
        notes.append(f"{len(unreviewed)} cases rely on unreviewed automatic coding only: {', '.join(unreviewed)}. "
                     "Review their hits (`sibkit review export`) before drawing conclusions.")
    only_records = sorted(results.corpus.loc[results.corpus["documents"] == 0, "case_id"])
    if only_records:
        notes.append(f"{len(only_records)} cases are coded from their INDIGO record alone, not from evaluations or "
                     f"reviews: {', '.join(only_records)}.")
    groups = results.findings[["n_successful", "n_struggling"]].max() if len(results.findings) else None
    if groups is not None:
        notes.append(f"The comparison has {int(groups['n_successful'])} successful and {int(groups['n_struggling'])} "
                     "struggling cases: differences of one or two cases move shares by many percentage points; "
                     "read intervals and q-values, not p-values alone. " + detectable_sentence(results))
    overridden = int(results.classification["overridden"].sum())
    if overridden:
        notes.append(f"{overridden} classifications come from manual overrides.")
    return notes


def timestamp() -> str:
    """The run's time, from SOURCE_DATE_EPOCH when set (reproducible builds), else now (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return moment.replace(microsecond=0).isoformat()


def write_report(results: StudyResults, folder: Path | None = None) -> Path:
    """Write report.html, every table as CSV, one XLSX workbook and every chart as PNG."""
    from sibkit.report.render import write_folder

    target = folder or results.study.resolve(results.study.report.folder)
    removed = write_folder(results, target, timestamp())
    if removed:  # printed with the run's warnings (after the report, which they are not part of)
        results.warnings.append(f"removed {counted(len(removed), 'table')} of an earlier report that this one "
                                "does not hold (each with its sidecar): " + ", ".join(removed))
    return target
