"""INDIGO releases kept under their dates, listed, chosen by date, pruned only when asked, and compared:
``data diff`` on the shared export and a second release made from it by declared edits lists exactly
those edits."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from sibkit.errors import DataSourceError
from sibkit.releases import declared
from sibkit.releases.declared import make_second_release


def sibkit(*args: str, env_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The command line, run in this process (Typer's runner; a user error ends as ``main()`` ends it:
    one line on stderr, exit status 2) — the commands' own start-up is tested in test_cli_startup."""
    from typer.testing import CliRunner

    from sibkit.cli import app
    from sibkit.errors import SibkitError

    env = {"SIBKIT_DATA": str(env_dir)} if env_dir is not None else {}
    result = CliRunner().invoke(app, list(args), env=env)
    stderr, code = result.stderr, result.exit_code
    if isinstance(result.exception, SibkitError):
        stderr, code = stderr + f"error: {result.exception}\n", 2
    elif result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(["sibkit", *args], code, result.stdout, stderr)


@pytest.fixture(scope="module")
def second(tmp_path_factory: pytest.TempPathFactory, indigo_dir: Path) -> Path:
    return make_second_release(indigo_dir, tmp_path_factory.mktemp("release") / "indigo-export")


def test_releases_are_kept_under_their_dates_listed_chosen_and_pruned_only_when_asked(
        tmp_path: Path, indigo_dir: Path, second: Path) -> None:
    data = tmp_path / "data"
    done = sibkit("data", "download", "--from", str(indigo_dir), env_dir=data)
    assert done.returncode == 0, done.stderr
    assert "as indigo@2025-05-20 (dated 2025-05-20: date in the export's name" in done.stdout
    kept = data / "indigo" / "releases" / "2025-05-20"
    for name in ("projects.csv", "projects_results.csv", "projects_documents.csv"):  # GO Lab's bytes, as they were
        assert (kept / name).read_bytes() == (indigo_dir / name).read_bytes()
    again = sibkit("data", "download", "--from", str(indigo_dir), env_dir=data)
    assert again.returncode == 0 and "Already held: indigo@2025-05-20 has the same content" in again.stdout
    # a different export of a date already held is kept beside it, never over it
    variant = tmp_path / "variant"
    shutil.copytree(indigo_dir, variant)
    (variant / "projects_documents.csv").write_text(
        (indigo_dir / "projects_documents.csv").read_text(encoding="utf-8") + "INDIGO-POJ-0001,One more,,\n",
        encoding="utf-8")
    done = sibkit("data", "download", "--from", str(variant), "--date", "2025-05-20", env_dir=data)
    assert done.returncode == 0 and "as indigo@2025-05-20.2 " in done.stdout
    done = sibkit("data", "download", "--from", str(second), "--date", "2025-09-01", env_dir=data)
    assert done.returncode == 0, done.stderr
    listed = json.loads(sibkit("data", "list", "--json", env_dir=data).stdout)
    assert [(r["name"], r["date"], r["projects"]) for r in listed] == [
        ("2025-05-20", "2025-05-20", 319), ("2025-05-20.2", "2025-05-20", 319), ("2025-09-01", "2025-09-01", 320)]
    assert [r["date_from"] for r in listed] == [
        "date in the export's name (impact-bond-dataset-2025-05-20)", "given when downloaded", "given when downloaded"]
    assert listed[0]["source"] == str(indigo_dir.resolve()) and listed[2]["source"] == str(second.resolve())
    assert len({r["sha256"] for r in listed}) == 3
    table = sibkit("data", "list", env_dir=data).stdout
    assert "indigo@2025-09-01 (latest)" in table and "2025-05-20.2" in table

    def projects(*data_option: str) -> int:
        done = sibkit("indigo", "stats", *data_option, "--json", env_dir=data)
        assert done.returncode == 0, done.stderr
        return int(json.loads(done.stdout)["projects"])

    assert projects() == projects("--data", "latest") == projects("--data", "indigo@2025-09-01") == 320
    assert projects("--data", "indigo@2025-05-20") == 319  # the release of that name, not the second of the day
    assert projects("--data", "indigo@2025-05-20.2") == 319
    unknown = sibkit("indigo", "stats", "--data", "indigo@2024-01-01", env_dir=data)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == ("error: no INDIGO release 2024-01-01 is held; held: 2025-05-20, 2025-05-20.2, "
                                      "2025-09-01")
    # pruning: only by name, --keep or --before, the newest always kept
    refused = sibkit("data", "prune", env_dir=data)
    assert refused.returncode == 2 and "say which releases to remove" in refused.stderr
    dry = sibkit("data", "prune", "--before", "2025-09-01", "--dry-run", env_dir=data)
    assert dry.stdout.count("would remove") == 2 and (data / "indigo" / "releases" / "2025-05-20.2").is_dir()
    done = sibkit("data", "prune", "2025-05-20.2", "2025-09-01", env_dir=data)
    assert "removed indigo@2025-05-20.2" in done.stdout
    assert "indigo@2025-09-01 is the newest release: kept" in done.stderr
    assert [r["name"] for r in json.loads(sibkit("data", "list", "--json", env_dir=data).stdout)] == [
        "2025-05-20", "2025-09-01"]


def test_the_single_copy_of_an_older_sibkit_is_moved_into_a_dated_release(tmp_path: Path, indigo_dir: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from sibkit.indigo import load
    from sibkit.releases import held, release_of

    data = tmp_path / "data"
    legacy = data / "indigo"
    legacy.mkdir(parents=True)
    for path in indigo_dir.glob("*.csv"):
        shutil.copyfile(path, legacy / path.name)
    (legacy / "manifest.json").write_text(json.dumps({
        "source": "https://golab-indigo-data-store.herokuapp.com", "downloaded": "2025-06-01T10:00:00+00:00",
        "projects": 319, "issues": []}), encoding="utf-8")
    monkeypatch.setenv("SIBKIT_DATA", str(data))
    dataset = load()
    assert len(dataset.projects) == 319
    release = release_of(dataset)
    assert (release.name, release.date, release.date_from) == ("2025-06-01", "2025-06-01", "download date")
    assert release.source == "https://golab-indigo-data-store.herokuapp.com"
    assert [r.name for r in held()] == ["2025-06-01"]
    assert not (legacy / "projects.csv").exists() and not (legacy / "manifest.json").exists()
    moved = legacy / "releases" / "2025-06-01" / "projects.csv"
    assert moved.read_bytes() == (indigo_dir / "projects.csv").read_bytes()


def test_no_release_held_is_one_clear_error() -> None:
    from sibkit.indigo import load

    with pytest.raises(DataSourceError, match=r"no INDIGO release held in .*sibkit data download"):
        load("latest")


def test_a_study_file_names_a_release_by_its_date(tmp_path: Path, indigo_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from sibkit.indigo import download
    from sibkit.study import load_study

    monkeypatch.setenv("SIBKIT_DATA", str(tmp_path / "data"))
    download(indigo_dir, progress=False)
    study = tmp_path / "study.yaml"
    study.write_text("title: t\ndata: indigo@2025-05-20\n", encoding="utf-8")
    assert len(load_study(study).dataset().projects) == 319


def expected_changes(indigo_dir: Path) -> dict[str, list[tuple]]:
    """Every change the declared edits make, in ``diff``'s columns, worked out from the edits alone."""
    payment = declared.payment_template(indigo_dir)
    return {
        "projects": [(declared.NEW_ID, declared.NEW_NAME, "added")],
        "fields": [(declared.STAGE_CASE, "stage", "Stage of Development - (Value)", "stage_development",
                    declared.OLD_STAGE, declared.NEW_STAGE)],
        "outcome_metrics": [],
        "results": [(declared.RESULT_CASE, "added", "outcomemetric1, 2018-11 to 2023-03, Final", None, None,
                     "achieved 1200, engaged –, positive outcomes –")],
        "outcome_payments": [(declared.PAYMENT_CASE, "added",
                              f"{payment['Outcome Metric Id - (Value)'] or 'no metric'}, 2024-01 to 2024-03"
                              + (f", {payment['Type - (Value)']}" if payment["Type - (Value)"] else ""),
                              None, None, f"{payment['Payments - Currency - (Value)']} 12345".strip())],
        "documents": [(declared.REMOVED_CASE, "removed", declared.REMOVED_URL, None, declared.REMOVED_TITLE, None)],
        "sources": [],
    }


def test_diff_lists_exactly_the_declared_changes(dataset, indigo_dir: Path, second: Path) -> None:
    from sibkit.indigo import load
    from sibkit.releases import diff

    changes = diff(dataset, load(second))
    expected = expected_changes(indigo_dir)
    got = changes.tables()
    assert list(got) == list(expected)
    assert list(got["projects"].itertuples(index=False, name=None)) == expected["projects"]
    assert list(got["fields"][["project_id", "group", "field", "column", "old", "new"]]
                .itertuples(index=False, name=None)) == expected["fields"]
    for kind in ("outcome_metrics", "results", "outcome_payments", "documents", "sources"):
        rows = got[kind][["project_id", "change", "row", "field", "old", "new"]]
        assert list(rows.itertuples(index=False, name=None)) == expected[kind], kind
    assert changes.summary_lines() == [
        "projects: 1 added, 0 removed",
        "project fields: 1 changed in 1 project",
        "outcome metrics: 0 added, 0 removed, 0 changed (0 projects)",
        "results: 1 added, 0 removed, 0 changed (1 project)",
        "outcome payments: 1 added, 0 removed, 0 changed (1 project)",
        "documents: 0 added, 1 removed, 0 changed (1 project)",
        "sources: 0 added, 0 removed, 0 changed (0 projects)",
    ]
    assert diff(dataset, dataset).is_empty()


def test_a_changed_value_is_one_row_naming_the_field(dataset, tmp_path: Path, indigo_dir: Path) -> None:
    """A result whose key stays and whose count changes is "changed", with the old and the new value."""
    from sibkit.indigo import load
    from sibkit.releases import diff
    from sibkit.releases.declared import read, write

    target = tmp_path / "export"
    shutil.copytree(indigo_dir, target)
    header, results = read(target / "projects_results.csv")
    row = next(r for r in results if r["Project ID"] == "INDIGO-POJ-0113" and r["Outcome Metric Id - (Value)"]
               == "outcomemetric1")
    row["Outcomes achieved - (Value)"] = "150"
    write(target / "projects_results.csv", header, results)
    changed = diff(dataset, load(target)).tables()["results"]
    got = changed[["project_id", "change", "row", "field", "old", "new"]].itertuples(index=False, name=None)
    assert list(got) == [("INDIGO-POJ-0113", "changed", "outcomemetric1, 2018-11 to 2021-02, Interim",
                          "outcomes_achieved", "146", "150")]


def test_data_diff_on_the_command_line(tmp_path: Path, indigo_dir: Path, second: Path) -> None:
    data = tmp_path / "data"
    assert sibkit("data", "download", "--from", str(indigo_dir), env_dir=data).returncode == 0
    assert sibkit("data", "download", "--from", str(second), "--date", "2025-09-01", env_dir=data).returncode == 0
    done = sibkit("data", "diff", "2025-05-20", "latest", "-o", str(tmp_path / "csv"), env_dir=data)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "INDIGO indigo@2025-05-20 → indigo@2025-09-01: 5 changes."
    assert lines[1:8] == ["- projects: 1 added, 0 removed", "- project fields: 1 changed in 1 project",
                          "- outcome metrics: 0 added, 0 removed, 0 changed (0 projects)",
                          "- results: 1 added, 0 removed, 0 changed (1 project)",
                          "- outcome payments: 1 added, 0 removed, 0 changed (1 project)",
                          "- documents: 0 added, 1 removed, 0 changed (1 project)",
                          "- sources: 0 added, 0 removed, 0 changed (0 projects)"]
    assert declared.NEW_ID in done.stdout and declared.REMOVED_TITLE in done.stdout
    payload = json.loads(sibkit("data", "diff", "indigo@2025-05-20", "indigo@2025-09-01", "--json",
                                env_dir=data).stdout)
    assert payload["old"]["date"] == "2025-05-20" and payload["new"]["date"] == "2025-09-01"
    assert [len(payload["changes"][k]) for k in payload["changes"]] == [1, 1, 0, 1, 1, 1, 0]
    import csv

    with (tmp_path / "csv" / "diff-documents.csv").open(encoding="utf-8", newline="") as handle:
        assert [row["title" if "title" in row else "old"] for row in csv.DictReader(handle)] == [declared.REMOVED_TITLE]


def test_data_diff_json_with_an_output_folder_also_writes_the_csv_files(tmp_path: Path, indigo_dir: Path,
                                                                        second: Path) -> None:
    """``--json -o DIR`` prints the JSON and writes the same CSV files as ``-o DIR`` alone (walk-through #2);
    stdout stays JSON only, the note of what was written goes to stderr."""
    import csv

    data = tmp_path / "data"
    assert sibkit("data", "download", "--from", str(indigo_dir), env_dir=data).returncode == 0
    assert sibkit("data", "download", "--from", str(second), "--date", "2025-09-01", env_dir=data).returncode == 0
    folder = tmp_path / "diff"
    done = sibkit("data", "diff", "2025-05-20", "latest", "--json", "-o", str(folder), env_dir=data)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert [len(payload["changes"][k]) for k in payload["changes"]] == [1, 1, 0, 1, 1, 1, 0]
    kinds = ["projects", "fields", "outcome_metrics", "results", "outcome_payments", "documents", "sources"]
    assert sorted(p.name for p in folder.iterdir()) == [  # file names with hyphens, as the report's are
        "diff-documents.csv", "diff-fields.csv", "diff-outcome-metrics.csv", "diff-outcome-payments.csv",
        "diff-projects.csv", "diff-results.csv", "diff-sources.csv", "diff-summary.csv"]
    assert list(payload["changes"]) == kinds
    assert f"Wrote 8 CSV files to {folder}" in done.stderr
    with (folder / "diff-projects.csv").open(encoding="utf-8", newline="") as handle:
        assert [(r["project_id"], r["change"]) for r in csv.DictReader(handle)] == [(declared.NEW_ID, "added")]


def test_commands_that_print_figures_say_which_release_they_rest_on(tmp_path: Path, indigo_dir: Path,
                                                                    second: Path) -> None:
    """With two releases held, ``indigo stats`` (text and JSON), ``select``, ``classify`` and ``study check``
    name the release they use (walk-through #6); data read from a folder is named as that folder."""
    data = tmp_path / "data"
    assert sibkit("data", "download", "--from", str(indigo_dir), env_dir=data).returncode == 0
    assert sibkit("data", "download", "--from", str(second), "--date", "2025-09-01", env_dir=data).returncode == 0
    listed = {r["name"]: r for r in json.loads(sibkit("data", "list", "--json", env_dir=data).stdout)}

    def out(*args: str) -> list[str]:
        done = sibkit(*args, env_dir=data)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    assert out("indigo", "stats")[:2] == ["Data: indigo@2025-09-01", "Impact bonds: 320"]
    assert out("indigo", "stats", "--data", "indigo@2025-05-20")[:2] == ["Data: indigo@2025-05-20",
                                                                         "Impact bonds: 319"]
    folder = json.loads("\n".join(out("indigo", "stats", "--data", str(second), "--json")))["release"]
    assert (folder["held"], folder["source"]) == (False, str(second))
    assert out("indigo", "stats", "--data", str(second))[0] == (
        f"Data: {second} (not a held release; dated {folder['date']})")
    payload = json.loads("\n".join(out("indigo", "stats", "--json")))
    assert payload["projects"] == 320
    assert {k: payload["release"][k] for k in ("label", "date", "sha256", "held")} == {
        "label": "indigo@2025-09-01", "date": "2025-09-01", "sha256": listed["2025-09-01"]["sha256"], "held": True}
    study = tmp_path / "study.yaml"
    study.write_text("title: Every impact bond\ndata: latest\n", encoding="utf-8")
    assert out("select", str(study), "-o", str(tmp_path / "out"))[1] == "320 impact bonds in indigo@2025-09-01"
    assert "data: indigo@2025-09-01 (latest: the newest release held now)" in out("study", "check", str(study))
    study.write_text("title: Every impact bond\ndata: indigo@2025-05-20\n", encoding="utf-8")
    assert out("select", str(study), "-o", str(tmp_path / "out"))[1] == "319 impact bonds in indigo@2025-05-20"
    assert "data: indigo@2025-05-20 (held)" in out("study", "check", str(study))
    classified = out("classify", "--project", "INDIGO-POJ-0113", "--data", "indigo@2025-05-20")
    assert any(line.strip() == "Classification of indigo@2025-05-20 (tolerance 0.15)" for line in classified)


def test_the_field_by_year_says_how_many_projects_count_in_no_year(indigo_dir: Path) -> None:
    import csv

    with (indigo_dir / "projects.csv").open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["ID"].startswith("INDIGO-POJ-")]
    undated = sum(1 for row in rows if not row["Dates - Date outcomes contract signed - (Value)"].strip()
                  and not row["Dates - Start date of service provision - (Value)"].strip())
    assert undated == 6  # worked out with the csv module: 319 projects, 313 counted by the end of 2025
    done = sibkit("indigo", "stats", "--by", "release", "--data", str(indigo_dir), "--json")
    payload = json.loads(done.stdout)
    assert payload["undated_projects"] == undated
    assert payload["by_year"][-1]["projects"] == len(rows) - undated
    text = sibkit("indigo", "stats", "--by", "release", "--data", str(indigo_dir))
    assert ("6 projects have no contract date in the 2025-05-20 release: they count in the release's figures but "
            "in no year.") in " ".join(text.stdout.split())
