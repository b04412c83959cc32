"""The report's structure: modules that never import each other, the first paragraph sentence by sentence,
and shares in terminal tables recognised by what a column means."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pandas as pd
import pytest

from sibkit.cli_common import console, is_share, print_frame
from sibkit.report.basis import (
    FindingsBasis,
    basis_paragraph,
    detectable_sentence,
    groups_sentence,
    kinds_sentence,
    left_out_sentence,
    release_sentence,
    stage_sentence,
)

REPORT = Path(__file__).resolve().parents[1] / "src" / "sibkit" / "report"


def _imports(path: Path) -> set[str]:
    """The sibkit.report modules a file imports (at any depth of the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sibkit.report."):
            found.add(node.module.removeprefix("sibkit.report."))
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("sibkit.report.") for a in node.names if a.name.startswith("sibkit.report.")}
    return found


def test_no_two_report_modules_import_each_other() -> None:
    graph = {path.stem: _imports(path) for path in REPORT.glob("*.py") if path.stem != "__init__"}
    assert "run" not in graph["render"]  # render writes what run computed, from results.py
    assert "StudyResults" in (REPORT / "results.py").read_text(encoding="utf-8")

    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    cycles = [name for name in graph if reaches(name, name)]
    assert cycles == [], graph


def test_share_columns_are_known_by_their_words_not_a_substring() -> None:
    assert is_share("share_successful") and is_share("struggling_share") and is_share("share at target")
    assert not is_share("shared-responsibility") and not is_share("shares") and not is_share("timeshare")


def test_a_constant_theme_column_named_shared_is_not_printed_as_a_percentage() -> None:
    frame = pd.DataFrame({"shared-responsibility": [0, 0], "share_successful": [0.25, 0.5], "n": [2, 14]})
    with console.capture() as captured:
        print_frame(frame)
    text = captured.get()
    assert "25%" in text and "50%" in text
    assert "0%" not in text.replace("50%", "")  # the theme column shows 0, not 0%


def _basis(**overrides) -> FindingsBasis:
    # data_sha256 is the release's hash, as `sibkit data list` shows it for the shared export (0ce66b682e71…);
    # it was dd27c5b2673f…, the hash of the loaded tables that the first paragraph wrongly printed
    values = {"data_source": "/data/indigo", "data_sha256": "0ce66b682e71" + "0" * 52, "n_successful": 8,
              "n_struggling": 8, "n_insufficient": 27, "detectable_pp": 70.5, "published_low": 13.0,
              "published_high": 23.0, "min_documents": 4, "stages": {"Complete": 5, "Implementation": 11}}
    return FindingsBasis(**{**values, **overrides})


def test_the_release_sentence() -> None:
    assert release_sentence(_basis()) == ("Data: the INDIGO impact bond dataset read from /data/indigo (SHA-256 "
                                          "0ce66b682e71…); its release date is not recorded.")
    assert release_sentence(_basis(release="2025-05-20")) == (
        "Data: the INDIGO impact bond dataset, release of 2025-05-20 (SHA-256 0ce66b682e71…).")


def test_the_kinds_sentence() -> None:
    assert kinds_sentence(_basis()) == ("Cases were selected with at least 4 documents of any kind INDIGO lists (web "
                                        "pages, project updates and contract notices count like evaluations).")
    assert kinds_sentence(_basis(kinds_counted=("evaluation", "case study", "review"))) == (
        "Cases were selected with at least 4 documents of these kinds: evaluation, case study or review.")
    assert kinds_sentence(_basis(min_documents=None)) == "Cases were selected without a minimum number of documents."


def test_the_groups_and_stage_sentences() -> None:
    assert groups_sentence(_basis()) == ("The comparison has 8 successful and 8 struggling cases; 27 more cases have "
                                         "too little outcome data to classify and are left out.")
    assert groups_sentence(_basis(n_insufficient=1)).endswith("; 1 more case has too little outcome data to classify "
                                                              "and is left out.")
    assert groups_sentence(_basis(n_insufficient=0)) == "The comparison has 8 successful and 8 struggling cases."
    # 16 compared, 5 complete: 11 are not
    assert stage_sentence(_basis()) == ("11 of the 16 compared cases are not complete (INDIGO's stage); their interim "
                                        "results are compared with the whole contract's targets.")
    assert stage_sentence(_basis(interim_rule="their interim results are compared pro rata")).endswith(
        "are not complete (INDIGO's stage); their interim results are compared pro rata.")
    assert stage_sentence(_basis(stages={"Complete": 16})) == "All 16 compared cases are complete."
    assert stage_sentence(_basis(n_successful=0, n_struggling=2, stages={"complete": 1, "interim": 1})).startswith(
        "1 of the 2 compared cases is not complete")


def test_the_detectable_difference_sentence() -> None:
    # 70.5 points from 20%: successful cases at 90.5%
    assert detectable_sentence(_basis()) == (
        "With 8 against 8 cases, the smallest difference Fisher's exact test detects with 80% power is 70.5 percentage "
        "points (a theme in 20% of struggling cases would have to be in 90.5% of successful ones); the published "
        "effect is 13 to 23 points, far smaller: a difference of that size would usually go undetected here.")
    assert detectable_sentence(_basis(detectable_pp=20.0, published_low=30.0, published_high=30.0)).endswith(
        "(a theme in 20% of struggling cases would have to be in 40.0% of successful ones); the published effect is "
        "30 points.")
    assert detectable_sentence(_basis(detectable_pp=math.nan, n_successful=1, n_struggling=1,
                                      published_low=None, published_high=None)) == (
        "With 1 against 1 cases, no difference is detectable with 80% power by Fisher's exact test (for a theme in 20% "
        "of struggling cases, even all successful ones would not be).")
    # the example study's own groups under issue 25's defaults: no successful case at all
    assert detectable_sentence(_basis(detectable_pp=math.nan, n_successful=0, n_struggling=2)) == (
        "With no successful cases there is nothing to compare: the findings below describe the other group only and "
        "can neither support nor contradict the published effect.")


def test_the_left_out_sentence() -> None:
    assert left_out_sentence(_basis()) == ("Payments and targets are not told apart by kind: every payment INDIGO "
                                           "records counts as an outcome payment and every target as a contracted one.")
    left = _basis(payments_left_out={"covid claim": 2, "grant": 1}, targets_left_out={"cohort size": 20})
    assert left_out_sentence(left) == ("Left out of the classification: 3 payments not for outcomes (2 covid claim and "
                                       "1 grant) and 20 targets that are not contracted expectations (20 cohort "
                                       "size).")
    assert left_out_sentence(_basis(payments_left_out={}, targets_left_out={"cohort size": 0})) == (
        "No payment or target was left out of the classification.")


def test_the_paragraph_is_the_sentences_in_order() -> None:
    basis = _basis()
    paragraph = basis_paragraph(basis)
    order = [release_sentence, kinds_sentence, groups_sentence, stage_sentence, detectable_sentence,
             left_out_sentence]
    positions = [paragraph.index(sentence(basis)) for sentence in order]
    assert positions == sorted(positions) and paragraph.startswith("Data: ")


@pytest.mark.parametrize("low, high, note, expected", [
    (1.0, 2.0, "", "+1.0 to +2.0"),
    (math.nan, math.nan, "no cases", "none: no cases"),
    (0.0, 0.0, "", "none: it has no width"),
    (-0.5, math.inf, "no upper limit", "-0.5 or more (no upper limit)"),
])
def test_interval_text_never_prints_a_degenerate_interval(low: float, high: float, note: str, expected: str) -> None:
    from sibkit.report.wording import interval_text

    assert interval_text(low, high, note) == expected


def test_what_the_selection_and_outcomes_expose_reaches_the_first_paragraph(tmp_path, indigo_dir) -> None:
    # the example study on the shared export: its release, the kinds its min_documents step counts, the
    # stage of the compared cases' evidence, and what its outcome rules leave out
    from conftest import EXAMPLE

    from sibkit.outcomes import classify_study
    from sibkit.report.run import _provided
    from sibkit.study import load_study, select

    path = tmp_path / "study.yaml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8").replace("data: null", f"data: {indigo_dir}"), encoding="utf-8")
    study = load_study(path)
    dataset = study.dataset()
    selection = select(study, dataset)
    classification = classify_study(study, selection)
    given = _provided(study, dataset, selection, classification)
    assert given["release"] == "2025-05-20"
    assert given["kinds_counted"] == ("evaluation", "case study", "review", "commentary", "academic article")
    compared = classification.cases[classification.cases["class"].isin(["successful", "struggling"])]
    assert given["stages"] == compared["evidence_stage"].value_counts().to_dict() and sum(given["stages"].values()) == 2
    assert given["interim_rule"] == "their interim results are compared with the lifetime targets and marked interim"
    left = classification.left_out_summary()
    assert given["payments_left_out"] == left["payments_by_kind"]
    assert given["targets_left_out"] == left["targets_by_kind"]
    basis = _basis(n_successful=0, n_struggling=2, kinds_counted=given["kinds_counted"], stages=given["stages"],
                   stage_source=given["stage_source"], interim_rule=given["interim_rule"])
    assert kinds_sentence(basis) == ("Cases were selected with at least 4 documents of these kinds: evaluation, case "
                                     "study, review, commentary or academic article.")


def test_every_kind_counted_is_said_as_any_kind() -> None:
    from sibkit.kinds import KINDS

    assert kinds_sentence(_basis(kinds_counted=tuple(k.label for k in KINDS))) == (
        "Cases were selected with at least 4 documents of any kind INDIGO lists (web pages, project updates and "
        "contract notices count like evaluations).")


def test_a_table_name_of_another_scheme_is_written_in_the_one_scheme() -> None:
    from sibkit.report.results import file_name

    assert file_name("case_theme_matrix") == "case-theme-matrix"
    assert file_name("QCA Truth table") == "qca-truth-table" and file_name("qca-truth-table") == "qca-truth-table"


def test_the_coding_trust_table_is_written_as_a_table_too(tmp_path: Path) -> None:
    """"How far the coding can be trusted here" (review precision, audit miss rate per theme) is a table of the
    report like the others: a CSV and a sheet (`instrument-error`)."""
    from sibkit.audit.report import instrument_section
    from sibkit.corpus import open_study_store
    from sibkit.report.results import StudyResults, as_tables
    from sibkit.study import load_study

    path = tmp_path / "study.yaml"
    path.write_text("title: Trust table\n", encoding="utf-8")
    study = load_study(path)
    empty = pd.DataFrame()
    results = StudyResults(study, pd.DataFrame({"excluded_ids": []}), empty, [], empty, empty, empty, empty, empty,
                           empty, empty, empty, {}, empty, empty, empty, empty, empty)
    assert "instrument-error" not in as_tables(results)
    results.instrument = instrument_section(study, open_study_store(study))
    table = as_tables(results)["instrument-error"]
    # the built-in codebook's 14 themes with terms, nothing reviewed or audited in a study with no documents
    assert len(table) == 14 and set(table["reviewed"]) == {0} and table["precision"].isna().all()
    assert {"theme", "accepted", "precision", "audited_sentences", "miss_rate", "recall"} <= set(table.columns)
