"""The web app driven in headless Chromium against the real server (one browser for the module),
plus its JSON, CSV, ZIP and XLSX downloads."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sibkit.indigo import load
from sibkit.web import create_app
from sibkit.web.server import BackgroundServer

WIDTHS = (1440, 390)


@pytest.fixture(scope="module")
def server(dataset) -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(dataset)) as running:
        yield running


class Watched:
    """A page that records every request and every console error."""

    def __init__(self, browser, base: str, width: int = 1440) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.base = base
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda m: self.errors.append(m.text)
                     if m.type == "error" and "status of 40" not in m.text else None)  # 4xx pages are expected
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


def projects_csv(indigo_dir: Path) -> list[dict[str, str]]:
    with (indigo_dir / "projects.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


# Accessibility checks written here (instead of axe-core): each returns a list of violations.
A11Y_SCRIPT = r"""() => {
  const problems = [];
  const name = (el) => (el.getAttribute('aria-label') || el.textContent || '').trim()
      || (el.querySelector('img[alt]') ? el.querySelector('img[alt]').alt : '');
  if (!document.documentElement.lang) problems.push('html without lang');
  if (document.querySelectorAll('h1').length !== 1) problems.push('not exactly one h1');
  const first = document.querySelector('a[href], button, input, select, summary');
  if (!first || !first.classList.contains('skip') || first.getAttribute('href') !== '#content')
    problems.push('the first focusable element is not the skip link');
  if (!document.getElementById('content')) problems.push('skip link target missing');
  for (const a of document.querySelectorAll('a[href]'))
    if (!name(a)) problems.push('link without a name: ' + a.outerHTML.slice(0, 80));
  for (const b of document.querySelectorAll('button'))
    if (!name(b)) problems.push('button without a name');
  for (const input of document.querySelectorAll('input:not([type=hidden]), select, textarea'))
    if (!input.closest('label') && !input.getAttribute('aria-label')
        && !(input.id && document.querySelector(`label[for="${input.id}"]`)))
      problems.push('form control without a label: ' + input.name);
  for (const svg of document.querySelectorAll('svg:not([aria-hidden=true])')) {
    const labelled = svg.getAttribute('aria-label') || svg.getAttribute('aria-labelledby')
        || svg.querySelector(':scope > title');
    if (!labelled) problems.push('svg without an accessible name');
    if (svg.getAttribute('role') === 'img' && svg.querySelector('a[href]'))
      problems.push('links hidden inside role=img');
  }
  for (const table of document.querySelectorAll('table.bars'))
    if (!table.querySelector('caption')) problems.push('chart without a caption');
  for (const hidden of document.querySelectorAll('[aria-hidden=true]'))
    for (const el of [hidden, ...hidden.querySelectorAll('a[href], button, input, select')])
      if (el.matches('a[href], button, input, select') && el.getAttribute('tabindex') !== '-1')
        problems.push('focusable element inside aria-hidden');
  const ids = {};
  for (const el of document.querySelectorAll('[id]')) { ids[el.id] = (ids[el.id] || 0) + 1; }
  for (const [id, n] of Object.entries(ids)) if (n > 1) problems.push('duplicate id ' + id);
  for (const el of document.querySelectorAll('.scroll, .map'))
    if (el.scrollWidth > el.clientWidth && el.getAttribute('tabindex') !== '0')
      problems.push('scroll region not focusable');
  // text contrast (WCAG AA): 4.5:1, or 3:1 for large text, against the first opaque background up the tree
  const rgb = (text) => (text.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b);
  const ch = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const background = (el) => {
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  for (const el of document.querySelectorAll('body *:not(svg):not(svg *)')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || el.closest('.visually-hidden, .skip')) continue;
    const fg = lum(rgb(style.color).slice(0, 3)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize), bold = +style.fontWeight >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed)
      problems.push(`contrast ${ratio.toFixed(2)} < ${needed}: ${el.textContent.trim().slice(0, 40)}`);
  }
  return problems;
}"""


@pytest.mark.browser
def test_every_page_type_fits_the_screen_and_passes_the_accessibility_checks(server, browser, axe_violations) -> None:
    pages = ["/", "/?country=GB", "/?country=ZZ", "/projects", "/projects?country=GB&sort=-users",
             "/projects?q=zzzz-nothing", "/projects/INDIGO-POJ-0121", "/projects/INDIGO-POJ-0168",
             "/organisations/INDIGO-ORG-0505", "/funds/INDIGO-FUND-0012", "/organisations", "/organisations?q=zzzz",
             "/funds", "/compare", "/compare?id=INDIGO-POJ-0168&id=INDIGO-POJ-0121&id=INDIGO-POJ-0001",
             "/projects?id=INDIGO-POJ-0168&id=INDIGO-POJ-0121", "/?live_from=soon", "/no/such/page"]
    for width in WIDTHS:
        watched = Watched(browser, server.url, width)
        for path in pages:
            watched.page.goto(server.url + path)
            overflow = watched.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} at {width}px scrolls sideways by {overflow}px"
            assert watched.page.evaluate(A11Y_SCRIPT) == [], f"{path} at {width}px"
            assert axe_violations(watched.page) == [], f"{path} at {width}px"
        watched.page.goto(server.url + "/")
        watched.page.keyboard.press("Tab")  # the skip link comes first, and focus on it is visible
        assert watched.page.evaluate("document.activeElement.className") == "skip"
        outline = watched.page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("", "none")
        assert watched.page.evaluate("document.activeElement.getBoundingClientRect().left") >= 0
        watched.check()


@pytest.mark.browser
def test_dashboard_filters_survive_apply_and_lead_to_the_explorer(server, browser, indigo_dir: Path) -> None:
    expected = cli_stats(indigo_dir, "--country", "GB", "--country", "US")
    watched = Watched(browser, server.url)
    page = watched.page
    page.goto(server.url + "/?country=GB&country=US")
    assert page.get_attribute("#figure-projects", "data-value") == str(expected["projects"])
    assert float(page.get_attribute("#figure-service-users", "data-value")) == expected["service_users"]
    assert page.is_checked("input[name=country][value=GB]") and page.is_checked("input[name=country][value=US]")
    page.click("button[type=submit]")  # Apply keeps both countries
    page.wait_for_load_state()
    assert "country=GB" in page.url and "country=US" in page.url
    assert "=&" not in page.url + "&"  # the empty fields the form sent are gone from the address
    assert page.get_attribute("#figure-projects", "data-value") == str(expected["projects"])
    assert page.locator(".chips li").count() == 3  # two countries and "Clear all"
    page.click("#show-projects")
    page.wait_for_url("**/projects?*")
    assert f"of {expected['projects']} impact bonds" in page.text_content("#result-count")
    watched.check()


@pytest.mark.browser
def test_a_bar_opens_the_explorer_with_its_projects(server, browser, dataset) -> None:
    from sibkit.indigo import Filters, breakdown, filter_projects

    health = int(breakdown(filter_projects(dataset, Filters()), "sector").set_index("sector").at["Health", "projects"])
    watched = Watched(browser, server.url)
    watched.page.goto(server.url + "/")
    watched.page.click("#chart-sector a:text-is('Health')")
    watched.page.wait_for_url("**/projects?sector=Health")
    assert f"of {health} impact bonds" in watched.page.text_content("#result-count")
    watched.check()


@pytest.mark.browser
def test_explorer_filters_searches_sorts_and_pages(server, browser, indigo_dir: Path) -> None:
    rows = projects_csv(indigo_dir)
    watched = Watched(browser, server.url)
    page = watched.page
    page.goto(server.url + "/projects")
    assert page.text_content("#result-count").split()[0] == "1–25" and f"of {len(rows)} " in page.text_content(
        "#result-count")
    page.click("a[rel=next]")  # paging
    page.wait_for_url("**page=2")
    assert page.text_content("#result-count").split()[0] == "26–50"
    # search: every project whose name mentions Norfolk (no country or sector does)
    page.fill("input[name=q]", "norfolk")
    page.click("button[type=submit]")
    page.wait_for_url("**q=norfolk*")
    names = sorted(row["Impact Bond Name - (Value)"] for row in rows if "norfolk" in row["Impact Bond Name - (Value)"]
                   .casefold())
    shown = page.locator("table.explorer tbody td:first-child a").all_text_contents()
    assert sorted(shown) == names and len(names) == 3
    # filter with two sectors and sort by service users, largest first
    page.goto(server.url + "/projects")
    page.click("details.pick:has(input[name=sector]) summary")
    page.check("input[name=sector][value=Health]")
    page.check("input[name=sector][value=Homelessness]")
    page.select_option("select[name=sort]", "-users")
    page.click("button[type=submit]")
    page.wait_for_url("**sort=-users*")
    assert page.is_checked("input[name=sector][value=Health]")
    assert page.is_checked("input[name=sector][value=Homelessness]")
    sector_col = "Purpose and classifications - Policy sector - (Value)"
    wanted = [r for r in rows if r[sector_col] in ("Health", "Homelessness")]
    assert f"of {len(wanted)} impact bonds" in page.text_content("#result-count")

    def users(row: dict[str, str]) -> float:
        prefix = "Service and beneficiaries - "
        actual = row[prefix + "Actual number of unique service users or beneficiaries engaged (total) - (Value)"]
        target = row[prefix + "Targeted number of unique service users or beneficiaries (total) - (Value)"]
        return float(actual or target or "nan")

    largest = max((r for r in wanted if users(r) == users(r)), key=users)
    assert page.locator("table.explorer tbody tr").first.locator("td").first.text_content() == largest[
        "Impact Bond Name - (Value)"]
    # the column heading sorts too, and says how
    page.click("th:has-text('Capital') a")
    page.wait_for_url("**sort=capital*")
    assert page.get_attribute("th[aria-sort]", "aria-sort") == "ascending"
    watched.check()


@pytest.mark.browser
def test_an_empty_filter_shows_the_empty_state(server, browser) -> None:
    watched = Watched(browser, server.url, 390)
    watched.page.goto(server.url + "/?country=ZZ")
    assert watched.page.is_visible("#empty-state")
    assert "Country: 'ZZ' is not an ISO 3166-1 alpha-2 country code" in watched.page.text_content(".notice")
    assert watched.page.locator("#map").count() == 0 and watched.page.locator("#figure-capital").count() == 0
    watched.page.goto(server.url + "/projects?country=IS")  # a real country without an impact bond
    assert watched.page.is_visible("#empty-state")
    assert "no impact bond in INDIGO is in Iceland" in watched.page.text_content(".notice")
    watched.check()


def country_counts(dataset, filters) -> dict[str, int]:
    """Projects per country worked out from the delivery locations' countries and the jurisdiction."""
    from sibkit.indigo import filter_projects

    ids = set(filter_projects(dataset, filters)["id"])
    countries: dict[str, set[str]] = {}
    locations = dataset.delivery_locations
    for project_id, code in zip(locations["project_id"], locations["location_country"], strict=True):
        if project_id in ids and isinstance(code, str):
            countries.setdefault(project_id, set()).add(code)
    for project_id, code in zip(dataset.projects["id"], dataset.projects["jurisdiction_jurisdiction"], strict=True):
        if project_id in ids and isinstance(code, str):
            countries.setdefault(project_id, set()).add(code)
    counts: dict[str, int] = {}
    for codes in countries.values():
        for code in codes:
            counts[code] = counts.get(code, 0) + 1
    return counts


MARKERS_SCRIPT = """() => [...[...document.querySelectorAll('svg.worldmap')].find(svg => svg.getClientRects().length)
    .querySelectorAll('a.marker')].map(a => {
  const c = a.querySelector('circle');
  return {href: a.getAttribute('href'), country: a.dataset.country || null, count: +a.dataset.count,
          ids: a.dataset.ids ? a.dataset.ids.split(' ') : [], label: a.getAttribute('aria-label'),
          x: +c.getAttribute('cx'), y: +c.getAttribute('cy'), r: +c.getAttribute('r')};
})"""


def assert_no_overlap(markers: list[dict]) -> None:
    for i, a in enumerate(markers):
        for b in markers[i + 1:]:
            assert (a["x"] - b["x"]) ** 2 + (a["y"] - b["y"]) ** 2 >= (a["r"] + b["r"]) ** 2, (a["label"], b["label"])


@pytest.mark.browser
def test_the_map_counts_equal_the_figures_and_markers_never_overlap(server, browser, dataset) -> None:
    from sibkit.indigo import Filters

    expected = country_counts(dataset, Filters())
    watched = Watched(browser, server.url)
    watched.page.goto(server.url + "/")
    markers = watched.page.evaluate(MARKERS_SCRIPT)
    on_map = {m["country"]: m["count"] for m in markers}
    unmapped = watched.page.text_content(".map ~ p")
    for code, count in expected.items():
        assert on_map.get(code) == count or (code not in on_map and "Not drawn" in unmapped), code
    assert set(on_map) <= set(expected)
    assert markers and all(m["label"].endswith(("impact bond", "impact bonds")) for m in markers)
    listed = watched.page.locator(".map-list tbody tr").all_text_contents()
    assert len(listed) == len(expected)  # the list alternative names every country with its count
    assert_no_overlap(markers)
    gb = next(m for m in markers if m["country"] == "GB")
    watched.page.click("#map a.marker[data-country=GB]")  # zooms to the country
    watched.page.wait_for_url("**/?country=GB")
    zoomed = watched.page.evaluate(MARKERS_SCRIPT)
    assert sum(m["count"] for m in zoomed) == gb["count"] == expected["GB"]
    assert_no_overlap(zoomed)
    watched.check()


@pytest.mark.browser
def test_the_keyboard_reaches_every_project_on_the_map(server, browser) -> None:
    watched = Watched(browser, server.url, 390)
    page = watched.page
    page.goto(server.url + "/?country=GB")
    markers = page.evaluate(MARKERS_SCRIPT)
    on_map = {i for m in markers for i in m["ids"]}
    assert len(on_map) == 100  # every UK project has a place (its delivery location, else the country)
    reached: set[str] = set()
    for _ in range(300):
        page.keyboard.press("Tab")
        href = page.evaluate("document.activeElement.getAttribute('href')")
        ids = page.evaluate("document.activeElement.dataset ? (document.activeElement.dataset.ids || '') : ''")
        if ids:
            reached.update(ids.split())
        if href and href.startswith("/projects?sector"):
            break  # past the map: the charts
    assert reached == on_map
    watched.check()


@pytest.mark.browser
def test_a_project_reads_as_a_story(server, browser) -> None:
    watched = Watched(browser, server.url, 390)
    page = watched.page
    page.goto(server.url + "/projects/INDIGO-POJ-0168")
    section = page.locator("#outcome-metrics")  # 10 rows in projects_outcome_metrics.csv
    assert section.locator("h2").text_content() == "Outcome metrics (10)"
    assert "Key Stage 3, Metric 1: High Quality Personal Learning Plan" in section.text_content()
    assert section.locator("table.outcomes tbody tr").count() == 10
    assert page.locator("#chart-achieved caption").count() == 1
    summary = page.text_content(".summary")
    assert "United Kingdom" in summary and "not in INDIGO" in summary and "GBP 750,000" in summary
    page.click("text=Big Issue Invest")
    page.wait_for_url("**/organisations/*")
    assert page.locator("a[href='/projects/INDIGO-POJ-0168']").count() == 1
    page.goto(server.url + "/projects/INDIGO-POJ-0001")
    assert page.locator("#source-source1 a[href^='https://beccarvarela.com']").count() == 1  # a URL as a link
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
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the accents right
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == expected["projects"] and "capital_raised_usd" in rows[0]
    project = httpx.get(server.url + "/api/projects/INDIGO-POJ-0168").json()
    assert len(project["tables"]["outcome_metrics"]) == 10
    assert httpx.get(server.url + "/api/stats", params={"live_from": "soon"}).status_code == 400
    assert httpx.get(server.url + "/projects/INDIGO-POJ-9999").status_code == 404


def test_an_empty_filter_gives_a_valid_empty_csv(server) -> None:
    for params in ({"country": "ZZ"}, {"sector": "nothing"}, {"q": "no such words"}):
        response = httpx.get(server.url + "/download/projects.csv", params=params)
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0][:3] == ["id", "name", "stage"] and len(rows) == 1


def test_whole_dataset_downloads(server, indigo_dir: Path) -> None:
    from openpyxl import load_workbook

    expected = len(projects_csv(indigo_dir))
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(server.url + "/download/indigo-csv.zip", timeout=60).content))
    with archive.open("projects.csv") as handle:
        assert len(list(csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8-sig")))) == expected
    book = load_workbook(io.BytesIO(httpx.get(server.url + "/download/indigo.xlsx", timeout=60).content),
                         read_only=True)
    assert sum(1 for _ in book["projects"].iter_rows()) == expected + 1 and "derived_projects" in book.sheetnames


def test_read_only_with_security_headers_on_every_answer(server) -> None:
    for response in (httpx.get(server.url + "/"), httpx.get(server.url + "/no/such/page"),
                     httpx.post(server.url + "/", data={"x": "1"}),
                     httpx.get(server.url + "/download/projects.csv", params={"country": "ZZ"})):
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
    missing = httpx.get(server.url + "/no/such/page")
    assert missing.status_code == 404 and "<h1>Page not found</h1>" in missing.text
    assert httpx.post(server.url + "/", data={"x": "1"}).status_code == 405


def test_an_unexpected_error_still_carries_the_security_headers(dataset) -> None:
    app = create_app(dataset)

    def broken() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/broken", broken)
    with BackgroundServer(app) as running:
        response = httpx.get(running.url + "/broken")
    assert response.status_code == 500 and response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "Something went wrong" in response.text


def test_a_form_s_empty_fields_leave_the_address(server) -> None:
    for sent, address in (("/?stage=Complete&live_from=&live_to=&as_of=", "/?stage=Complete"),
                          ("/projects?q=&country=GB&country=&sort=name", "/projects?country=GB&sort=name"),
                          ("/organisations?q=", "/organisations"), ("/funds?q=", "/funds")):
        answer = httpx.get(server.url + sent)
        assert (answer.status_code, answer.headers["location"]) == (303, address), sent
    assert httpx.get(server.url + "/?stage=Complete").status_code == 200  # nothing empty: the page itself
