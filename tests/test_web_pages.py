"""What a GO Lab analyst reads on the web pages: outcome payments, thin evidence, unknown values, the
outcome chart, organisations and funds, comparing projects, compressed answers (one server and one
browser for the module; what a user sees is checked in Chromium at 1440 and 390 px)."""

from __future__ import annotations

import csv
import gzip
import html
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sibkit.web import create_app
from sibkit.web.server import BackgroundServer

WIDTHS = (1440, 390)


@pytest.fixture(scope="module")
def server(dataset) -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(dataset)) as running:
        yield running


def rows_of(indigo_dir: Path, name: str) -> list[dict[str, str]]:
    with (indigo_dir / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def summary_value(page: str, label: str) -> str:
    """The visible text of one entry of a project page's summary card."""
    found = re.search(r"<dt>" + re.escape(label) + r"</dt>\s*<dd[^>]*>(.*?)</dd>", page, flags=re.DOTALL)
    assert found, label
    return text_of(found.group(1))


def payments_by_project(indigo_dir: Path) -> dict[str, dict[str, dict[str, float | int]]]:
    """project -> kind (Actual, Planned, '') -> {"rows": n, currency: amount}, read with the csv module."""
    out: dict[str, dict[str, dict[str, float | int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for row in rows_of(indigo_dir, "projects_outcome_payments.csv"):
        own = out[row["Project ID"]][row["Type - (Value)"]]
        if row["Payments - Amount - (Value)"]:
            own["rows"] += 1
            own[row["Payments - Currency - (Value)"]] += float(row["Payments - Amount - (Value)"])
        else:
            own["without amount"] += 1
    return out


def test_outcome_payments_come_from_the_payments_table_on_every_project_that_has_rows(server, indigo_dir) -> None:
    expected = payments_by_project(indigo_dir)
    assert len(expected) == 39 and sum("Actual" in kinds for kinds in expected.values()) == 32
    project_totals = {r["ID"]: r["Overall project finance - Total outcome payments made - Amount - (Value)"]
                      for r in rows_of(indigo_dir, "projects.csv")}
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for project_id, kinds in sorted(expected.items()):
            assert not project_totals[project_id]  # the project-level total is empty on all of them
            page = client.get(f"/projects/{project_id}").text
            made = summary_value(page, "Outcome payments made")
            assert "not in INDIGO" not in made, project_id
            kind = "Actual" if "Actual" in kinds else ""
            sums = kinds[kind]
            for currency, amount in sums.items():
                if currency not in ("rows", "without amount"):
                    assert f"{currency} {amount:,.0f}" in made, (project_id, made)
            noun = "payment" if sums["rows"] == 1 else "payments"
            assert f"{sums['rows']} {noun}" in made, (project_id, made)
            assert ("of type Actual" in made) == (kind == "Actual"), made
            if "Planned" in kinds:
                planned = kinds["Planned"]
                blank = f" and {planned['without amount']} more without an amount" if planned["without amount"] else ""
                assert f"planned: GBP {planned['GBP']:,.0f} in {planned['rows']} payments{blank}" in made, made
            # the per-metric Payments column never says "not in INDIGO" for a project with payments
            cells = re.findall(r'<td data-label="Payments">(.*?)</td>', page, flags=re.DOTALL)
            assert cells and all("not in INDIGO" not in text_of(cell) for cell in cells), project_id
    poj_0168 = expected["INDIGO-POJ-0168"]["Actual"]
    assert poj_0168["rows"] == 21 and round(poj_0168["GBP"] / 1e6, 2) == 4.18


class Page:
    """A Chromium page at one width that records console errors and every request."""

    def __init__(self, browser, base: str, width: int) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.base, self.width = base, width
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda request: self.requests.append(request.url))

    def open(self, path: str):  # type: ignore[no-untyped-def]
        self.page.goto(self.base + path)
        overflow = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} at {self.width}px scrolls sideways by {overflow}px"
        return self.page

    def close(self) -> None:
        assert self.errors == [] and all(url.startswith(self.base) for url in self.requests), self.errors
        self.page.close()


@pytest.mark.browser
def test_a_project_with_payments_shows_them_and_its_outcome_chart_shows_overflow(server, browser) -> None:
    for width in WIDTHS:
        watched = Page(browser, server.url, width)
        page = watched.open("/projects/INDIGO-POJ-0168")
        made = page.locator("#payments-made")
        assert made.is_visible() and "GBP 4,183,699" in made.inner_text() and "21 payments" in made.inner_text()
        page.click("#payments-made a[href='#payments']")
        assert page.locator("#payments").is_visible() and page.evaluate(  # the link leads to the table
            "document.getElementById('payments').getBoundingClientRect().top < window.innerHeight")
        assert page.locator("#payments tbody tr").count() == 116
        assert "Department for Culture, Media and Sport (DCMS)" in page.locator("#payments tbody tr").first.inner_text()
        # achieved against target: 100%, 222% and 1050% are drawn at different lengths, each beside the
        # target line, and the one past the scale says so
        rows = page.locator("#chart-achieved tbody tr")
        drawn = {}
        for i in range(rows.count()):
            row = rows.nth(i)
            label = row.locator(".v").inner_text().split()[0]
            drawn[label] = (row.locator("svg.bar rect.achieved").bounding_box()["width"],
                            row.locator("svg.bar line.target").count(), row.locator("svg.bar .overflow").count())
        assert {"100%", "222%", "1050%"} <= set(drawn)
        lengths = [drawn[k][0] for k in ("100%", "222%", "1050%")]
        assert lengths[0] < lengths[1] < lengths[2] or (lengths[0] < lengths[1] and drawn["1050%"][2] == 1)
        assert all(count == 1 for _, count, _ in drawn.values())
        assert drawn["1050%"][2] == 1 and drawn["100%"][2] == 0
        # full labels, wrapped inside the chart (never cut with "…" nor wider than their cell)
        labels = page.locator("#chart-achieved tbody th")
        assert all("…" not in text for text in labels.all_inner_texts())
        assert page.evaluate("[...document.querySelectorAll('#chart-achieved tbody th')].every("
                             "th => th.scrollWidth <= th.clientWidth + 1)")
        correction = page.locator("#suggest-correction")
        assert correction.get_attribute("href") == ("https://golab.bsg.ox.ac.uk/knowledge-bank/indigo/"
                                                    "impact-bond-dataset-v2/INDIGO-POJ-0168/")
        assert correction.is_visible() and "noopener" in correction.get_attribute("rel")
        watched.close()


@pytest.mark.browser
def test_thin_evidence_is_shown_small_and_too_little_as_too_few_to_say(server, browser) -> None:
    for width in WIDTHS:
        watched = Page(browser, server.url, width)
        page = watched.open("/?country=US")  # average duration: 1 of 28 projects states one
        duration = page.locator("#figure-duration")
        assert "too few to say" in duration.inner_text() and "based on 1 of 28 projects" in duration.inner_text()
        assert not page.locator("#figure-duration details .value").is_visible()  # the value only on request
        page.click("#figure-duration details summary")
        assert page.locator("#figure-duration details .value").inner_text() == "1.9 years"
        solid = page.locator("#figure-capital .value")  # 27 of 28: a figure in large type
        assert "based on" not in solid.inner_text()
        page = watched.open("/")  # the whole field: 145 of 319 projects state a duration
        thin = page.locator("#figure-duration")
        assert "thin" in thin.get_attribute("class") and "based on 145 of 319 projects" in thin.inner_text()
        size = page.evaluate("s => parseFloat(getComputedStyle(document.querySelector(s)).fontSize)",
                             "#figure-duration .value")
        large = page.evaluate("s => parseFloat(getComputedStyle(document.querySelector(s)).fontSize)",
                              "#figure-capital .value")
        assert size < large * 0.8
        watched.close()


def test_capital_by_year_shows_unknown_as_a_dash_and_every_year_in_order(server) -> None:
    api = httpx.get(server.url + "/api/stats", params={"by": "year"}).json()["breakdown"]
    known = {row["year"]: row for row in api if row["year"] != "(none)"}
    page = httpx.get(server.url + "/").text
    chart = page[page.index('id="chart-capital"'):]
    chart = chart[:chart.index("</figure>")]
    shown = [(text_of(head), text_of(value)) for head, value in
             re.findall(r'<th scope="row">(.*?)</th>\s*<td class="n">(.*?)</td>', chart, flags=re.DOTALL)]
    years = [int(label) for label, _ in shown[:-1]]
    assert years == list(range(min(map(int, known)), max(map(int, known)) + 1))  # 2011 included: no gap
    assert shown[-1][0] == "not in INDIGO"  # the projects without a live year come last
    for label, value in shown[:-1]:
        row = known.get(label)
        if row is None:
            assert value.startswith("no impact bond"), (label, value)
        elif row["capital_raised_usd"] is None:
            assert value.startswith("–"), (label, value)  # unknown, never 0
        else:
            assert value.split()[0] == f"{row['capital_raised_usd'] / 1e6:,.3g}".rstrip(".") or value[0].isdigit()
            if row["capital_missing"]:
                have = row["projects"] - row["capital_missing"]
                assert f"{have} of {row['projects']}" in value, (label, value)
    assert not any(value == "0" for label, value in shown if known.get(label, {}).get("capital_raised_usd") is None)


def test_ids_are_links_named_for_what_they_are_and_funds_and_organisations_have_totals(server, indigo_dir) -> None:
    links = [r for r in rows_of(indigo_dir, "projects_outcome_funds.csv") if r["Id"] == "INDIGO-FUND-0012"]
    projects = {r["Project ID"] for r in links}
    payments = payments_by_project(indigo_dir)
    paid = sum(payments[p]["Actual"].get("GBP", 0) for p in projects if "Actual" in payments.get(p, {}))
    page = httpx.get(server.url + "/funds/INDIGO-FUND-0012").text
    host = re.search(r"<dt>Host institution</dt><dd[^>]*>(.*?)</dd>", page, flags=re.DOTALL).group(1)
    assert '<a href="/organisations/INDIGO-ORG-0171"' in host and "Department for Culture, Media and Sport (DCMS)" \
        in text_of(host) and "INDIGO-ORG-0171" not in text_of(host)
    totals = text_of(page[page.index('id="totals"'):page.index("</section>", page.index('id="totals"'))])
    assert f"{len(projects)} impact bonds" in totals
    assert f"GBP {paid:,.0f}" in totals and "outcome payments" in totals
    assert "capital raised" in totals and "service users" in totals and "based on" in totals
    organisation = httpx.get(server.url + "/organisations/INDIGO-ORG-0171").text
    assert 'id="totals"' in organisation and "impact bonds" in text_of(organisation)
    # searchable index pages
    funds = httpx.get(server.url + "/funds").text
    assert len(re.findall(r'<a href="/funds/INDIGO-FUND-\d+"', funds)) == len(rows_of(indigo_dir, "funds.csv"))
    found = httpx.get(server.url + "/organisations", params={"q": "culture, media"}).text
    assert '<a href="/organisations/INDIGO-ORG-0171"' in found
    names = [r["Name"] for r in rows_of(indigo_dir, "organisations.csv") if "doncaster" in r["Name"].casefold()]
    found = httpx.get(server.url + "/organisations", params={"q": "Doncaster"}).text
    assert len(re.findall(r'<a href="/organisations/INDIGO-ORG-\d+"', found)) == len(names) > 0


def countries_by_project(indigo_dir: Path) -> dict[str, set[str]]:
    """Each project's countries: its delivery locations' and its jurisdiction."""
    out: dict[str, set[str]] = defaultdict(set)
    for row in rows_of(indigo_dir, "projects_delivery_locations.csv"):
        if row["Location - Country - (Value)"]:
            out[row["Project ID"]].add(row["Location - Country - (Value)"])
    for row in rows_of(indigo_dir, "projects.csv"):
        if row["Jurisdiction - Jurisdiction - (Value)"]:
            out[row["ID"]].add(row["Jurisdiction - Jurisdiction - (Value)"])
    return out


def test_similar_projects_share_the_sector_and_a_country(server, indigo_dir) -> None:
    sector = {r["ID"]: r["Purpose and classifications - Policy sector - (Value)"]
              for r in rows_of(indigo_dir, "projects.csv")}
    countries = countries_by_project(indigo_dir)
    expected = {p for p in sector if p != "INDIGO-POJ-0168" and sector[p] == sector["INDIGO-POJ-0168"]
                and countries[p] & countries["INDIGO-POJ-0168"]}
    page = httpx.get(server.url + "/projects/INDIGO-POJ-0168").text
    similar = page[page.index('id="similar"'):page.index("</section>", page.index('id="similar"'))]
    shown = set(re.findall(r'<a href="/projects/(INDIGO-POJ-\d+)"', similar))
    assert shown == expected or (len(shown) == 8 and shown < expected), (shown, expected)
    assert f"{len(expected)} projects" in text_of(similar)


@pytest.mark.browser
def test_compare_up_to_four_projects_from_the_explorer_with_the_keyboard(server, browser) -> None:
    for width in WIDTHS:
        watched = Page(browser, server.url, width)
        page = watched.open("/projects?q=norfolk")  # three projects
        boxes = page.locator("input[name=id][type=checkbox]")
        assert boxes.count() == 3
        boxes.first.focus()
        page.keyboard.press("Space")
        for _ in range(4):  # on to the next row's box (past the first row's link)
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.type") == "checkbox":
                break
        page.keyboard.press("Space")
        assert boxes.nth(0).is_checked() and boxes.nth(1).is_checked()
        page.locator("#compare-button").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "/compare?" in page.url and page.url.count("id=") == 2
        columns = page.locator("#compare thead th[scope=col]")
        assert columns.count() == 2
        text = page.locator("#compare").inner_text()
        for heading in ("Price per outcome", "Outcome metric targets", "Achieved ÷ target", "Outcome payments made"):
            assert heading in text
        watched.open("/compare?id=INDIGO-POJ-0168&id=INDIGO-POJ-0121&id=INDIGO-POJ-0167&id=INDIGO-POJ-0001"
                     "&id=INDIGO-POJ-0002")
        assert page.locator("#compare thead th[scope=col]").count() == 4
        assert "up to four" in page.locator(".notice").inner_text()
        assert "GBP 4,183,699" in page.locator("#compare").inner_text()
        watched.close()


def test_text_answers_are_compressed_and_the_cache_keeps_each_encoding_apart(dataset) -> None:
    app = create_app(dataset)
    with BackgroundServer(app) as running, httpx.Client(base_url=running.url, timeout=60) as client:
        for path in ("/?country=GB", "/projects/INDIGO-POJ-0168", "/static/style.css"):
            plain_first = client.get(path, headers={"Accept-Encoding": "identity"})
            packed = client.get(path, headers={"Accept-Encoding": "gzip"})
            plain_again = client.get(path, headers={"Accept-Encoding": "identity"})
            assert packed.headers["content-encoding"] == "gzip" and "accept-encoding" in packed.headers["vary"].lower()
            assert "content-encoding" not in plain_first.headers and "content-encoding" not in plain_again.headers
            assert packed.content == plain_first.content == plain_again.content  # httpx decompresses
        with client.stream("GET", "/", headers={"Accept-Encoding": "gzip"}) as response:
            wire = b"".join(response.iter_raw())
        assert len(wire) * 3 < len(gzip.decompress(wire)) and gzip.decompress(wire).startswith(b"<!doctype html>")


@pytest.mark.browser
def test_the_map_writes_names_and_a_phone_opens_on_europe(server, browser) -> None:
    for width in WIDTHS:
        watched = Page(browser, server.url, width)
        page = watched.open("/")
        svg = "#map" if width > 700 else "#map-phone"
        assert page.locator(svg).is_visible() and page.locator("#map-phone" if width > 700 else "#map").is_hidden()
        names = page.locator(f"{svg} text.name.shown")
        visible = [names.nth(i).text_content() for i in range(names.count()) if names.nth(i).is_visible()]
        assert "United Kingdom" in visible and len(visible) >= (20 if width > 700 else 8)  # without hovering
        countries = set(page.locator(f"{svg} a.marker").evaluate_all("links => links.map(a => a.dataset.country)"))
        if width < 700:
            assert {"GB", "FR", "NL"} <= countries and "US" not in countries  # Europe, not the Americas
            box = page.locator(svg).bounding_box()
            gb = page.locator(f"{svg} a.marker[data-country=GB] circle").bounding_box()
            assert box["x"] <= gb["x"] and gb["x"] + gb["width"] <= box["x"] + box["width"]  # on screen
        else:
            assert {"GB", "US", "RU"} <= countries
        watched.close()


@pytest.mark.browser
def test_what_an_analyst_sees_of_years_funds_organisations_and_similar_projects(server, browser) -> None:
    for width in WIDTHS:
        watched = Page(browser, server.url, width)
        page = watched.open("/")
        rows = page.locator("#chart-capital tbody tr")
        labels = [rows.nth(i).locator("th").inner_text() for i in range(rows.count())]
        assert "2011" in labels and labels[-1] == "not in INDIGO"
        assert rows.nth(labels.index("2011")).locator(".v").inner_text().startswith("no impact bond")
        page = watched.open("/funds/INDIGO-FUND-0012")
        host = page.locator("dd a[href='/organisations/INDIGO-ORG-0171']")
        assert host.is_visible() and host.inner_text() == "Department for Culture, Media and Sport (DCMS)"
        assert page.locator("#totals").is_visible() and "outcome payments made" in page.locator("#totals").inner_text()
        page = watched.open("/organisations")
        page.locator("input[name=q]").focus()
        page.keyboard.type("culture, media")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("a[href='/organisations/INDIGO-ORG-0171']").is_visible()
        page = watched.open("/projects/INDIGO-POJ-0168")
        assert page.locator("#similar li a").first.is_visible()
        watched.close()


def _metric_evidence(indigo_dir: Path, project: str) -> list[tuple[str, bool, bool]]:
    """(definition, has a target, has a result) per outcome metric of ``project``, read with the csv module."""
    with_results = {row["Outcome Metric Id - (Value)"] for row in rows_of(indigo_dir, "projects_results.csv")
                    if row["Project ID"] == project and row["Outcomes achieved - (Value)"].strip()}
    return [(row["Outcome Definition - (Value)"].strip(),
             bool(row["Targeted number of service users Or beneficiaries (total) - (Value)"].strip()),
             row["Id"] in with_results)
            for row in rows_of(indigo_dir, "projects_outcome_metrics.csv") if row["Project ID"] == project]


def test_the_outcome_chart_says_what_each_metric_lacks_and_is_left_out_when_no_metric_has_both(
        server, indigo_dir) -> None:
    metrics = _metric_evidence(indigo_dir, "INDIGO-POJ-0110")  # 18 metrics, one with a target, none with results
    assert len(metrics) == 18 and sum(t for _, t, _ in metrics) == 1 and not any(r for _, _, r in metrics)
    page = httpx.get(server.url + "/projects/INDIGO-POJ-0110").text
    assert 'id="chart-achieved"' not in page and "no target or results" not in page
    assert text_of(re.search(r'<p id="no-chart"[^>]*>(.*?)</p>', page, re.DOTALL).group(1)) == (
        "No chart of outcomes against targets: INDIGO gives no metric of this project both a target number and "
        "results (1 of 18 metrics has a target number of service users, 0 have results). The table below shows "
        "what it gives.")

    metrics = _metric_evidence(indigo_dir, "INDIGO-POJ-0015")  # one metric with both, one with results alone
    assert sorted((t, r) for _, t, r in metrics) == [(False, True), (True, True)]
    page = httpx.get(server.url + "/projects/INDIGO-POJ-0015").text
    chart = re.search(r'<figure class="chart" id="chart-achieved">(.*?)</figure>', page, re.DOTALL).group(1)
    rows = {text_of(th): text_of(td) for th, td in
            re.findall(r'<tr><th scope="row">(.*?)</th>\s*<td class="n">(.*?)</td></tr>', chart, re.DOTALL)}
    lacking = next(name for name, target, _ in metrics if not target)
    assert rows[lacking].endswith("achieved; no target in INDIGO")
    assert sum("%" in value for value in rows.values()) == 1


@pytest.mark.browser
def test_the_field_over_time_reads_on_a_phone(server, browser) -> None:
    watched = Page(browser, server.url, 390)
    page = watched.open("/")
    for table in ("#over-time-table", "#published-figures"):
        cells = page.evaluate(f"[...document.querySelectorAll('{table} tbody th, {table} tbody td')]"
                              ".map(c => [c.getBoundingClientRect().right, c.getBoundingClientRect().height,"
                              " c.classList.contains('n')])")
        assert cells and max(right for right, _, _ in cells) <= 390  # every figure on the screen, none cut off
        assert max(height for _, height, figure in cells if figure) < 50  # a figure on a line or two
    labels = page.locator("#over-time-table tbody td[data-label='Capital raised (USD)']").all_inner_texts()
    assert labels and all(text.strip() for text in labels)
    page.goto(server.url + "/projects")
    assert "last column" not in page.locator("#compare-hint").inner_text()
    watched.close()
