"""The web app driven in headless Chromium against the real server, plus its JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import require_chromium

from sibkit.indigo import load
from sibkit.web import create_app
from sibkit.web.server import BROWSER_ARGS, CHROMIUM, BackgroundServer


@pytest.fixture(scope="module")
def server(dataset) -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(dataset)) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        yield launched
        launched.close()


class Watched:
    """A page that records every request and every console error."""

    def __init__(self, browser, base: str) -> None:
        self.page = browser.new_page()
        self.base = base
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def check(self) -> None:
        assert self.errors == []
        assert all(url.startswith(self.base) for url in self.requests), self.requests
        self.page.close()


def cli_stats(indigo_dir: Path, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "sibkit", "indigo", "stats", "--data", str(indigo_dir), *args,
                           "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.browser
def test_dashboard_shows_the_cli_figures_for_a_filter(server, browser, indigo_dir: Path) -> None:
    expected = cli_stats(indigo_dir, "--country", "GB", "--live-from", "2016", "--live-to", "2021")
    watched = Watched(browser, server.url)
    watched.page.goto(server.url + "/")
    watched.page.select_option("select[name=country]", "GB")
    watched.page.fill("input[name=live_from]", "2016")
    watched.page.fill("input[name=live_to]", "2021")
    watched.page.click("button[type=submit]")
    watched.page.wait_for_url("**/?country=GB*")
    assert "live_from=2016" in watched.page.url  # the filter state lives in the URL
    assert watched.page.text_content("#figure-projects") == f"{expected['projects']:,}"
    assert watched.page.text_content("#figure-service-users") == f"{expected['service_users']:,.0f}"
    assert watched.page.text_content("#figure-capital") == f"USD {expected['capital_raised_usd']:,.0f}"
    watched.check()


@pytest.mark.browser
def test_a_map_marker_opens_its_project_page(server, browser) -> None:
    watched = Watched(browser, server.url)
    watched.page.goto(server.url + "/?country=GB&live_from=2016&live_to=2021")
    marker = watched.page.locator("#map a.marker:not(.cluster)").first
    title = marker.locator("title").text_content()
    marker.click()
    watched.page.wait_for_url("**/projects/INDIGO-POJ-*")
    assert watched.page.text_content("h1") == title
    watched.check()


@pytest.mark.browser
def test_a_project_page_shows_its_outcome_metrics(server, browser) -> None:
    watched = Watched(browser, server.url)
    watched.page.goto(server.url + "/projects/INDIGO-POJ-0168")
    section = watched.page.locator("#outcome-metrics")  # 10 rows in projects_outcome_metrics.csv
    assert section.locator("h2").text_content() == "Outcome metrics (10)"
    assert "Key Stage 3, Metric 1: High Quality Personal Learning Plan" in section.text_content()
    assert section.locator("table").count() >= 1
    watched.check()


@pytest.mark.browser
def test_text_from_the_data_is_shown_as_text(tmp_path: Path, indigo_dir: Path, browser) -> None:
    folder = tmp_path / "export"
    shutil.copytree(indigo_dir, folder)
    path = folder / "projects.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    name_column = rows[0].index("Impact Bond Name - (Value)")
    rows[1][name_column] = "<script>window.pwned = 1</script>Evil <b>bond</b>"
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    with BackgroundServer(create_app(load(folder))) as running:
        watched = Watched(browser, running.url)
        watched.page.goto(running.url + "/projects/INDIGO-POJ-0001")
        assert watched.page.text_content("h1") == "<script>window.pwned = 1</script>Evil <b>bond</b>"
        assert watched.page.evaluate("typeof window.pwned") == "undefined"
        assert watched.page.locator("h1 b").count() == 0
        watched.check()


def test_json_api_and_csv_downloads(server, dataset) -> None:
    from sibkit.indigo import Filters, stats

    api = httpx.get(server.url + "/api/stats", params=[("country", "GB"), ("by", "sector")]).json()
    expected = stats(dataset, Filters(countries=("GB",)), by="sector")
    assert api["projects"] == expected["projects"] and api["breakdown"] == expected["breakdown"]
    response = httpx.get(server.url + "/download/projects.csv", params={"country": "GB"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == expected["projects"] and "capital_raised_usd" in rows[0]
    project = httpx.get(server.url + "/api/projects/INDIGO-POJ-0168").json()
    assert len(project["tables"]["outcome_metrics"]) == 10
    assert httpx.get(server.url + "/api/stats", params={"live_from": "soon"}).status_code == 400
    assert httpx.get(server.url + "/projects/INDIGO-POJ-9999").status_code == 404


def test_read_only_with_security_headers(server) -> None:
    response = httpx.get(server.url + "/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert httpx.post(server.url + "/", data={"x": "1"}).status_code == 405
