"""The review workbench in Debian's Chromium (Playwright): the keyboard, undo, coding a span, memos,
hostile text, a cross-site form, and a team of coders on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from sibkit.coding.review import decision_log
from sibkit.store import Document, Memo, Reference, open_store
from sibkit.testing import LocalServer, Response
from sibkit.web.server import BackgroundServer
from sibkit.workbench.auth import add_user
from sibkit.workbench.routes import Workbench, standalone_app
from sibkit.workbench.sample import THEMES, add_sample_corpus

PASSWORD = "correct horse battery"
pytestmark = pytest.mark.browser


class Watch:
    """Console errors (a CSP violation is one) and dialogs (a script that ran) of a page."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))


def _press(page, key: str) -> None:  # type: ignore[no-untyped-def]
    """Press a key that leads to another page, and wait for it."""
    with page.expect_navigation():
        page.keyboard.press(key)


def _hit(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.locator("#hit-card").get_attribute("data-reference"))


@pytest.fixture()
def single_user(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    ids = add_sample_corpus(store, documents=2, references_per_document=3, hostile=True)
    with BackgroundServer(standalone_app(Workbench(store, list(THEMES), single_user="ann"))) as server:
        yield store, ids, server.url


def test_review_with_the_keyboard_undo_code_a_span_and_write_a_memo(browser, single_user) -> None:
    store, ids, url = single_user
    page = browser.new_page(viewport={"width": 1366, "height": 768})  # a laptop screen
    watch = Watch(page)
    page.goto(url + "/review/queue")
    assert _hit(page) == ids[0]
    context = page.locator("#context").inner_text()
    assert '<script>alert("x")</script>' in context and '"onerror=alert(1)>' in context
    assert page.locator("#context mark").inner_text() == "partnership working"

    _press(page, "a")
    assert _hit(page) == ids[1] and page.locator("#progress").inner_text() == "1 of 6"
    _press(page, "r")
    assert _hit(page) == ids[2]
    page.keyboard.press("c")  # recode: focus the theme list, choose with a letter, send with Enter
    assert page.evaluate("document.activeElement.id") == "recode-theme"
    page.keyboard.press("p")  # ids[2] is coded "learning"; the list offers the other themes
    assert page.input_value("#recode-theme") == "partnership"
    _press(page, "Enter")
    assert _hit(page) == ids[3]
    _press(page, "u")  # undo the recode: reference 3 is back, undecided
    assert _hit(page) == ids[2] and page.locator("#decisions").inner_text() == "No decision yet."
    _press(page, "s")  # skip it
    assert _hit(page) == ids[3]

    _press(page, "o")  # the whole document, scrolled to the hit
    assert page.locator("#hit").inner_text() == "partnership working"
    assert page.locator("#hit").evaluate(
        "e => { const r = e.getBoundingClientRect(); const c = document.getElementById('doctext')"
        ".getBoundingClientRect(); return r.top >= c.top && r.bottom <= c.bottom; }")
    # select "commissioner held" (after an emoji: offsets are code points, not UTF-16 units) and code it
    page.evaluate("""() => {
        const walker = document.createTreeWalker(document.getElementById('doctext'), NodeFilter.SHOW_TEXT);
        let node;
        while ((node = walker.nextNode()) && !node.data.includes('commissioner held')) {}
        const at = node.data.indexOf('commissioner held');
        const range = document.createRange();
        range.setStart(node, at); range.setEnd(node, at + 'commissioner held'.length);
        const selection = window.getSelection(); selection.removeAllRanges(); selection.addRange(range);
        document.getElementById('doctext').dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
    }""")
    with store.session() as session:
        document_id = session.scalar(select(Reference.document_id).where(Reference.id == ids[3]))
        text = session.get(Document, document_id).text
    start = text.index("commissioner held")
    assert page.input_value("#code-start") == str(start)
    assert page.input_value("#code-end") == str(start + len("commissioner held"))
    page.select_option("#code-theme", "coproduction")
    with page.expect_navigation():
        page.click("#code-save")
    assert page.locator("#hit").inner_text() == "commissioner held"

    _press(page, "b")  # back to the hit, then a memo with the keyboard alone
    page.keyboard.press("m")
    page.keyboard.type("Check this <b>one</b> again")
    page.keyboard.press("Tab")
    _press(page, "Enter")
    assert "Check this <b>one</b> again" in page.locator("#memo-list").inner_text()
    assert watch.errors == [] and watch.dialogs == []
    page.close()

    with store.session() as session:
        manual = session.scalars(select(Reference).where(Reference.origin == "manual")).one()
        assert (manual.start, manual.end, manual.theme) == (start, start + len("commissioner held"), "coproduction")
        memo = session.scalars(select(Memo)).one()
        assert (memo.author, memo.target_kind, memo.text) == ("ann", "reference", "Check this <b>one</b> again")
    log = decision_log(store)
    assert list(zip(log["reference_id"], log["decision"], log["note"], strict=True)) == [
        (ids[0], "accept", ""), (ids[1], "reject", ""), (ids[2], "recode", ""), (ids[2], "clear", "undo"),
        (manual.id, "accept", "coded by hand")]


def test_a_phone_sees_the_whole_hit_card_and_its_theme_list(browser, single_user) -> None:
    _, _, url = single_user
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(url + "/review/queue")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
    card = page.locator("#hit-card").bounding_box()
    select = page.locator("#recode-theme").bounding_box()
    assert select["x"] + select["width"] <= card["x"] + card["width"]  # the list stays inside the card
    assert select["width"] >= 0.5 * card["width"]  # and is wide enough to read a theme's name
    page.close()


def test_a_laptop_sees_the_queue_filters_on_one_line(browser, single_user) -> None:
    _, _, url = single_user
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(url + "/review/queue")
    bottoms = page.evaluate(
        "[...document.querySelectorAll('form.filters > label, form.filters > button')]"
        ".map(e => Math.round(e.getBoundingClientRect().bottom))")
    assert len(bottoms) >= 5 and max(bottoms) - min(bottoms) <= 2  # one row, not wrapped to a second
    page.close()


def test_each_audit_box_sits_beside_its_theme_at_1440_and_390(browser, single_user) -> None:
    from sibkit.audit import draw_sample

    store, _, url = single_user
    draw_sample(store, 5, seed=1)
    for width in (1440, 390):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(url + "/review/audit")
        rows = page.evaluate(
            "[...document.querySelectorAll('.audit-theme')].map(l => [l.querySelector('input').getBoundingClientRect(),"
            " l.querySelector('span:last-child').getBoundingClientRect()].map(r => [r.left, r.top, r.bottom]))")
        assert len(rows) == len(THEMES)
        for (box_left, box_top, box_bottom), (name_left, name_top, _) in rows:
            assert name_left > box_left and box_top < name_top + 20 and name_top < box_bottom  # same line, right of it
        starts = {round(name[0]) for _, name in rows}
        assert len(starts) <= 3 if width == 1440 else len(starts) == 1  # names in columns, keyed or not
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.close()


def test_a_form_on_another_site_cannot_decide(browser, single_user) -> None:
    store, ids, url = single_user
    page = browser.new_page()
    token = page.goto(url + "/review/queue") and page.locator('input[name="csrf"]').first.input_value()
    # even with the token (as if it had leaked), a form posted from another site is refused
    attack = (f'<form id="f" method="post" action="{url}/review/decide"><input name="csrf" value="{token}">'
              f'<input name="reference_id" value="{ids[0]}"><input name="decision" value="reject"></form>'
              '<script>document.getElementById("f").submit()</script>').encode()
    with LocalServer({"/": Response(200, attack, "text/html")}) as evil:
        page.goto(evil.url.replace("127.0.0.1", "localhost") + "/")
        page.wait_for_url(url + "/review/decide")
        assert "another site was refused" in page.locator("#message").inner_text()
    page.close()
    assert decision_log(store).empty


def _sign_in(browser, url: str, name: str):  # type: ignore[no-untyped-def]
    context = browser.new_context()
    page = context.new_page()
    page.goto(url + "/review/queue")
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(url + "/review")
    return context, page


@pytest.mark.postgres
def test_two_coders_at_once_on_postgresql_a_viewer_and_a_blind_round(browser, postgres) -> None:
    store = open_store(postgres.new_database())
    ids = add_sample_corpus(store, documents=1, references_per_document=3)
    for name, role in (("lead", "admin"), ("ann", "coder"), ("bob", "coder"), ("vic", "viewer")):
        add_user(store, name, PASSWORD, role)
    with BackgroundServer(standalone_app(Workbench(store, list(THEMES)))) as server:
        url = server.url
        lead, lead_page = _sign_in(browser, url, "lead")
        lead_page.goto(url + "/review/admin")
        with lead_page.expect_navigation():
            lead_page.click("#blind-toggle")
        assert "blind round is in progress" in lead_page.locator("#blind-state").inner_text()

        (ann, ann_page), (bob, bob_page) = _sign_in(browser, url, "ann"), _sign_in(browser, url, "bob")
        ann_page.goto(url + "/review/queue")
        bob_page.goto(url + "/review/queue")
        assert _hit(ann_page) == _hit(bob_page) == ids[0]  # both read the same hit, then decide at once
        with ann_page.expect_navigation(), bob_page.expect_navigation():
            ann_page.keyboard.press("a")
            bob_page.keyboard.press("r")
        bob_page.goto(f"{url}/review/queue?status=all&ref={ids[0]}")
        assert bob_page.locator("#decisions").inner_text() == "bob: reject"  # blind: not ann's accept

        vic, vic_page = _sign_in(browser, url, "vic")
        vic_page.goto(url + "/review/queue")
        assert vic_page.locator("#accept").count() == 0
        vic_page.keyboard.press("a")  # no accept for a viewer; a forged POST is refused too
        status = vic_page.evaluate("""async (ref) => {
            const form = new URLSearchParams({reference_id: ref, decision: 'accept', csrf: ''});
            return (await fetch('/review/decide', {method: 'POST', body: form})).status; }""", ids[0])
        assert status == 403

        lead_page.goto(url + "/review/admin")
        with lead_page.expect_navigation():
            lead_page.click("#blind-toggle")  # close the round
        bob_page.reload()
        assert bob_page.locator("#decisions").inner_text() == "ann: accept bob: reject"
        lead_page.goto(url + "/review/admin")
        assert lead_page.locator("#agreement").count() == 1
        for context in (lead, ann, bob, vic):
            context.close()
    log = decision_log(store)
    assert sorted(zip(log["coder"], log["decision"], strict=True)) == [("ann", "accept"), ("bob", "reject")]
    store.close()


# -- a coder's walk with the keyboard alone (findings of the web walk) ---------------------------------


def test_a_decision_is_confirmed_and_a_memo_keeps_the_queue_filtered(browser, single_user) -> None:
    _, ids, url = single_user
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(5000)
    page.goto(url + "/review/queue?theme=partnership")  # ids[0] and ids[3] are coded "partnership"
    assert _hit(page) == ids[0] and page.locator("#decided").count() == 0
    _press(page, "a")
    assert _hit(page) == ids[3]
    assert page.locator("#decided").inner_text() == (
        f"Saved: your accept of reference {ids[0]} (Partnership). u undoes it.")
    assert page.locator("#decided").get_attribute("role") == "status"
    page.keyboard.press("m")
    page.keyboard.type("Ask the evaluator")
    page.keyboard.press("Tab")
    _press(page, "Enter")
    assert _hit(page) == ids[3]  # the same hit, in the same queue
    assert "theme=partnership" in page.url and "status=unreviewed" in page.url
    assert "Ask the evaluator" in page.locator("#memo-list").inner_text()
    _press(page, "s")  # and the queue goes on as filtered: nothing else of the theme is left
    assert page.locator("#empty").count() == 1
    page.close()


def test_the_audit_with_the_keyboard_ticks_saves_and_keeps_the_sentence_when_nothing_is_ticked(
        browser, single_user) -> None:
    from sibkit.audit import draw_sample
    from sibkit.audit.sample import standing_marks

    store, _, url = single_user
    draw_sample(store, 3, seed=1)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(5000)
    page.goto(url + "/review/audit")
    first = int(page.locator("#audit-card").get_attribute("data-sentence"))
    page.keyboard.press("1")
    page.keyboard.press("Space")
    page.keyboard.press("2")  # a number key goes to the next box even while a box has focus
    page.keyboard.press("Space")
    _press(page, "k")  # and k saves right away
    assert page.locator("#progress").inner_text() == "1 of 3"
    assert standing_marks(store)[first] == {"ann": ["coproduction", "partnership"]}  # themes 1 and 2
    second = int(page.locator("#audit-card").get_attribute("data-sentence"))
    _press(page, "k")  # nothing ticked: the same sentence again, saying what to do
    assert int(page.locator("#audit-card").get_attribute("data-sentence")) == second
    assert "Tick the themes the sentence expresses" in page.locator("#audit-problem").inner_text()
    assert page.locator("#audit-problem").get_attribute("role") == "alert"
    page.close()


def test_a_span_is_coded_with_the_keyboard_and_every_page_has_a_skip_link(browser, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    ids = add_sample_corpus(store, documents=2, references_per_document=3, hostile=True)
    bench = Workbench(store, list(THEMES), single_user="ann", case_names={"SAMPLE-1": "Sample & Co's bond"})
    with BackgroundServer(standalone_app(bench)) as server:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(5000)
        page.goto(server.url + "/review")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.innerText") == "Skip to content"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.tagName") == "MAIN"
        cases = page.locator("#by-case tbody th").all_inner_texts()
        assert cases == ["Sample & Co's bond SAMPLE-1", "SAMPLE-2"]  # named where the study knows the name
        assert page.locator("progress").first.get_attribute("aria-label") == "Co-production: 0 of 2 decided by you"

        page.goto(server.url + f"/review/documents/1?ref={ids[0]}")
        page.keyboard.press("f")  # type words of the document instead of selecting them with a mouse
        assert page.evaluate("document.activeElement.id") == "code-find"
        page.keyboard.type("commissioner held")
        with store.session() as session:
            text = session.get(Document, 1).text
        start = text.index("commissioner held", text.index("partnership working"))
        assert page.input_value("#code-start") == str(start)
        assert page.input_value("#code-end") == str(start + len("commissioner held"))
        assert page.locator("#code-preview").inner_text() == "“commissioner held”"
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")  # From, to, then the theme
        assert page.evaluate("document.activeElement.id") == "code-theme"
        page.keyboard.press("c")
        page.keyboard.press("Tab")
        _press(page, "Enter")
        assert page.locator("#hit").inner_text() == "commissioner held"
        page.keyboard.press("f")
        page.keyboard.type("words nowhere in it")
        assert page.input_value("#code-start") == "" and "not in this document" in page.locator(
            "#code-preview").inner_text()
        page.close()
    with store.session() as session:
        manual = session.scalars(select(Reference).where(Reference.origin == "manual")).one()
        assert (manual.start, manual.end, manual.theme) == (start, start + len("commissioner held"), "coproduction")


def test_the_audit_estimates_name_their_themes_warn_on_few_reviews_and_fit_a_phone(browser, single_user) -> None:
    from sibkit.audit import draw_sample
    from sibkit.audit.sample import mark, sampled_sentences
    from sibkit.workbench import hits

    store, ids, url = single_user
    draw_sample(store, 3, seed=1)
    theme_ids = {theme for theme, _ in THEMES}
    with store.session() as session:
        hits.decide(session, "ann", ids[0], "accept", None, theme_ids)  # one partnership hit reviewed
        mark(session, "ann", int(sampled_sentences(store)[0]["sentence_id"]), ["partnership"], theme_ids)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(5000)
    page.goto(url + "/review/audit/results")
    rows = page.locator("#audit-estimates tbody tr")
    names = [rows.nth(i).locator("th").inner_text() for i in range(rows.count())]
    assert sorted(names) == sorted(name for _, name in THEMES)  # names, not ids
    partnership = rows.nth(names.index("Partnership"))
    assert partnership.locator("td[data-label='Precision']").inner_text() == "1.00 (1 reviewed: too few to say)"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    rights = page.evaluate("[...document.querySelectorAll('#audit-estimates td')]"
                           ".map(c => c.getBoundingClientRect().right)")
    assert rights and max(rights) <= 390  # every figure on the screen, none hidden in a scrolled box
    page.close()
