"""A referee's checks of the report's wording against figures worked out by hand from the shared export."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from test_analysis_instrument import _counts  # theme -> hits per successful and struggling case

ALL_PROJECTS = Path(__file__).resolve().parents[1] / "examples" / "all-projects.yaml"


def _projects_in_export(indigo_dir: Path) -> int:
    # the export's projects, counted without sibkit: rows of projects.csv whose ID is an INDIGO project id
    with (indigo_dir / "projects.csv").open(encoding="utf-8-sig", newline="") as handle:
        return sum(1 for row in csv.DictReader(handle) if re.fullmatch(r"INDIGO-POJ-\d{4}", row["ID"] or ""))


def test_the_selection_flow_opens_with_the_dataset_when_the_study_has_no_step(tmp_path, indigo_dir) -> None:
    # all-projects.yaml has no selection step: the flow is empty, and the report's first box said
    # "0 impact bonds in the INDIGO dataset" above "319 cases selected"
    from sibkit.report.render import dataset_total
    from sibkit.study import load_study, select

    path = tmp_path / "study.yaml"
    path.write_text(ALL_PROJECTS.read_text(encoding="utf-8").replace("data: null", f"data: {indigo_dir}"),
                    encoding="utf-8")
    study = load_study(path)
    selection = select(study, study.dataset())
    assert len(selection.flow) == 0
    assert _projects_in_export(indigo_dir) == 319
    assert dataset_total(selection.flow, selection.cases) == 319


def test_the_instrument_summary_does_not_count_a_theme_nothing_was_drawn_for() -> None:
    # The example's report said "No theme's difference keeps its direction and verdict in 95% of the draws"
    # above a table whose four themes without a hit keep both in 100% of draws (nothing is drawn for them).
    # Here: A has hits (1 of 4 successful, 1 of 4 struggling: a difference of 0 that the draws move), C none.
    from types import SimpleNamespace

    import pandas as pd

    from sibkit.analysis.instrument import carry_error, error_table
    from sibkit.report.wording import instrument_sentences
    from sibkit.study.model import Presence

    counts, classes = _counts({"A": ([1, 0, 0, 0], [1, 0, 0, 0]), "C": ([0, 0, 0, 0], [0, 0, 0, 0])})
    error = error_table({"A": {"precision": 0.5, "recall": 0.5}, "C": {"precision": 0.5, "recall": 0.5}}, "c 1")
    found = carry_error(counts, classes, error, Presence(min_references=1), draws=200, seed=1)
    table = found.themes.set_index("theme")
    assert table.loc["C", "same_sign"] == 1.0 and table.loc["C", "note"] == "no case has a hit: nothing to draw"
    assert table.loc["A", "same_sign"] < 0.95 and found.survivors == []
    text = instrument_sentences(SimpleNamespace(
        carried_error=found, themes=pd.DataFrame({"theme": ["A", "C"], "name": ["Aa", "Cc"]})))
    assert "No theme with a hit keeps its difference's direction and verdict in 95% of the draws: every such "\
           "finding is within the instrument's error." in text
    assert "No case has a hit for Cc: nothing is drawn for it, so its row says nothing of the instrument's error." \
        in text
    assert not any(s.startswith("No theme's difference") for s in text)


def test_the_presence_rule_is_said_with_its_verb_in_number() -> None:
    # "at least 1 reference of it count after review" was the report's wording of the example's rule
    from sibkit.report.wording import presence_clause
    from sibkit.study.model import Presence

    assert presence_clause(Presence(min_references=1)) == "at least 1 reference of it counts after review"
    assert presence_clause(Presence(min_references=2)) == "at least 2 references of it count after review"
    assert presence_clause(Presence(min_rate=5.0)) == ("at least 5 references per 10,000 words of it count "
                                                       "after review")


def test_a_negative_less_often_reads_as_more_often() -> None:
    # Innovation in the example: 1 of 22 successful, 3 of 23 struggling cases. 1 - (3/23) / (1/22) = -43/23:
    # the report printed "struggling less often by -187%"; struggling cases show it 187% more often
    from sibkit.report.wording import less_often_text

    assert less_often_text(1 - (3 / 23) / (1 / 22)) == "187% more often"
    assert less_often_text(1 - (2 / 23) / (8 / 22)) == "76%"  # capabilities: 1 - 22/92 = 0.761
    assert less_often_text(1.0) == "100%" and less_often_text(0.0) == "0%"
    assert less_often_text(float("nan")) == "–"


def test_the_first_paragraph_says_how_many_compared_cases_rest_on_a_target_of_unknown_kind(tmp_path,
                                                                                          indigo_dir) -> None:
    # Worked out from projects_outcome_metrics.csv alone: of the 45 compared cases, those the achievement
    # rule decides and whose only numeric target is one among several metrics (0015, 0113, Ambition, Aspire,
    # Depaul, Fusion, Home Group, Local Solutions, St Basil's: 0131-0137, 0180, 0197; each "unknown" by the
    # rule) are 11: 9 successful, 2 struggling. The report's first paragraph did not say so.
    from sibkit.outcomes import classify_study
    from sibkit.report.basis import FindingsBasis, basis_paragraph, unknown_targets_sentence
    from sibkit.report.run import _provided
    from sibkit.study import load_study, select

    path = tmp_path / "study.yaml"
    path.write_text(ALL_PROJECTS.read_text(encoding="utf-8").replace("data: null", f"data: {indigo_dir}"),
                    encoding="utf-8")
    study = load_study(path)
    dataset = study.dataset()
    selection = select(study, dataset)
    given = _provided(study, dataset, selection, classify_study(study, selection))
    assert given["unknown_targets"] == {"successful": 9, "struggling": 2}
    basis = FindingsBasis(data_source="", data_sha256="", n_successful=22, n_struggling=23, n_insufficient=274,
                          detectable_pp=41.6, unknown_targets=given["unknown_targets"])
    sentence = ("11 of the 45 compared cases (9 successful and 2 struggling) are classified on a target of unknown "
                "kind (the only target among a case's metrics, or one two metrics share): it may be the number of "
                "people served rather than an expected number of outcomes.")
    assert unknown_targets_sentence(basis) == sentence and sentence in basis_paragraph(basis)
    assert unknown_targets_sentence(FindingsBasis(data_source="", data_sha256="", n_successful=2, n_struggling=3,
                                                  n_insufficient=0, detectable_pp=50.0)) == ""


def test_the_sensitivity_table_says_how_many_cases_each_scenario_compares() -> None:
    # a tolerance moves cases between the groups (17 v 28 at 10% against 22 v 23 at 15% in all-projects):
    # each scenario's column is headed by its own group sizes, taken from its own comparison
    import pandas as pd

    from sibkit.report.render import _scenarios

    rows = [{"tolerance": t, "index": "median", "presence": "at least 1 reference", "theme": theme,
             "n_successful": s, "n_struggling": f, "difference_pp": 1.0, "fisher_p": 0.5}
            for t, s, f in ((0.10, 17, 28), (0.15, 22, 23)) for theme in ("a", "b")]
    labels, cells, groups = _scenarios(pd.DataFrame(rows))
    assert labels == ["tolerance 10%, at least 1 reference", "tolerance 15%, at least 1 reference"]
    assert groups == {labels[0]: "17 v 28", labels[1]: "22 v 23"}
    assert cells[("b", labels[1])]["n_successful"] == 22


def test_question_and_method_says_which_ratio_decided_the_compared_cases() -> None:
    # 'successful' is defined as delivering the stated outcomes, but some cases are decided by their
    # payment ratio: the definition says how many of each, in the study's rule order
    import pandas as pd

    from sibkit.report.render import decided_by_rule

    classification = pd.DataFrame({
        "class": ["successful", "struggling", "struggling", "insufficient data", "successful"],
        "decided_by": ["achievement", "achievement", "payment", "no outcome data", "manual override"]})
    assert decided_by_rule(classification, ("achievement", "payment")) == (
        "2 by their achievement ratio, 1 by its payment ratio and 1 otherwise (a manual override)")
    assert decided_by_rule(classification.iloc[:3], ("payment", "achievement")) == (
        "1 by its payment ratio and 2 by their achievement ratio")
    assert decided_by_rule(classification.iloc[3:4], ("achievement", "payment")) == ""


def test_qca_says_where_its_crisp_sets_part_from_the_presence_rule(tmp_path) -> None:
    # crisp QCA puts a case in a condition's set from a density (2 per 10,000 words by default); the
    # comparison counts a theme from 1 reference: one reference in 10,000 words is in one and not the other
    import pandas as pd

    from sibkit.qca.study import presence_differences
    from sibkit.study.model import parse_study

    study = parse_study("title: t\n", tmp_path / "s.yaml")
    cells = pd.DataFrame([
        {"case_id": "A", "theme": "x", "effective_references": 1, "rate_per_10k": 1.0},  # associated, out of the set
        {"case_id": "B", "theme": "x", "effective_references": 3, "rate_per_10k": 3.0},  # both
        {"case_id": "C", "theme": "x", "effective_references": 0, "rate_per_10k": 0.0},  # neither
    ])
    data = pd.DataFrame({"case_id": ["A", "B", "C"], "x": [0.0, 1.0, 0.0], "successful": [1.0, 0.0, 1.0]})
    assert presence_differences(data, cells, study) == 1
    assert presence_differences(data.assign(x=[1.0, 1.0, 0.0]), cells, study) == 0
