"""``sibkit run STUDY``: selection, corpus, coding, classification, comparison, report.

Every step is a plain call into its module; a second run reuses what has not changed (INDIGO
records already stored, documents already coded with the same theme versions).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
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
from sibkit.study import Study, select
from sibkit.study.selection import reading_list
from sibkit.suggest.engine import summary as suggestion_summary


@dataclass
class StudyResults:
    """Everything the report shows, as DataFrames and values."""

    study: Study
    flow: pd.DataFrame
    selection: pd.DataFrame
    selected: list[str]
    classification: pd.DataFrame
    metrics: pd.DataFrame
    class_sensitivity: pd.DataFrame
    corpus: pd.DataFrame
    documents: pd.DataFrame
    counts: pd.DataFrame
    matrix: pd.DataFrame
    findings: pd.DataFrame
    overall: dict[str, float]
    sensitivity: pd.DataFrame
    survivors: pd.DataFrame
    examples: pd.DataFrame
    themes: pd.DataFrame
    inputs: pd.DataFrame
    evidence: pd.DataFrame = field(default_factory=pd.DataFrame)
    evidence_cases: pd.DataFrame = field(default_factory=pd.DataFrame)
    evidence_kinds: pd.DataFrame = field(default_factory=pd.DataFrame)
    replication: pd.DataFrame = field(default_factory=pd.DataFrame)
    detectable: pd.DataFrame = field(default_factory=pd.DataFrame)
    primary_themes: list[str] = field(default_factory=list)
    group_warnings: list[str] = field(default_factory=list)
    limitations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    suggestions: dict[str, Any] = field(default_factory=dict)
    agreement: pd.DataFrame = field(default_factory=pd.DataFrame)
    qca: Any = None  # sibkit.qca.QcaResult when the study declares QCA conditions
    qca_note: str = ""  # why there is no QCA result
    override_passages: list[dict[str, Any]] = field(default_factory=list)
    instrument: dict[str, Any] = field(default_factory=dict)  # sibkit.audit.report.instrument_section


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


def run_study(study: Study, step: Callable[[str], None] | None = None) -> StudyResults:
    """Run the whole study; ``step`` is told the name of each step as it starts."""
    def say(name: str) -> None:
        if step:
            step(name)

    say("Loading the INDIGO dataset")
    dataset = study.dataset()
    store = open_store_for(study)
    corpus_folder = study.resolve(study.corpus.folder)
    if corpus_folder.is_dir():
        say("Importing the corpus folder")
        add_paths(store, [corpus_folder], corpus_folder=corpus_folder, known_cases=set(dataset.projects["id"]))
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
    n_successful, n_struggling = int(overall["n_successful"]), int(overall["n_struggling"])
    corpus = corpus_status(store, selection.selected, min_documents(study))
    documents = linked_documents(store)
    documents = documents[documents["case_id"].isin(selection.selected)].reset_index(drop=True)
    evidence = evidence_table(store, reading_list(dataset), selection.selected)
    examples = _examples(kwic(store, width=70), [t.id for t in themes])
    theme_table = pd.DataFrame([(t.id, t.name, t.parent or "", t.definition, len(t.terms)) for t in codebook.themes],
                               columns=["theme", "name", "parent", "definition", "terms"])
    inputs = pd.DataFrame([
        ("study file", str(study.path.name), study.content_hash()),
        ("INDIGO dataset", str(study.data or "local copy"), dataset_hash(dataset)),
        ("codebook", f"{codebook.name} version {codebook.version}", codebook.hash()),
        ("documents", f"{len(documents['document_id'].unique())} documents", _frame_hash(documents)),
        ("references and review decisions", f"{int(counts['references'].sum())} references",
         _frame_hash(counts)),
        ("sibkit", __version__, ""),
    ], columns=["input", "what", "sha256"])
    results = StudyResults(
        study=study, flow=selection.flow, selection=selection.cases, selected=selection.selected,
        classification=classification.cases, metrics=classification.metrics,
        class_sensitivity=classification.sensitivity if classification.sensitivity is not None else pd.DataFrame(),
        corpus=corpus, documents=documents, counts=counts, matrix=matrix, findings=findings,
        overall=overall, sensitivity=sens_table, survivors=survivors, examples=examples, themes=theme_table,
        inputs=inputs, evidence=evidence, evidence_cases=evidence_by_case(evidence, selection.selected),
        evidence_kinds=evidence_by_kind(evidence), replication=replication, detectable=detectable,
        primary_themes=primary, group_warnings=small_group_warnings(n_successful, n_struggling),
        warnings=[*classification.warnings, *study_warnings],
        suggestions=suggestion_summary(store, study.suggest))
    results.warnings += results.group_warnings
    results.qca, results.qca_note = _qca(study, counts, classes)
    results.override_passages, notes = override_passages(store, classification.cases)
    results.warnings += notes
    results.limitations = _limitations(results)
    from sibkit.coding.agreement import study_agreement

    results.agreement = study_agreement(store)
    from sibkit.audit.report import instrument_section

    results.instrument = instrument_section(study, store)
    return results


#: what the statistics depend on besides their inputs (a change to any of them computes them again)
ANALYSIS_CODE = ("sibkit.analysis.compare", "sibkit.analysis.replication", "sibkit.report.run")
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
        detectable = pd.DataFrame([(baseline, *detectable_difference(n_successful, n_struggling, baseline))
                                   for baseline in (0.2, 0.5)],
                                  columns=["struggling_share", "detectable_pp", "method"])
        replication = replication_table(findings, published, parents, overall)
        sens_table, survivors = sensitivity(counts, class_sensitivity, presences, settings, index=index)
        return findings, overall, detectable, replication, sens_table, survivors

    inputs = ("analysis", counts, matrix, classes, class_sensitivity, settings, primary, published, parents,
              presences, index)
    return memo.memoised(memo.key(inputs, modules=ANALYSIS_CODE, libraries=ANALYSIS_LIBRARIES), compute)


def _qca(study: Study, counts: pd.DataFrame, classes: pd.Series) -> tuple[Any, str]:
    """The study's QCA, or why there is none (no conditions declared, too many for the cases, ...)."""
    from sibkit.errors import SibkitError
    from sibkit.qca.study import qca_from

    if not study.qca.conditions:
        return None, "The study declares no QCA conditions (qca.conditions in the study file)."
    try:
        return qca_from(counts, classes, study), ""
    except SibkitError as exc:
        return None, f"QCA not run: {exc}."


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


def record_only_cases(results: StudyResults) -> list[str]:
    """Selected cases whose coded evidence is their INDIGO record alone."""
    table = results.evidence_cases
    return [] if table.empty else list(table.loc[table["record_only"], "case_id"])


def is_exploratory(results: StudyResults) -> bool:
    """Most cases are coded from their INDIGO record alone (a database description)."""
    return 2 * len(record_only_cases(results)) > len(results.selected)


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def evidence_statement(results: StudyResults) -> str:
    """The evidence base in numbers, one paragraph: what was coded, listed and held, the groups."""
    kinds = results.evidence_kinds
    cases = len(results.selected)
    coded = int(kinds["coded"].sum()) if len(kinds) else 0
    listed = int(kinds["listed"].sum()) if len(kinds) else 0
    held_listed = int(kinds.loc[kinds["kind"] != "INDIGO record", "held"].sum()) if len(kinds) else 0
    parts = []
    for row in kinds.to_dict("records") if len(kinds) else []:
        if row["coded"]:
            name = "INDIGO record" if row["kind"] == "INDIGO record" else row["kind"]
            parts.append(_plural(int(row["coded"]), name, "INDIGO records" if name == "INDIGO record" else None))
    words = _record_words(results)
    text = (f"This report rests on {_plural(coded, 'coded document')} for {_plural(cases, 'case')}"
            + (f": {', '.join(parts)}" if parts else "") + (f" ({words})" if words else "") + ". ")
    listed_parts = [f"{int(r['listed']):,} {r['kind']}" for r in kinds.to_dict("records") if r["listed"]] \
        if len(kinds) else []
    text += (f"INDIGO lists {_plural(listed, 'document')} for these cases"
             + (f" ({', '.join(listed_parts)})" if listed_parts else "")
             + f"; the study's corpus holds {_plural(held_listed, 'document')} besides the INDIGO records. ")
    only = len(record_only_cases(results))
    text += f"{only} of {cases} cases are coded from their INDIGO record alone. "
    n_s, n_t = int(results.overall.get("n_successful", 0)), int(results.overall.get("n_struggling", 0))
    left_out = cases - n_s - n_t
    text += (f"The comparison has {n_s} successful and {n_t} struggling cases"
             + (f" ({left_out} with insufficient outcome data left out)." if left_out else "."))
    return text


def _record_words(results: StudyResults) -> str:
    documents = results.documents
    if documents.empty:
        return ""
    records = documents[(documents["doc_type"] == "indigo_record") & (documents["status"] == "ok")]
    records = records.drop_duplicates("document_id")
    if records.empty:
        return ""
    words = records["words"].astype(int)
    return (f"database descriptions of {int(words.min()):,}-{int(words.max()):,} words, "
            f"median {int(words.median()):,}")


def detectable_sentence(results: StudyResults) -> str:
    """The minimum detectable difference for the group sizes, in words."""
    if results.detectable.empty:
        return ""
    parts = []
    for row in results.detectable.to_dict("records"):
        share = f"{100 * row['struggling_share']:.0f}%"
        value = row["detectable_pp"]
        parts.append(f"{value:.1f} percentage points when {share} of struggling cases show a practice" if value == value
                     else f"no difference short of 100% when {share} of struggling cases show it")
    method = results.detectable["method"].iloc[0]
    return ("With these group sizes, the smallest difference Fisher's test detects with 80% power at α 0.05 "
            f"({method} power) is " + "; and ".join(parts) + ".")


def timestamp() -> str:
    """The run's time, from SOURCE_DATE_EPOCH when set (reproducible builds), else now (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return moment.replace(microsecond=0).isoformat()


def write_report(results: StudyResults, folder: Path | None = None) -> Path:
    """Write report.html, every table as CSV, one XLSX workbook and every chart as PNG."""
    from sibkit.report.render import write_folder

    target = folder or results.study.resolve(results.study.report.folder)
    write_folder(results, target, timestamp())
    return target


def as_tables(results: StudyResults) -> dict[str, pd.DataFrame]:
    """Every table of the report, by file name."""
    flow = results.flow.assign(excluded_ids=results.flow["excluded_ids"].map(" ".join))
    only = set(record_only_cases(results))

    def marked(table: pd.DataFrame) -> pd.DataFrame:
        if "case_id" not in table.columns:
            return table
        return table.assign(record_only=table["case_id"].isin(only))

    return {
        "selection_flow": flow, "selection": results.selection, "classification": marked(results.classification),
        "outcome_metrics_evidence": results.metrics, "classification_sensitivity": results.class_sensitivity,
        "corpus": marked(results.corpus), "documents": results.documents,
        "case_theme_matrix": marked(results.matrix), "findings": results.findings,
        "replication": results.replication, "detectable_difference": results.detectable,
        "sensitivity": results.sensitivity, "sensitivity_summary": results.survivors,
        "evidence": results.evidence, "evidence_by_case": results.evidence_cases,
        "evidence_by_kind": results.evidence_kinds, "examples": results.examples, "themes": results.themes,
        "inputs": results.inputs,
        **({"agreement": results.agreement} if len(results.agreement) else {}),
        **({"qca_truth_table": results.qca.truth_table, "qca_solutions": results.qca.solutions,
            "qca_terms": results.qca.terms, "qca_necessity": results.qca.necessity} if results.qca is not None else {}),
    }


def summary(results: StudyResults) -> dict[str, Any]:
    classes = results.classification["class"].value_counts().to_dict()
    return {"selected": len(results.selected), "classes": classes,
            "overall_relative_association": results.overall.get("value"), "exploratory": is_exploratory(results)}
