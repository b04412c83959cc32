"""The study pages of the web app, against the real server, a study file and its SQLite corpus database;
in Chromium, the study page and the review workbench as a coder meets them, at 1440 and 390 px."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from sibkit.store import Reference, open_store
from sibkit.store.models import Document, DocumentCase
from sibkit.study import load_study
from sibkit.web import create_app
from sibkit.web.server import BackgroundServer

STUDY = """\
title: UK <em>impact</em> bonds live 2016-2021
data: {data}
selection:
  - countries: [GB]
  - live_years: {{from: 2016, to: 2021}}
  - {{min_documents: 4, kinds: all, without_url: true, without_title: true}}  # every item INDIGO lists
"""


def test_study_pages_show_the_flow_cases_and_documents(tmp_path: Path, indigo_dir: Path, dataset) -> None:
    path = tmp_path / "uk.yaml"
    path.write_text(STUDY.format(data=indigo_dir), encoding="utf-8")
    study = load_study(path)
    study._dataset = dataset  # the export already loaded for the session (same folder as `data`)
    store = open_store(study.database_url())  # uk.sqlite beside the study file
    with store.session() as session:
        document = Document(sha256=hashlib.sha256(b"evaluation").hexdigest(), title="Final <b>evaluation</b>",
                            doc_type="evaluation", origin="corpus/INDIGO-POJ-0110/final.pdf", word_count=1234,
                            status="ok")
        document.cases.append(DocumentCase(case_id="INDIGO-POJ-0110"))
        session.add(document)
    store.close()

    with BackgroundServer(create_app(dataset, study)) as server:
        page = httpx.get(server.url + "/study")
        assert page.status_code == 200
        html = page.text
        assert "UK &lt;em&gt;impact&lt;/em&gt; bonds" in html and "<em>impact" not in html
        assert "Final &lt;b&gt;evaluation&lt;/b&gt;" in html

        body = httpx.get(server.url + "/api/study").json()
        # 319 projects; 100 delivered in GB; 68 of them live 2016-2021; 43 with >= 4 distinct documents
        # (the same counts test_study_selection works out; one more corpus document does not move 0110,
        # which already has exactly 4 and is kept)
        assert [(s["in"], s["excluded"], s["out"]) for s in body["flow"]] == [(319, 219, 100), (100, 32, 68),
                                                                               (68, 25, 43)]
        assert len(body["cases"]) == 43
        assert {c["class"] for c in body["cases"]} <= {"successful", "struggling", "insufficient data"}
        assert body["documents"] == [{"case_id": "INDIGO-POJ-0110", "document_id": 1,
                                      "title": "Final <b>evaluation</b>", "doc_type": "evaluation",
                                      "origin": "final.pdf", "status": "ok", "words": 1234,  # a name, never a path
                                      "date": None}]

        cases_csv = httpx.get(server.url + "/download/study/cases.csv")
        rows = list(csv.DictReader(io.StringIO(cases_csv.content.decode("utf-8-sig"))))
        assert {r["case_id"] for r in rows} == {c["case_id"] for c in body["cases"]}
        project = httpx.get(server.url + "/projects/INDIGO-POJ-0110").text
        assert "Study class" in project


def test_study_pages_without_a_study_say_how_to_get_them(tmp_path: Path, dataset) -> None:
    with BackgroundServer(create_app(dataset)) as server:
        response = httpx.get(server.url + "/api/study")
        assert response.status_code == 400
        assert "sibkit serve STUDY" in response.json()["error"]


# -- the study's pages and its workbench in Chromium, as a coder meets them (one study, server and browser) --

WIDTHS = (1440, 390)


@pytest.fixture(scope="module")
def coded_study(tmp_path_factory: pytest.TempPathFactory, indigo_dir: Path, dataset):
    """The example's selection with each case's INDIGO record coded, and one evaluation held for
    INDIGO-POJ-0110 but not coded yet; served with its workbench."""
    from sibkit.coding import code_study
    from sibkit.corpus import add_indigo_records, open_study_store
    from sibkit.study import select

    folder = tmp_path_factory.mktemp("coded-study")
    path = folder / "uk.yaml"
    path.write_text(STUDY.format(data=indigo_dir), encoding="utf-8")
    study = load_study(path)
    study._dataset = dataset
    store = open_study_store(study)
    selected = select(study, dataset).selected
    add_indigo_records(store, dataset, selected)
    code_study(study)
    with store.session() as session:
        document = Document(sha256=hashlib.sha256(b"held").hexdigest(), title="Final evaluation",
                            doc_type="evaluation", origin="corpus/INDIGO-POJ-0110/final.pdf", word_count=3,
                            status="ok", text="Not coded yet.")
        document.cases.append(DocumentCase(case_id="INDIGO-POJ-0110"))
        session.add(document)
    with BackgroundServer(create_app(dataset, study, coder="ann")) as server:
        yield study, store, selected, server.url
    store.close()


def _open(page, url: str, width: int) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{url} at {width}px scrolls sideways by {overflow}px"


@pytest.mark.browser
def test_the_study_page_warns_like_the_report_and_counts_documents_listed_held_and_coded(coded_study, browser,
                                                                                        dataset) -> None:
    from sibkit.study import select

    study, _, selected, url = coded_study
    listed = dict(zip(*[select(study, dataset).cases.set_index("case_id").loc[selected].reset_index()[c]
                        for c in ("case_id", "distinct_documents")], strict=True))
    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 900})
        _open(page, url + "/study", width)
        warning = page.locator("#exploratory")
        assert warning.is_visible()
        assert "43 of 43 cases are coded from their INDIGO record alone" in " ".join(warning.inner_text().split())
        for case_id in selected:
            row = page.locator(f"#case-{case_id}")
            shown = (int(row.locator(".listed").inner_text()), int(row.locator(".held").inner_text()),
                     int(row.locator(".coded").inner_text()))
            held = 2 if case_id == "INDIGO-POJ-0110" else 1  # the record, and 0110's evaluation
            assert shown == (listed[case_id], held, 1), case_id
            assert shown[0] >= 3  # selected for at least four documents, held ones included
        # each document held is headed by its title, its case named (a link to the project) beside its id
        held_row = page.locator("table.cards tr", has=page.locator("th", has_text="Final evaluation"))
        assert held_row.locator("th").inner_text() == "Final evaluation"
        case_cell = held_row.locator("td[data-label=Case]")
        assert case_cell.locator("a").get_attribute("href") == "/projects/INDIGO-POJ-0110"
        assert case_cell.inner_text().endswith("(INDIGO-POJ-0110)") and len(case_cell.inner_text()) > 20
        apollo = page.locator("a[href='/projects/INDIGO-POJ-0123']")  # 'Project Apollo ' in INDIGO: every
        assert apollo.evaluate_all("links => links.map(a => a.textContent)") == ["Project Apollo"] * 2  # link unspaced
        page.close()


STUDY_PAGES = ["/study", "/review", "/review/queue", "/review/queue?status=all&theme=co-production", "/review/admin",
               "/review/login", "/review/queue?status=bogus", "/projects/INDIGO-POJ-0110", "/"]


@pytest.mark.browser
def test_every_study_and_workbench_page_fits_a_phone_and_passes_axe(coded_study, browser, axe_violations) -> None:
    _, store, _, url = coded_study
    with store.session() as session:
        reference = session.scalars(select(Reference).order_by(Reference.id)).first()
    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 900})
        for path in [*STUDY_PAGES, "/review/queue?status=rejected", "/review/audit", "/review/audit/results",
                     f"/review/documents/{reference.document_id}?ref={reference.id}"]:
            _open(page, url + path, width)
            assert axe_violations(page) == [], f"{path} at {width}px"
        page.close()


def _codebook():  # type: ignore[no-untyped-def]
    from sibkit.coding.codebook import load_codebook

    return load_codebook("relational-sib")


@pytest.mark.browser
def test_a_hit_shows_theme_and_kind_by_name_its_definition_and_recodes_to_a_codable_theme(coded_study,
                                                                                        browser) -> None:
    _, _, _, url = coded_study
    themes = {t.id: t for t in _codebook().themes}
    groups = {t.parent for t in themes.values() if t.parent}
    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 900})
        _open(page, url + "/review/queue?theme=capabilities", width)
        theme = themes[page.locator("#hit-card").get_attribute("data-theme")]
        assert page.locator("#hit-card .theme").inner_text() == theme.name  # not the slug
        assert page.locator("#hit-card .kind").inner_text() == "INDIGO record"  # not indigo_record
        definition = page.locator("#theme-definition")
        assert definition.is_visible()
        counts, not_counts = theme.definition.split("Does not count:")
        assert " ".join(counts.replace("Counts:", "").split()) in " ".join(definition.inner_text().split())
        assert "Does not count: " + " ".join(not_counts.split()) in " ".join(definition.inner_text().split())
        offered = page.locator("#recode-theme option").evaluate_all("options => options.map(o => o.value)")
        assert not set(offered) & groups and theme.id not in offered  # never a group, nor the hit's own theme
        chosen = page.input_value("#recode-theme")
        assert chosen in offered and themes[chosen].terms  # a theme one codes with
        page.close()


@pytest.mark.browser
def test_undo_keeps_the_queue_filter_and_says_what_was_undone(coded_study, browser) -> None:
    _, store, _, url = coded_study
    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 900})
        _open(page, url + "/review/queue?theme=capabilities&status=unreviewed", width)
        first = int(page.locator("#hit-card").get_attribute("data-reference"))
        with page.expect_navigation():
            page.keyboard.press("a")
        assert int(page.locator("#hit-card").get_attribute("data-reference")) != first
        with page.expect_navigation():
            page.keyboard.press("u")
        assert "theme=capabilities" in page.url and "status=unreviewed" in page.url  # the filter kept
        assert int(page.locator("#hit-card").get_attribute("data-reference")) == first
        said = page.locator("#undone").inner_text()
        assert f"Undone: your accept of reference {first}" in said and "no decision of yours" in said
        assert page.locator("#decisions").inner_text() == "No decision yet."
        page.close()
    from sibkit.coding.review import decision_log

    log = decision_log(store)
    assert list(log["decision"]) == ["accept", "clear"] * len(WIDTHS) and set(log["coder"]) == {"ann"}
