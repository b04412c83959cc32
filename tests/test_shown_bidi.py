"""Bidirectional controls (U+202E and the rest) in stored text are shown as U+FFFD on every page, one
code point for one, so no line reads in another order than it is stored and matched, and a span coded
after one still gets the offsets of the stored text."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from jinja2 import Environment
from markupsafe import Markup
from sqlalchemy import select

from sibkit.shown import visible_controls
from sibkit.store import Document, DocumentCase, Memo, Reference, open_store
from sibkit.web.server import BackgroundServer
from sibkit.workbench.routes import Workbench, standalone_app
from sibkit.workbench.sample import THEMES

OVERRIDE, POP, ISOLATE = "\u202e", "\u202c", "\u2067"
TEXT = (f"Interim review {OVERRIDE}gnikrow pihsrentrap{POP} noted. The commissioner held partnership working "
        f"sessions {ISOLATE}monthly\u2069 with the provider.")


def test_each_control_becomes_one_replacement_character_and_markup_stays_markup() -> None:
    assert visible_controls(TEXT) == TEXT.replace(OVERRIDE, "\ufffd").replace(POP, "\ufffd").replace(
        ISOLATE, "\ufffd").replace("\u2069", "\ufffd")
    assert len(visible_controls(TEXT)) == len(TEXT)
    assert all(visible_controls(chr(c)) == "\ufffd" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
    assert visible_controls("\u200f\u05e9\u05dc\u05d5\u05dd") == "\u200f\u05e9\u05dc\u05d5\u05dd"  # RLM, Hebrew
    marked = visible_controls(Markup(f"<mark>{OVERRIDE}x</mark>"))
    assert isinstance(marked, Markup) and str(marked) == "<mark>\ufffdx</mark>"
    assert visible_controls(3) == 3 and visible_controls(None) is None
    rendered = Environment(autoescape=True, finalize=visible_controls).from_string("{{ t }}").render(t=f"<{OVERRIDE}>")
    assert rendered == "&lt;\ufffd&gt;"


@pytest.mark.browser
def test_the_workbench_shows_no_control_and_codes_a_span_after_one_at_the_stored_offsets(browser,
                                                                                         tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    with store.session() as session:
        document = Document(sha256=hashlib.sha256(TEXT.encode()).hexdigest(), title=f"Review {OVERRIDE}lanif",
                            doc_type="evaluation", origin="sample", text=TEXT, pages=[0],
                            word_count=len(TEXT.split()), status="ok")
        document.cases.append(DocumentCase(case_id="SAMPLE-1"))
        session.add(document)
        session.flush()
        at = TEXT.index("partnership working")
        session.add(Reference(document_id=document.id, theme=THEMES[0][0], term="partnership working", start=at,
                              end=at + len("partnership working"), page=1, origin="auto", codebook_hash="sample"))
        session.add(Memo(target_kind="document", target_id=str(document.id), author="ann",
                         text=f"see {OVERRIDE}siht"))
        document_id = document.id
    with BackgroundServer(standalone_app(Workbench(store, list(THEMES), single_user="ann"))) as server:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(5000)
        for path in ("/review/queue", f"/review/documents/{document_id}"):
            page.goto(server.url + path)
            html = page.content()
            assert not any(control in html for control in (OVERRIDE, POP, ISOLATE, "\u2069")), path
            assert "\ufffd" in page.locator("main").inner_text(), path
        assert page.locator("#doctext").inner_text().count("\ufffd") == 4
        page.keyboard.press("f")
        page.keyboard.type("monthly")  # after two controls: the offsets are those of the stored text
        start = TEXT.index("monthly")
        assert page.input_value("#code-start") == str(start)
        assert page.input_value("#code-end") == str(start + len("monthly"))
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        page.keyboard.press(THEMES[0][1][0].lower())
        page.keyboard.press("Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.close()
    with store.session() as session:
        manual = session.scalars(select(Reference).where(Reference.origin == "manual")).one()
        assert TEXT[manual.start:manual.end] == "monthly"


def test_the_report_environment_shows_controls_as_replacement_characters() -> None:
    from sibkit.report.render import environment

    assert environment().from_string("{{ title }}").render(title=f"A {OVERRIDE}b") == "A \ufffdb"
