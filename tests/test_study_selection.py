"""The study file, case selection and its flow on the shared INDIGO export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sibkit.errors import SibkitError
from sibkit.study import document_key, load_study, normalise_url, parse_study, select
from sibkit.testing import run_cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "uk-sibs-2016-2021.yaml"


run_sibkit = run_cli


@pytest.fixture()
def example_study(dataset):
    study = load_study(EXAMPLE)
    study._dataset = dataset  # the shared export, instead of the user's data cache
    return study


def test_the_published_selection_flow(example_study) -> None:
    selection = select(example_study)
    flow = selection.flow[["step", "in", "excluded", "out"]].to_dict("records")
    # 100 projects list a GB delivery location or jurisdiction; 68 of them went live 2016-2021
    # (both counted independently in test_indigo_figures); 5 of those list >= 4 evaluations, case
    # studies, reviews, commentaries or academic articles with a URL (recounted in test_selection_kinds).
    assert flow == [
        {"step": "delivered in GB", "in": 319, "excluded": 219, "out": 100},
        {"step": "went live 2016-2021", "in": 100, "excluded": 32, "out": 68},
        {"step": "at least 4 counted documents", "in": 68, "excluded": 63, "out": 5},
    ]
    assert selection.selected == ["INDIGO-POJ-0113", "INDIGO-POJ-0118", "INDIGO-POJ-0123", "INDIGO-POJ-0309",
                                  "INDIGO-POJ-0316"]
    assert selection.kinds_counted == ("evaluation", "case_study", "review", "commentary", "article")
    cases = selection.cases.set_index("case_id")
    assert cases.at["INDIGO-POJ-0169", "step"] == "at least 4 counted documents"
    # from the CSV files: 0001 is delivered in Buenos Aires (AR); 0111's service started 2014-11;
    # 0169 lists one source (DCMS's Data Portal for the Life Chances Fund) and no documents
    assert cases.at["INDIGO-POJ-0001", "reason"] == "not delivered in GB: delivered in AR"
    assert cases.at["INDIGO-POJ-0111", "reason"] == "did not go live 2016-2021 (or no live date): went live 2014"
    assert cases.at["INDIGO-POJ-0169", "reason"] == (
        "fewer than 4 evaluations, case studies, reviews, commentaries or academic articles (listed with a URL and "
        "a title, or held in the corpus): 0 counted; not counted: kinds not counted: database or grant record 1")
    assert set(cases.index[cases["step"] == "selected"]) == set(selection.selected)


def test_distinct_documents_are_deduplicated_by_url(dataset, indigo_dir: Path) -> None:
    from sibkit.study import distinct_documents

    # INDIGO-POJ-0110 lists no documents and six sources: sources 1, 2 and 4 start with the same
    # p3charity.org URL, so the distinct documents are that page, the P3 news post, the Social
    # Finance database page and the Gloucester City Council report: 4.
    found = distinct_documents(dataset, "INDIGO-POJ-0110")
    assert sorted(found["key"]) == sorted([
        "url:democracy.gloucester.gov.uk/documents/s46375/Report%20on%20Entrenched%20Homeless%20Social%20Impact"
        "%20Bond.pdf",
        "url:p3charity.org/about-us/latest-news/post/20-p3-to-aimpacta-street-homelessness-across-lincolnshire",
        "url:p3charity.org/services/action-lincs-homelessness-project-in-lincolnshire",
        "url:sibdatabase.socialfinance.org.uk?project_id=116",
    ])
    with (indigo_dir / "projects_sources.csv").open(encoding="utf-8") as handle:
        assert sum(r["Project ID"] == "INDIGO-POJ-0110" for r in csv.DictReader(handle)) == 6


def test_documents_held_in_the_study_count_too(example_study) -> None:
    from sibkit.study.selection import HeldDocument

    # 0169 lists 1 document, of a kind not counted; 4 held evaluations count, 3 do not reach 4, and held
    # documents of kind "other" (a bare key) do not count
    held = [HeldDocument(f"title:evaluation {n}", "evaluation") for n in range(4)]
    assert "INDIGO-POJ-0169" in select(example_study, extra_documents={"INDIGO-POJ-0169": held}).selected
    assert "INDIGO-POJ-0169" not in select(example_study, extra_documents={"INDIGO-POJ-0169": held[:3]}).selected
    plain = ["title:a", "title:b", "title:c", "title:d"]
    selection = select(example_study, extra_documents={"INDIGO-POJ-0169": plain})
    assert "INDIGO-POJ-0169" not in selection.selected
    items = selection.items[selection.items["case_id"] == "INDIGO-POJ-0169"]
    assert int(items["held"].sum()) == 4 and set(items.loc[items["held"], "why_not_counted"]) == {"kind not counted"}


@pytest.mark.parametrize(("url", "expected"), [
    ("https://www.Example.org/a/b/", "example.org/a/b"),
    ("http://example.org/a/b#section-2", "example.org/a/b"),
    ("https://example.org/a/b [Access: 22 jul 2019]", "example.org/a/b"),
    ("https://example.org/a?id=3", "example.org/a?id=3"),
    ("https://example.org/a?utm_source=x&id=3&fbclid=abc", "example.org/a?id=3"),
    ("https://example.org/a?b=2&a=1", "example.org/a?a=1&b=2"),
    ("https://example.org/%7Euser/a%2Fb", "example.org/~user/a%2Fb"),
])
def test_url_normalisation(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


@given(st.sampled_from(["http", "https"]), st.booleans(), st.booleans(),
       st.from_regex(r"[a-z0-9]{1,10}(/[a-z0-9-]{1,10}){0,3}", fullmatch=True))
def test_url_variants_share_one_key(scheme: str, www: bool, slash: bool, path: str) -> None:
    url = f"{scheme}://{'www.' if www else ''}example.org/{path}{'/' if slash else ''}"
    assert document_key(url, "whatever") == document_key(f"https://example.org/{path}", None)


def test_titles_without_url_compare_loosely() -> None:
    assert document_key(None, "Final  Evaluation: Report!") == document_key("", "final evaluation report")


def test_include_and_exclude_steps(dataset) -> None:
    study = parse_study("""
selection:
  - countries: [GB]
  - exclude: [{id: INDIGO-POJ-0109, reason: duplicate of a programme evaluation}]
  - include: [{id: INDIGO-POJ-0001, reason: comparison case}]
""")
    study._dataset = dataset
    selection = select(study)
    assert "INDIGO-POJ-0109" not in selection.selected and "INDIGO-POJ-0001" in selection.selected
    assert list(selection.flow["out"]) == [100, 99, 100]
    cases = selection.cases.set_index("case_id")
    assert cases.at["INDIGO-POJ-0109", "reason"] == "duplicate of a programme evaluation"


@pytest.mark.parametrize(("text", "message"), [
    ("selection: [{countries: [GB], stages: [Complete]}]", "selection[0]: each step needs exactly one of"),
    ("selecton: []", "selecton: unknown key (allowed: title, data, selection"),
    ("outcomes: {tolerance: 1.5}", "outcomes.tolerance: tolerance 1.5 is not between 0 and 1"),
    ("selection: [{live_years: {from: 2021, to: 2016}}]", "'from' (2021) is after 'to' (2016)"),
    ("analysis: {presence: {}}", "give exactly one of min_references or min_rate"),
    ("data: [unclosed", "line 1: a '[' is not closed with ']'"),
])
def test_malformed_study_files_are_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(SibkitError) as caught:
        parse_study(text, "study.yaml")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_project_in_a_list_is_one_clear_line(dataset) -> None:
    study = parse_study("selection: [{exclude: [{id: INDIGO-POJ-9999}]}]")
    study._path = Path("s.yaml")
    study._dataset = dataset
    with pytest.raises(SibkitError, match="names project 'INDIGO-POJ-9999', which is not in the dataset"):
        select(study)


@pytest.mark.parametrize(("step", "message"), [
    ("stages: [Implemention]", "s.yaml: selection[0].stages: 'Implemention' is not a stage in the dataset "
                               "(values: Complete, Contracted, Implementation)"),
    ("sectors: [Homelesness]", "s.yaml: selection[0].sectors: 'Homelesness' is not a sector in the dataset"),
])  # a country code that is no country is refused when the file is read: tests/test_bad_input_study.py
def test_values_that_can_never_match_are_refused(dataset, step: str, message: str) -> None:
    study = parse_study(f"selection: [{{{step}}}]")
    study._path = Path("s.yaml")
    study._dataset = dataset
    with pytest.raises(SibkitError) as caught:
        select(study)
    assert str(caught.value).startswith(message)


def test_stage_and_sector_steps_ignore_case(dataset, indigo_dir: Path) -> None:
    study = parse_study("selection: [{countries: [gb]}, {stages: [complete]}, {sectors: [homelessness]}]")
    study._dataset = dataset
    selection = select(study)
    with (indigo_dir / "projects.csv").open(encoding="utf-8") as handle:
        projects = {r["ID"]: r for r in csv.DictReader(handle)}
    cases = selection.cases.set_index("case_id")
    gb = [pid for pid in projects if cases.at[pid, "step"] != "delivered in GB"]  # the 100 GB cases
    complete = [pid for pid in gb if projects[pid]["Stage of Development - (Value)"] == "Complete"]
    homelessness = [pid for pid in complete
                    if projects[pid]["Purpose and classifications - Policy sector - (Value)"] == "Homelessness"]
    assert list(selection.flow["out"]) == [100, len(complete), len(homelessness)]
    assert sorted(selection.selected) == sorted(homelessness) and len(homelessness) > 0


def test_select_command_json_and_csv(tmp_path: Path, indigo_dir: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace("data: null", f"data: {indigo_dir}")
    study_file = tmp_path / "study.yaml"
    study_file.write_text(text, encoding="utf-8")
    done = run_sibkit("select", str(study_file), "--json", "--reading-list")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert [step["out"] for step in payload["flow"]] == [100, 68, 5]
    assert payload["flow"][2]["excluded_ids"][0] == "INDIGO-POJ-0109"
    assert payload["kinds_counted"] == ["evaluation", "case_study", "review", "commentary", "article"]
    by_kind = {row["kind"]: row for row in payload["flow"][2]["by_kind"]}  # over the 68 cases entering the step
    assert by_kind["evaluation"]["documents"] == 39 and by_kind["evaluation"]["not_counted_no_url"] == 16
    assert by_kind["web_page"]["counted_kind"] is False and by_kind["web_page"]["counted"] == 0
    assert payload["documents"]["INDIGO-POJ-0123"] == {"distinct": 6, "counted": 4,
                                                      "counted_by_kind": "evaluation 1; commentary 3",
                                                      "not_counted": "kinds not counted: contract or notice 1, "
                                                                     "project update 1"}
    assert len(payload["selected"]) == 5
    with (tmp_path / "report" / "selection.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 319 and sum(r["step"] == "selected" for r in rows) == 5
    assert list(rows[0]) == ["case_id", "name", "step", "reason", "distinct_documents", "counted_documents",
                             "counted", "not_counted"]
    with (tmp_path / "report" / "selection-documents.csv").open(encoding="utf-8") as handle:
        documents = list(csv.DictReader(handle))
    assert {r["case_id"] for r in documents} == {r["case_id"] for r in rows if r["step"] in (
        "selected", "at least 4 counted documents")}  # the 68 cases the document step saw
    apollo = [r for r in documents if r["case_id"] == "INDIGO-POJ-0123"]
    assert sorted((r["kind"], r["counted"]) for r in apollo) == [
        ("commentary", "True"), ("commentary", "True"), ("commentary", "True"), ("contract_notice", "False"),
        ("evaluation", "True"), ("project_update", "False")]
    with (tmp_path / "report" / "reading-list.csv").open(encoding="utf-8") as handle:
        listing = list(csv.DictReader(handle))
    assert sum(r["case_id"] == "INDIGO-POJ-0123" for r in listing) == 6
    assert {r["case_id"] for r in listing} == set(payload["selected"])


def test_select_the_example_itself_with_data_given(tmp_path: Path, indigo_dir: Path) -> None:
    done = run_sibkit("select", str(EXAMPLE), "--data", str(indigo_dir), "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "219 excluded (not delivered in GB) -> 100 delivered in GB" in done.stdout
    shown = " ".join(done.stdout.split())
    assert ("63 excluded (fewer than 4 evaluations, case studies, reviews, commentaries or academic articles "
            "(listed with a URL and a title, or held in the corpus)) -> 5 at least 4 counted documents") in shown
    assert "Documents of the 68 cases entering this step, by kind" in shown
    assert "5 selected cases" in done.stdout
    assert (tmp_path / "selection.csv").exists()


def test_study_init_writes_a_valid_study(tmp_path: Path) -> None:
    target = tmp_path / "new.yaml"
    done = run_sibkit("study", "init", str(target))
    assert done.returncode == 0, done.stderr
    study = load_study(target)
    assert [step.criterion for step in study.selection] == ["countries", "live_years", "min_documents"]
    assert (tmp_path / "corpus").is_dir()  # the corpus folder the study names, made beside it
    assert "made its corpus folder" in done.stdout
    again = run_sibkit("study", "init", str(target))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_include_step_counts_additions_not_negative_exclusions(dataset) -> None:
    study = parse_study("""
selection:
  - countries: [GB]
  - include: [{id: INDIGO-POJ-0001, reason: comparison case}, {id: INDIGO-POJ-0110}]
""")
    study._dataset = dataset
    step = select(study).to_json()["flow"][1]
    # INDIGO-POJ-0110 is a GB case already in: only INDIGO-POJ-0001 is added (100 + 1 = 101)
    assert (step["in"], step["excluded"], step["added"], step["out"]) == (100, 0, 1, 101)
    assert step["added_ids"] == ["INDIGO-POJ-0001"]


def test_select_counts_documents_held_in_the_study_database(tmp_path: Path, indigo_dir: Path) -> None:
    from sibkit.corpus import add_file
    from sibkit.store import open_store

    text = EXAMPLE.read_text(encoding="utf-8").replace("data: null", f"data: {indigo_dir}")
    study_file = tmp_path / "study.yaml"
    study_file.write_text(text, encoding="utf-8")
    store = open_store(load_study(study_file).database_url())
    try:
        for number in range(4):  # INDIGO lists 1 document for INDIGO-POJ-0169, not of a counted kind; 4 held
            document = tmp_path / f"evaluation-{number}.txt"
            document.write_text(f"Interim evaluation number {number} of the Skills programme.", encoding="utf-8")
            outcome = add_file(store, document, case_ids=["INDIGO-POJ-0169"], title=f"Evaluation {number}",
                               doc_type="evaluation")
            assert outcome.status == "added", outcome
    finally:
        store.close()
    done = run_sibkit("select", str(study_file), "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert [step["out"] for step in payload["flow"]] == [100, 68, 6]
    assert payload["documents"]["INDIGO-POJ-0169"]["counted_by_kind"] == "evaluation 4"
    assert "INDIGO-POJ-0169" in payload["selected"]


def test_malformed_study_on_the_command_line_is_one_line(tmp_path: Path) -> None:
    study_file = tmp_path / "bad.yaml"
    study_file.write_text("selection:\n  - countries: [GB]\n    min_documents: 4\noutcome: {}\n", encoding="utf-8")
    done = run_sibkit("select", str(study_file))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "selection[0]: each step needs exactly one of" in done.stderr
    assert "outcome: unknown key (allowed: title, data, selection, outcomes" in done.stderr


@given(section=st.sampled_from(["", "outcomes", "corpus", "analysis", "report"]),
       key=st.from_regex(r"[a-z][a-z_]{0,15}", fullmatch=True))
def test_any_unknown_key_is_named_with_what_is_allowed(section: str, key: str) -> None:
    from sibkit.study.model import Study

    model = Study if not section else Study.model_fields[section].annotation
    allowed = {field.alias or name for name, field in model.model_fields.items()}  # type: ignore[union-attr]
    if key in allowed:
        return
    text = f"{key}: 1" if not section else f"{section}: {{{key}: 1}}"
    with pytest.raises(SibkitError) as caught:
        parse_study(text, "s.yaml")
    where = f"{section}.{key}" if section else key
    assert str(caught.value).startswith(f"s.yaml: {where}: unknown key (allowed: ")
    assert "\n" not in str(caught.value)
