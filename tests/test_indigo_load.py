"""Loading the INDIGO export: folder, zip and JSON API give identical, typed tables.

Expected values are computed here from the CSV files with the ``csv`` module, independently
of sibkit's loader.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from sibkit.errors import DataSourceError
from sibkit.indigo import load
from sibkit.indigo._fields import TABLES
from sibkit.testing import LocalServer, api_routes, json_response


def csv_rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle) if any(v.strip() for v in row.values())]


def test_every_table_loads_with_all_rows(dataset, indigo_dir: Path) -> None:
    for table, spec in TABLES.items():
        expected = len(csv_rows(indigo_dir, spec["file"]))
        assert len(dataset[table]) == expected, table
    assert len(dataset.projects) == 319
    assert len(dataset.outcome_metrics) == 1408
    assert len(dataset.results) == 518


def test_columns_are_named_from_json_paths_and_typed(dataset) -> None:
    projects = dataset.projects
    assert {"id", "name", "dates_outcomes_contract_signed", "stage_development",
            "overall_project_finance_total_investment_commitment_amount_usd_exact"} <= set(projects.columns)
    first = projects.set_index("id").loc["INDIGO-POJ-0001"]
    assert first["name"].startswith("Proyecta Tu Futuro")
    # dates keep their precision: the CSV says 2018 and 2018-12
    assert first["dates_outcomes_contract_signed"] == "2018"
    assert first["dates_start_date_of_service_provision"] == "2018-12"
    assert first["dates_anticipated_duration_of_service_provision"] == 36.0
    assert projects["dates_anticipated_duration_of_service_provision"].dtype == "float64"
    assert dataset.delivery_locations["lat_lng_lat"].dtype == "float64"
    assert str(dataset.results["period_end_date"].dtype) == "string"


def test_sub_tables_point_at_their_project(dataset, indigo_dir: Path) -> None:
    rows = csv_rows(indigo_dir, "projects_outcome_metrics.csv")
    expected = sum(1 for r in rows if r["Project ID"] == "INDIGO-POJ-0001")
    assert len(dataset.rows_for("outcome_metrics", "INDIGO-POJ-0001")) == expected


def test_bad_values_are_reported_with_file_row_and_column(dataset, indigo_dir: Path) -> None:
    rows = csv_rows(indigo_dir, "projects_outcome_metrics.csv")
    title = "Targeted number of service users Or beneficiaries (total) - (Value)"
    bad = []
    for line, row in enumerate(rows, start=2):
        try:
            float(row[title]) if row[title].strip() else None
        except ValueError:
            bad.append(line)
    reported = [i.row for i in dataset.issues if i.where == "projects_outcome_metrics.csv" and i.column == title]
    assert reported == bad and bad  # e.g. '3000 (later revised  to 944)'


def test_zip_gives_identical_tables(dataset, indigo_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "all_data_per_data_type_csv.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in indigo_dir.glob("*.csv"):
            zf.write(path, f"export/{path.name}")
    zipped = load(archive)
    for table in TABLES:
        assert_frame_equal(zipped[table], dataset[table], obj=table)


def test_a_malformed_file_is_reported_and_loading_goes_on(indigo_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(indigo_dir, folder)
    text = (folder / "projects_results.csv").read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    text[0] = ",".join(h for h in header if h != "Result type - (Value)")  # drop one column title
    (folder / "projects_results.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    (folder / "projects_documents.csv").unlink()
    loaded = load(folder)
    messages = [str(i) for i in loaded.issues]
    assert "projects_documents.csv: file missing from the export; table left empty" in messages
    assert any(m.startswith("projects_results.csv, row 1, column 'Result type - (Value)': column missing")
               for m in messages)
    assert len(loaded.documents) == 0
    assert len(loaded.projects) == 319


def test_missing_source_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="no such file or folder"):
        load(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataSourceError, match=r"no projects\.csv found"):
        load(empty)


# --------------------------------------------------------------------------------------------
# The JSON API, served locally from the shared export


def _nest(target: dict, path: str, value: object) -> None:
    parts = path.strip("/").split("/")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def _json_value(text: str, kind: str) -> object:
    if not text.strip():
        return None
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            return text  # the API would hold the same bad text
    return text


def build_api(folder: Path) -> dict[str, list[tuple[str, dict]]]:
    """Records in the INDIGO API's shape, straight from the CSV files."""
    out: dict[str, list[tuple[str, dict]]] = {}
    for model, main in (("project", "projects"), ("organisation", "organisations"), ("fund", "funds")):
        records: dict[str, dict] = {}
        titles = {title: (path, kind) for _name, title, path, kind in TABLES[main]["columns"]}
        for row in csv_rows(folder, TABLES[main]["file"]):
            data: dict = {}
            for title, text in row.items():
                path, kind = titles[title]
                value = _json_value(text, kind)
                if path != "/id" and value is not None:
                    _nest(data, path, value)
            records[row["ID"]] = data
        for spec in TABLES.values():
            if spec["model"] != model or not spec["parent"]:
                continue
            titles = {title: (path, kind) for _name, title, path, kind in spec["columns"]}
            parent_title = next(t for _n, t, p, _k in spec["columns"] if p == "(parent)")
            for row in csv_rows(folder, spec["file"]):
                item: dict = {}
                for title, text in row.items():
                    path, kind = titles[title]
                    value = _json_value(text, kind)
                    if path != "(parent)" and value is not None:
                        _nest(item, path, value)
                container = records[row[parent_title]]
                parts = spec["path"].strip("/").split("/")
                for part in parts[:-1]:
                    container = container.setdefault(part, {})
                container.setdefault(parts[-1], []).append(item)
        out[model] = list(records.items())
    return out


@pytest.fixture(scope="module")
def api_server(indigo_dir: Path) -> Iterator[LocalServer]:
    routes = api_routes(build_api(indigo_dir))
    listing = json.loads(routes["/app/api1/project"].body)
    listing["projects"].append({"id": "INDIGO-POJ-9999", "public": False})  # must be dropped
    routes["/app/api1/project"] = json_response(listing)
    routes["/app/api1/project/INDIGO-POJ-9999"] = json_response(
        {"project": {"id": "INDIGO-POJ-9999", "data": {"name": {"value": "Private project"}}}})
    # a transient 503 exercises the retries
    with LocalServer(routes, fail_once={"/app/api1/project/INDIGO-POJ-0002"}) as server:
        yield server


def test_api_gives_identical_tables_and_caches(api_server: LocalServer, dataset, tmp_path: Path) -> None:
    cache = tmp_path / "http-cache"
    from_api = load(api_server.url, cache_dir=cache, allow_private=True)
    for table in TABLES:
        assert_frame_equal(from_api[table], dataset[table], obj=table)
    assert "INDIGO-POJ-9999" not in set(from_api.projects["id"])  # not public: dropped
    assert "/app/api1/project/INDIGO-POJ-9999" not in api_server.requests
    assert api_server.requests.count("/app/api1/project/INDIGO-POJ-0002") == 2  # 503, then retried
    made = len(api_server.requests)
    again = load(api_server.url, cache_dir=cache, allow_private=True)
    assert len(api_server.requests) == made  # the second load makes no request
    assert_frame_equal(again.projects, dataset.projects)


def test_api_that_is_down_is_one_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    from sibkit.indigo.api import ApiClient

    client = ApiClient(f"http://127.0.0.1:{port}", tmp_path, retries=1, backoff=0.01, progress=False,
                       allow_private=True)
    # never reached: no retries, one line at once saying so (was: every retry, then "failed after N tries")
    with pytest.raises(DataSourceError, match=r"cannot connect within 5 s \(ConnectError"):
        client.list_ids("project")
    assert client.requests_made == 1
    client.close()


def test_api_on_a_private_address_is_refused_unless_allowed(api_server: LocalServer, tmp_path: Path) -> None:
    asked = len(api_server.requests)
    with pytest.raises(DataSourceError, match="non-public address"):
        load(api_server.url, cache_dir=tmp_path / "cache")
    assert len(api_server.requests) == asked


def test_download_fills_the_cache_used_by_default(indigo_dir: Path, dataset) -> None:
    from sibkit.indigo import download

    target = download(indigo_dir, progress=False)
    assert json.loads((target / "manifest.json").read_text())["projects"] == 319
    cached = load()
    for table in TABLES:
        assert_frame_equal(cached[table], dataset[table], obj=table)


def test_no_cache_yet_is_one_clear_error() -> None:
    with pytest.raises(DataSourceError, match="sibkit data download"):
        load()


def test_partial_dates_compare_by_first_day(dataset) -> None:
    import datetime as dt

    from sibkit.indigo.values import date_floor

    assert date_floor("2018") == dt.date(2018, 1, 1)
    assert date_floor("2018-12") == dt.date(2018, 12, 1)
    assert date_floor(pd.NA) is None


INDIGO_PROJECT_ID = re.compile(r"INDIGO-POJ-\d+")


def test_rows_split_off_by_a_broken_quote_are_refused_and_named_not_counted(indigo_dir: Path,
                                                                            tmp_path: Path) -> None:
    """One opening quote lost in projects.csv (project 0002's eligibility criteria) turns the lines of that
    cell into rows of their own, with ids like '● Currently homeless': each is refused in one line naming
    the file, the row and the bad value, and not counted; every real project still loads."""
    from sibkit.testing import run_cli

    folder = tmp_path / "broken"
    shutil.copytree(indigo_dir, folder)
    text = (indigo_dir / "projects.csv").read_text(encoding="utf-8")
    opening = text.rindex('"', 0, text.index("● Aged 18-55"))
    (folder / "projects.csv").write_text(text[:opening] + text[opening + 1:], encoding="utf-8")
    # what the csv module makes of the broken file, row by row (1 is the header)
    with (folder / "projects.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(enumerate(csv.reader(handle), start=1))[1:]
    good = [row[0] for _, row in rows if INDIGO_PROJECT_ID.fullmatch(row[0])]
    bad = [(line, row[0]) for line, row in rows if not INDIGO_PROJECT_ID.fullmatch(row[0])]
    assert len(good) == 319 and len(bad) == 6 and (5, "● Currently homeless") in bad
    loaded = load(folder)
    assert sorted(loaded.projects["id"]) == sorted(good) == sorted(load(indigo_dir).projects["id"])
    refused = [str(i) for i in loaded.issues if "row refused" in i.message]
    assert refused == [f"projects.csv, row {line}, column 'ID': {value[:60]!r} is not an INDIGO project id "
                       "(INDIGO-POJ- and digits); row refused, not counted (a broken quote earlier in the file "
                       "can split one cell into rows)" for line, value in bad]
    assert not any(i.row == 5 and "fields, header has" in i.message for i in loaded.issues)  # one line a row
    from sibkit.indigo.quality import quality

    assert (quality(loaded).problems["kind"] == "refused row").sum() == 6
    done = run_cli("indigo", "stats", "--data", str(folder))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == "Impact bonds: 319"  # after the line naming the data
    assert f"warning: {refused[1]}" in done.stderr.splitlines()  # each refused row on a line of its own


def test_the_real_export_refuses_no_row(dataset) -> None:
    assert len(dataset.projects) == 319
    assert not [i for i in dataset.issues if "row refused" in i.message]


def test_stats_counts_unreadable_values_in_one_line_and_names_a_missing_table(tmp_path: Path, indigo_dir: Path) -> None:
    import shutil

    from sibkit.testing import run_cli

    done = run_cli("indigo", "stats", "--data", str(indigo_dir))
    assert done.returncode == 0, done.stderr
    values = len(load(indigo_dir).issues)
    assert values == 101  # the shared export's unreadable values (`sibkit indigo quality` lists each one)
    assert done.stderr.splitlines() == [f"warning: {values} values of {indigo_dir} could not be read and count as "
                                        "missing; `sibkit indigo quality` lists them"]
    copy = tmp_path / "export"
    shutil.copytree(indigo_dir, copy)
    (copy / "projects_outcome_payments.csv").unlink()
    done = run_cli("indigo", "stats", "--data", str(copy))
    assert done.stderr.splitlines()[0] == ("warning: projects_outcome_payments.csv: file missing from the export; "
                                           "table left empty")
