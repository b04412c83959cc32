"""The study file, case selection and its flow on the shared INDIGO export."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sibkit.errors import SibkitError
from sibkit.study import document_key, load_study, normalise_url, parse_study, select

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "uk-sibs-2016-2021.yaml"


@pytest.fixture()
def example_study(dataset):
    study = load_study(EXAMPLE)
    study._dataset = dataset  # the shared export, instead of the user's data cache
    return study


def test_the_published_selection_flow(example_study) -> None:
    selection = select(example_study)
    flow = selection.flow[["step", "in", "excluded", "out"]].to_dict("records")
    # 100 projects list a GB delivery location or jurisdiction; 68 of them went live 2016-2021
    # (both counted independently in test_indigo_figures); 43 of those have >= 4 distinct documents.
    assert flow == [
        {"step": "delivered in GB", "in": 319, "excluded": 219, "out": 100},
        {"step": "went live 2016-2021", "in": 100, "excluded": 32, "out": 68},
        {"step": "at least 4 distinct documents", "in": 68, "excluded": 25, "out": 43},
    ]
    assert len(selection.selected) == 43
    assert "INDIGO-POJ-0110" in selection.selected  # exactly 4 distinct documents: kept
    cases = selection.cases.set_index("case_id")
    assert cases.at["INDIGO-POJ-0169", "step"] == "at least 4 distinct documents"
    assert cases.at["INDIGO-POJ-0001", "reason"] == "not delivered in GB"
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
    extra = {"INDIGO-POJ-0169": ["title:a", "title:b", "title:c"]}  # 1 listed + 3 held = 4
    selection = select(example_study, extra_documents=extra)
    assert "INDIGO-POJ-0169" in selection.selected
    assert selection.flow["out"].iloc[-1] == 44


@pytest.mark.parametrize(("url", "expected"), [
    ("https://www.Example.org/a/b/", "example.org/a/b"),
    ("http://example.org/a/b#section-2", "example.org/a/b"),
    ("https://example.org/a/b [Access: 22 jul 2019]", "example.org/a/b"),
    ("https://example.org/a?id=3", "example.org/a?id=3"),
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
    ("outcomes: {tolerance: 1.5}", "outcomes.tolerance: Input should be less than 1"),
    ("selection: [{live_years: {from: 2021, to: 2016}}]", "'from' (2021) is after 'to' (2016)"),
    ("analysis: {presence: {}}", "give exactly one of min_references or min_rate"),
    ("data: [unclosed", "is not valid YAML"),
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


def test_select_command_json_and_csv(tmp_path: Path, indigo_dir: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace("data: null", f"data: {indigo_dir}")
    study_file = tmp_path / "study.yaml"
    study_file.write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "sibkit", "select", str(study_file), "--json", "--reading-list"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert [step["out"] for step in payload["flow"]] == [100, 68, 43]
    assert payload["flow"][2]["excluded_ids"][0] == "INDIGO-POJ-0169"
    assert len(payload["selected"]) == 43
    with (tmp_path / "report" / "selection.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 319 and sum(r["step"] == "selected" for r in rows) == 43
    assert (tmp_path / "report" / "reading-list.csv").exists()


def test_study_init_writes_a_valid_study(tmp_path: Path) -> None:
    target = tmp_path / "new.yaml"
    done = subprocess.run([sys.executable, "-m", "sibkit", "study", "init", str(target)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    study = load_study(target)
    assert [step.criterion for step in study.selection] == ["countries", "live_years", "min_documents"]
    again = subprocess.run([sys.executable, "-m", "sibkit", "study", "init", str(target)], capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 2 and "already exists" in again.stderr
