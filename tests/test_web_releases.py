"""The web's release pages in Chromium at 1440 and 390 px: the release on the footer and every figure card,
the field over time on the dashboard (chart and table, counts worked out with the csv module), GO Lab's
published figures with their sources, and the What changed page between the shared export and a second
release made from it by declared edits."""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_web_app import A11Y_SCRIPT, WIDTHS, Watched

from sibkit.releases import declared
from sibkit.releases.declared import make_second_release
from sibkit.web.server import BackgroundServer


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory, indigo_dir: Path) -> Iterator[Path]:
    """A data folder holding the shared export (2025-05-20) and the declared second release (2025-09-01)."""
    from sibkit.indigo import download

    folder = tmp_path_factory.mktemp("web-releases")
    before = os.environ.get("SIBKIT_DATA")
    os.environ["SIBKIT_DATA"] = str(folder / "data")
    try:
        download(indigo_dir, progress=False)
        download(make_second_release(indigo_dir, folder / "second"), progress=False, date="2025-09-01")
        yield folder / "data"
    finally:
        if before is None:
            os.environ.pop("SIBKIT_DATA", None)
        else:
            os.environ["SIBKIT_DATA"] = before


@pytest.fixture(scope="module")
def server(held: Path) -> Iterator[BackgroundServer]:
    from sibkit.indigo import load
    from sibkit.web import create_app

    os.environ["SIBKIT_DATA"] = str(held)
    app = create_app(load("indigo@2025-05-20"))  # the older release in use, the newer one held beside it
    with BackgroundServer(app) as running:
        yield running


def contract_years(indigo_dir: Path) -> dict[int, int]:
    """Impact bonds with a contract signed by the end of each year (outcomes contract signed, else start of
    service provision), from projects.csv with the csv module."""
    with (indigo_dir / "projects.csv").open(encoding="utf-8-sig", newline="") as handle:
        projects = list(csv.DictReader(handle))
    years = []
    for row in projects:
        signed = row["Dates - Date outcomes contract signed - (Value)"].strip() or \
            row["Dates - Start date of service provision - (Value)"].strip()
        if signed:
            years.append(int(signed[:4]))
    return {year: sum(y <= year for y in years) for year in range(min(years), 2026)}


def test_the_field_over_time_and_every_figure_card_name_the_release(server, browser, indigo_dir: Path) -> None:
    expected = contract_years(indigo_dir)
    for width in WIDTHS:
        watched = Watched(browser, server.url, width)
        page = watched.page
        page.goto(server.url + "/")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), width
        assert page.evaluate(A11Y_SCRIPT) == []
        cards = page.locator(".figures .figure")
        assert cards.count() == 4
        for index in range(4):
            assert cards.nth(index).locator("small.release").inner_text() == "INDIGO release of 2025-05-20"
        footer = page.locator("#footer-release").inner_text()
        assert footer == "release of 2025-05-20 (indigo@2025-05-20; what changed between releases)"
        chart = page.locator("#chart-over-time svg")
        assert chart.is_visible() and chart.bounding_box()["width"] <= width
        assert page.locator("#chart-over-time circle.reconstructed").count() == len(expected)
        assert page.locator("#chart-over-time path.release").count() == 2
        rows = page.locator("#over-time-table tbody tr.reconstructed")
        got = {}
        for index in range(rows.count()):
            cells = rows.nth(index).locator("th, td").all_inner_texts()
            assert cells[0].endswith(", reconstructed from the 2025-05-20 release")
            got[int(cells[0][:4])] = int(cells[2].replace(",", ""))
            year = int(cells[0][:4])
            assert cells[1] == (dt.date(year, 12, 31).isoformat() if year < 2025 else "2025-05-20")
        assert got == expected
        assert ("6 projects have no contract date in the 2025-05-20 release: they count in the release's figures "
                "but in no year.") in " ".join(page.locator("#over-time + p").inner_text().split())
        releases = page.locator("#over-time-table tbody tr.release")
        cells = [releases.nth(i).locator("th, td").all_inner_texts()[:3] for i in range(releases.count())]
        assert cells == [["INDIGO release indigo@2025-05-20", "2025-05-20", "319"],
                         ["INDIGO release indigo@2025-09-01", "2025-09-01", "320"]]
        published = page.locator("#published-figures tbody tr")
        first = published.nth(0).locator("th, td").all_inner_texts()
        assert first[:5] == ["2019-09-01", "164", "513,041", "441.6m", str(expected_as_of(indigo_dir,
                                                                                                 "2019-09-01"))]
        assert first[4] == "201"  # the as-of figure for that date
        nov = published.nth(1)
        assert nov.locator("th").inner_text() == "2021-11"
        assert nov.locator("a").get_attribute("href") == (
            "https://golab.bsg.ox.ac.uk/community/news/november-2021-impact-bond-landscape/")
        assert "> 897,435" in nov.inner_text()
        if width == 390:  # cards on a phone, in a region of their own: never wider than the page
            region = page.locator("#over-time-table").locator("xpath=..")
            assert region.get_attribute("tabindex") == "0"
        watched.check()


def expected_as_of(indigo_dir: Path, day: str) -> int:
    with (indigo_dir / "projects.csv").open(encoding="utf-8-sig", newline="") as handle:
        projects = list(csv.DictReader(handle))
    count = 0
    for row in projects:
        signed = row["Dates - Date outcomes contract signed - (Value)"].strip() or \
            row["Dates - Start date of service provision - (Value)"].strip()
        if signed and (signed + "-01-01"[len(signed) - 4:])[:10] <= day:
            count += 1
    return count


def test_a_figure_filtered_by_date_says_it_is_reconstructed(server, browser) -> None:
    watched = Watched(browser, server.url, 390)
    watched.page.goto(server.url + "/?as_of=2019-09-01")
    notes = watched.page.locator(".figures small.release").all_inner_texts()
    assert notes == ["reconstructed from the 2025-05-20 release: contracts signed by 2019-09-01"] * 4
    assert watched.page.locator("#figure-projects .value").inner_text() == "201"
    watched.check()
    body = httpx.get(server.url + "/api/stats", params={"as_of": "2019-09-01"}).json()
    assert body["projects"] == 201
    assert body["release"] == {"name": "2025-05-20", "date": "2025-05-20",
                               "date_from": "date in the export's name (impact-bond-dataset-2025-05-20)",
                               "label": "indigo@2025-05-20", "sha256": body["release"]["sha256"], "held": True,
                               "projects": 319}


def test_what_changed_between_two_held_releases(server, browser) -> None:
    for width in WIDTHS:
        watched = Watched(browser, server.url, width)
        page = watched.page
        page.goto(server.url + "/changes")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), width
        assert page.evaluate(A11Y_SCRIPT) == []
        assert page.locator("#changes-headline").inner_text() == (
            "INDIGO indigo@2025-05-20 → indigo@2025-09-01: 5 changes.")
        assert page.locator("#changes-summary li").all_inner_texts() == [
            "projects: 1 added, 0 removed", "project fields: 1 changed in 1 project",
            "outcome metrics: 0 added, 0 removed, 0 changed (0 projects)",
            "results: 1 added, 0 removed, 0 changed (1 project)",
            "outcome payments: 1 added, 0 removed, 0 changed (1 project)",
            "documents: 0 added, 1 removed, 0 changed (1 project)",
            "sources: 0 added, 0 removed, 0 changed (0 projects)"]
        kinds = page.locator("h2[id^=kind-]").all_inner_texts()
        assert kinds == ["Projects (1)", "Fields (1)", "Results (1)", "Outcome payments (1)", "Documents (1)"]
        assert page.locator("#changes-projects tbody tr").inner_text().split("\t") == [
            declared.NEW_ID, declared.NEW_NAME, "added"]
        field = page.locator("#changes-fields tbody tr").inner_text().split("\t")
        assert field[0] == declared.STAGE_CASE and field[-2:] == [declared.OLD_STAGE, declared.NEW_STAGE]
        assert declared.REMOVED_TITLE.strip() in page.locator("#changes-documents").inner_text()
        assert page.locator("#changes-results tbody tr td").nth(0).inner_text() == declared.RESULT_CASE
        # choose the releases the other way round: the same changes, reversed
        page.select_option("select[name=old]", "2025-09-01")
        page.select_option("select[name=new]", "2025-05-20")
        page.click("button[type=submit]")
        page.wait_for_url("**/changes?old=2025-09-01&new=2025-05-20")
        assert page.locator("#changes-projects tbody tr").inner_text().split("\t")[-1] == "removed"
        assert "documents: 1 added, 0 removed" in page.locator("#changes-summary").inner_text()
        watched.check()
    import html

    answer = httpx.get(server.url + "/changes", params={"old": "2024-01-01"})
    # the command line's words (was "No release '2024-01-01' is held.": the web had a resolver of its own)
    assert html.unescape(answer.text).count("no INDIGO release 2024-01-01 is held; held: 2025-05-20, 2025-09-01") \
        == 1


def test_the_changes_page_takes_the_release_names_the_command_line_takes(server, held: Path,
                                                                        indigo_dir: Path) -> None:
    """``latest``, ``indigo@DATE`` and a plain DATE name the same held releases as in ``sibkit data diff``;
    a folder or any other path is never loaded from a query string."""
    import html
    import re

    headline = "INDIGO indigo@2025-05-20 → indigo@2025-09-01: 5 changes."
    for old, new in (("2025-05-20", "latest"), ("indigo@2025-05-20", "indigo@latest"),
                     ("indigo@2025-05-20", "2025-09-01"), ("2025-05-20", "indigo@2025-09-01")):
        answer = httpx.get(server.url + "/changes", params={"old": old, "new": new})
        text = html.unescape(answer.text)
        assert answer.status_code == 200 and f'<p id="changes-headline">{headline}</p>' in text, (old, new)
        assert "is held" not in text
        selected = re.findall(r'<option value="([^"]+)" selected>', text)
        assert selected == ["2025-05-20", "2025-09-01"], (old, new)  # the form shows the releases resolved
    refused = {"2024-01-01": "no INDIGO release 2024-01-01 is held; held: 2025-05-20, 2025-09-01",
               "nonsense": "'nonsense': expected indigo@YYYY-MM-DD or latest",
               str(indigo_dir): f"'{indigo_dir}': expected indigo@YYYY-MM-DD or latest"}
    for name, message in refused.items():
        text = html.unescape(httpx.get(server.url + "/changes", params={"old": name, "new": "latest"}).text)
        assert text.count(f"<p>{message}</p>") == 1, name
        assert 'id="changes-headline"' not in text
