"""The review workbench over HTTP against a real server and SQLite file: the decision log, undo, CSRF,
accounts, the login limit, blind rounds, and the study's reading of decisions shared with the XLSX loop."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from typer.testing import CliRunner

from sibkit.cli import app
from sibkit.coding import references
from sibkit.coding.review import decision_log, export_rows, import_decisions, write_review_file
from sibkit.errors import SibkitError
from sibkit.store import Memo, open_store
from sibkit.testing import run_cli
from sibkit.web.server import BackgroundServer
from sibkit.workbench.auth import add_user, hash_password, verify_password
from sibkit.workbench.routes import Forbidden, Workbench, standalone_app
from sibkit.workbench.sample import THEMES, add_sample_corpus
from sibkit.workbench.serving import check_binding

PASSWORD = "correct horse battery"


@pytest.fixture()
def store(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    add_sample_corpus(store, documents=2, references_per_document=3, hostile=True)
    return store


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _hit(html: str) -> int:
    return int(re.search(r'data-reference="(\d+)"', html).group(1))  # type: ignore[union-attr]


def test_single_user_decisions_are_appended_and_undo_appends_too(store) -> None:
    bench = Workbench(store, list(THEMES), title="Sample", single_user="ann")
    with BackgroundServer(standalone_app(bench)) as server, httpx.Client(base_url=server.url) as client:
        page = client.get("/review/queue?theme=partnership")
        assert page.status_code == 200 and "0 of 2" in page.text
        first = _hit(page.text)
        # the hostile text around the first hit is text, never markup
        assert '&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;' in page.text and "<script>alert" not in page.text
        token = _csrf(page.text)
        answer = client.post("/review/decide", data={"csrf": token, "reference_id": first, "decision": "accept",
                                                     "next": "/review/queue?theme=partnership"})
        assert answer.status_code == 303
        page = client.get(answer.headers["location"])
        second = _hit(page.text)
        assert second != first and "1 of 2" in page.text
        client.post("/review/decide", data={"csrf": token, "reference_id": first, "decision": "coproduction"})
        client.post("/review/undo", data={"csrf": token})  # withdraws the recode: accept stands again
        client.post("/review/undo", data={"csrf": token})  # withdraws the accept: nothing stands
        assert client.post("/review/decide", data={"csrf": token, "reference_id": first,
                                                   "decision": "accept", "next": "https://evil.example/"}
                           ).headers["location"] == "/review"  # never redirected off the workbench
    log = decision_log(store)
    assert list(zip(log["decision"], log["new_theme"].fillna(""), log["note"], strict=True)) == [
        ("accept", "", ""), ("recode", "coproduction", ""), ("accept", "", "undo"), ("clear", "", "undo"),
        ("accept", "", "")]
    ids = list(log["id"])
    # each decision names the coder's decision it follows; an undo names the decision it withdraws
    assert [None if pd.isna(v) else v for v in log["previous_id"]] == [None, ids[0], ids[1], ids[0], ids[3]]
    assert set(log["coder"]) == {"ann"}


def test_the_web_and_the_xlsx_loop_share_one_reading(store, tmp_path: Path) -> None:
    bench = Workbench(store, list(THEMES), single_user="ann")
    first, second = add_sample_corpus(store, documents=1, references_per_document=2)
    with BackgroundServer(standalone_app(bench)) as server, httpx.Client(base_url=server.url) as client:
        token = _csrf(client.get("/review/queue").text)
        client.post("/review/decide", data={"csrf": token, "reference_id": first, "decision": "reject"})
        client.post("/review/decide", data={"csrf": token, "reference_id": second, "decision": "accept"})
        client.post("/review/undo", data={"csrf": token})
    review = tmp_path / "bob.csv"
    rows = export_rows(store, include_reviewed=True)  # bob decides on a review file as `sibkit review export` writes it
    rows = rows[rows["id"] == first].assign(decision="accept")
    write_review_file(rows, review)
    result = import_decisions(store, review, "bob", {t for t, _ in THEMES})
    assert (result.decisions, result.problems) == (1, [])
    table = references(store).set_index("reference_id")
    # first: ann rejects (web), bob accepts (XLSX): a tie counts as rejected; second: ann withdrew (undo)
    assert table.loc[first, "reviewed"] and pd.isna(table.loc[first, "counts_for"])
    assert not table.loc[second, "reviewed"]


def test_cross_site_and_tokenless_posts_are_refused(store) -> None:
    bench = Workbench(store, list(THEMES), single_user="ann")
    with BackgroundServer(standalone_app(bench)) as server, httpx.Client(base_url=server.url) as client:
        token = _csrf(client.get("/review/queue").text)
        form = {"csrf": token, "reference_id": 1, "decision": "accept"}
        refused = [client.post("/review/decide", data=form, headers={"Origin": "http://localhost:9"}),
                   client.post("/review/decide", data=form, headers={"Sec-Fetch-Site": "cross-site"}),
                   client.post("/review/decide", data=form, headers={"Sec-Fetch-Site": "same-site"}),
                   client.post("/review/decide", data={**form, "csrf": "guess"}),
                   client.post("/review/decide", data={k: v for k, v in form.items() if k != "csrf"})]
        assert [r.status_code for r in refused] == [403] * 5
        assert "another site" in refused[0].text and "CSRF" in refused[3].text
        same_origin = client.post("/review/decide", data=form, headers={"Origin": "null",
                                                                        "Sec-Fetch-Site": "same-origin"})
        assert same_origin.status_code == 303
        assert client.post("/", data={}).status_code == 405  # outside /review the app stays read-only
    assert len(decision_log(store)) == 1


def test_single_user_mode_answers_this_machine_only(store, tmp_path: Path) -> None:
    bench = Workbench(store, list(THEMES), single_user="ann")
    far = Request({"type": "http", "method": "GET", "path": "/review", "headers": [], "client": ("192.0.2.7", 5000)})
    with pytest.raises(Forbidden, match="this machine only"):
        bench.actor(far)
    near = Request({"type": "http", "method": "GET", "path": "/review", "headers": [], "client": ("127.0.0.1", 5)})
    assert bench.actor(near).name == "ann"

    study = tmp_path / "s.yaml"
    study.write_text(f"title: t\ndata: {tmp_path}\ncorpus:\n  database: sqlite:///{tmp_path / 'study.sqlite'}\n",
                     encoding="utf-8")
    from sibkit.study import load_study

    with pytest.raises(SibkitError, match="no accounts"):
        check_binding(load_study(study), "0.0.0.0")
    check_binding(load_study(study), "127.0.0.1")
    refused = run_cli("serve", str(study), "--host", "0.0.0.0")  # refused before anything listens
    assert refused.returncode == 2 and "has no accounts, so it serves this machine only" in refused.stderr
    ran = CliRunner().invoke(app, ["users", "add", str(study), "admin1", "--role", "admin", "--password-stdin"],
                             input=PASSWORD + "\n")
    assert ran.exit_code == 0, ran.output
    check_binding(load_study(study), "0.0.0.0")  # accounts exist: everybody signs in
    listed = run_cli("users", "list", str(study))
    assert "admin1" in listed.stdout and "admin" in listed.stdout
    assert run_cli("users", "disable", str(study), "admin1").returncode == 0
    with pytest.raises(SibkitError, match=r"every account of the review workbench is disabled \(1 account\)"):
        check_binding(load_study(study), "0.0.0.0")


def test_passwords_are_scrypt_hashed_with_a_salt() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("scrypt$16384$8$1$") and first != second and PASSWORD not in first
    assert verify_password(PASSWORD, first) and not verify_password(PASSWORD + "x", first)
    assert not verify_password(PASSWORD, "md5$whatever")


def _login(client: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    token = _csrf(client.get("/review/login").text)
    return client.post("/review/login", data={"csrf": token, "name": name, "password": password})


def test_team_mode_roles_login_limit_and_blind_rounds(store) -> None:
    for name, role in (("lead", "admin"), ("ann", "coder"), ("bob", "coder"), ("vic", "viewer")):
        add_user(store, name, PASSWORD, role)
    with pytest.raises(SibkitError, match="at least 10"):
        add_user(store, "short", "abc", "coder")
    bench = Workbench(store, list(THEMES))
    with BackgroundServer(standalone_app(bench)) as server:
        url = server.url
        anonymous = httpx.Client(base_url=url)
        assert anonymous.get("/review/queue").headers["location"] == "/review/login"
        assert anonymous.post("/review/decide", data={"reference_id": 1, "decision": "accept"}).status_code == 401

        ann, bob, vic, lead = (httpx.Client(base_url=url) for _ in range(4))
        assert _login(ann, "ann").status_code == 303
        assert _login(bob, "bob").status_code == 303 and _login(vic, "vic").status_code == 303
        assert _login(lead, "lead").status_code == 303
        assert "sibkit_session" in ann.cookies

        viewer_page = vic.get("/review/queue")
        assert 'id="accept"' not in viewer_page.text
        refused = vic.post("/review/decide", data={"csrf": _csrf(viewer_page.text), "reference_id": 1,
                                                   "decision": "accept"})
        assert refused.status_code == 403 and "viewer" in refused.text

        lead_page = lead.get("/review/admin")
        lead.post("/review/admin/blind", data={"csrf": _csrf(lead_page.text), "blind": "on"})
        ann_page = ann.get("/review/queue")
        hit = _hit(ann_page.text)
        ann.post("/review/decide", data={"csrf": _csrf(ann_page.text), "reference_id": hit, "decision": "reject"})
        bob_page = bob.get(f"/review/queue?ref={hit}")
        assert "ann: reject" not in bob_page.text and "No decision yet." in bob_page.text
        assert bob.get("/review/queue?coder=ann").status_code == 403
        assert bob.get("/review/admin").status_code == 403
        assert "ann: reject" in lead.get(f"/review/queue?ref={hit}").text  # admins see everything
        lead.post("/review/admin/blind", data={"csrf": _csrf(lead.get("/review/admin").text), "blind": "off"})
        assert "ann: reject" in bob.get(f"/review/queue?ref={hit}").text  # the round is closed

        ann_page = ann.get(f"/review/queue?ref={hit}")
        ann.post("/review/memo", data={"csrf": _csrf(ann_page.text), "target_kind": "reference",
                                       "target_id": str(hit), "text": "Close <b>reading</b> needed"})
        assert "Close &lt;b&gt;reading&lt;/b&gt; needed" in bob.get(f"/review/queue?ref={hit}").text

        intruder = httpx.Client(base_url=url)
        answers = [_login(intruder, "ann", "wrong password").status_code for _ in range(6)]
        assert answers == [401] * 5 + [429]
        assert _login(intruder, "ann").status_code == 429  # even the right password waits now
        for client in (anonymous, ann, bob, vic, lead, intruder):
            client.close()
    with store.session() as session:
        assert session.query(Memo).one().author == "ann"
    assert list(decision_log(store)["coder"]) == ["ann"]


def test_sibkit_serve_mounts_the_workbench_beside_the_dashboard(tmp_path: Path, indigo_dir: Path, dataset) -> None:
    from sibkit.study import load_study
    from sibkit.web import create_app

    path = tmp_path / "study.yaml"
    path.write_text(f"title: Sample\ndata: {indigo_dir}\n", encoding="utf-8")
    study = load_study(path)
    study._dataset = dataset
    store = open_store(study.database_url())
    first, *_ = add_sample_corpus(store, documents=1, references_per_document=2)
    with BackgroundServer(create_app(dataset, study, coder="ann")) as server, \
            httpx.Client(base_url=server.url) as client:
        assert 'href="/review"' in client.get("/").text
        page = client.get("/review/queue")
        assert page.status_code == 200 and _hit(page.text) == first
        answer = client.post("/review/decide", data={"csrf": _csrf(page.text), "reference_id": first,
                                                     "decision": "accept", "next": "/review/queue"})
        assert answer.status_code == 303  # the page cache lets the workbench write, and does not cache it
        assert _hit(client.get("/review/queue").text) != first
        assert client.get("/review/queue").headers["content-security-policy"].startswith("default-src 'self'")
        assert client.post("/projects", data={}).status_code == 405  # the rest stays read-only
        missing = client.get("/review/documents/999999")  # an id the study has no document for: 404, and the
        assert missing.status_code == 404  # way back leads to the queue, not to the dashboard
        assert "<h1>Not found</h1>" in missing.text and "no document 999999 in this study" in missing.text
        assert '<a href="/review/queue">Back to the review queue</a>' in missing.text
        assert "Back to the dashboard" not in missing.text
        bad = client.get("/review/queue?status=nonsense")
        assert bad.status_code == 400 and "Back to the review queue" in bad.text
        assert "Back to the dashboard" in client.get("/projects/INDIGO-POJ-NOPE").text
    assert list(decision_log(store)["coder"]) == ["ann"]


@pytest.fixture(scope="module")
def context_store(tmp_path_factory):
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('context') / 'c.sqlite'}")
    yield store
    store.close()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(["Word", " ", ". ", "\n", "\n\n", "? ", "é", "\U0001F642", "<b>"]), min_size=1,
                max_size=60), st.data())
def test_a_hit_in_context_and_a_document_cut_keep_every_character(context_store, parts, data) -> None:
    import hashlib
    import uuid

    from sibkit.store import Document, Reference
    from sibkit.workbench import hits

    text = "".join(parts)
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    store = context_store
    with store.session() as session:
        document = Document(sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(), text=text)
        session.add(document)
        session.flush()
        document_id = document.id
        reference = Reference(document_id=document.id, theme="t", start=start, end=end)
        other = Reference(document_id=document.id, theme="u", start=0, end=max(1, start))
        session.add_all([reference, other])
        session.flush()
        reference_id = reference.id
    hit = hits.hit_in_context(store, reference_id)
    assert hit is not None and hit.text == text[start:end]
    around = hit.paragraph_before + hit.sentence_before + hit.text + hit.sentence_after + hit.paragraph_after
    assert text[start - len(hit.paragraph_before + hit.sentence_before):].startswith(around)
    assert "\n\n" not in hit.paragraph_before + hit.sentence_before and "\n\n" not in hit.sentence_after
    _, segments = hits.document_segments(store, document_id, reference_id)
    assert "".join(s["text"] for s in segments) == text
    anchor = next(i for i, s in enumerate(segments) if s["anchor"])
    assert sum(len(s["text"]) for s in segments[:anchor]) == start
    assert "".join(s["text"] for s in segments if s["focus"]) == text[start:end]


def test_the_queue_puts_suggestions_after_keyword_hits_best_first(store) -> None:
    from sibkit.store import Reference, Suggestion
    from sibkit.workbench import hits

    with store.session() as session:
        document_id = session.scalars(select_first_document()).first()
        # three suggestions: learned score 0.2; none learned (similarity 0.7); learned score 0.9
        added = []
        for number, (similarity, learned) in enumerate(((0.65, 0.2), (0.7, None), (0.64, 0.9))):
            reference = Reference(document_id=document_id, theme=THEMES[0][0], term="", start=10 * number,
                                  end=10 * number + 5, origin="semantic")
            session.add(reference)
            session.flush()
            session.add(Suggestion(reference_id=reference.id, model="stand-in", score=similarity,
                                   rank_score=learned, paragraph_start=0, paragraph_end=5))
            added.append(reference.id)
        keyword = sorted(session.scalars(select_ids().where(Reference.origin != "semantic")))
    filters = hits.Filters(status="all")
    order, after = [], 0
    while (following := hits.next_reference(store, filters, after)) is not None:
        order.append(following)
        after = following
    # keyword hits by id, then the suggestions by learned score where there is one, else similarity:
    # 0.9 (the third), 0.7 (the second), 0.2 (the first)
    assert order == [*keyword, added[2], added[1], added[0]]


def select_first_document():
    from sqlalchemy import select

    from sibkit.store import Document

    return select(Document.id).order_by(Document.id)


def select_ids():
    from sqlalchemy import select

    from sibkit.store import Reference

    return select(Reference.id)


def test_a_term_with_operators_is_put_in_words_for_the_coder(store) -> None:
    from sqlalchemy import update

    from sibkit.coding.codebook import term_in_words
    from sibkit.store import Reference

    assert term_in_words("{embedded,sat,located} PRE/5 {team,teams}") == (
        "embedded/sat/located, then team/teams within 5 words")
    assert term_in_words("co-produc* NEAR/1 service user{,s}") == "co-produc… within 1 word of service user/users"
    assert term_in_words("alter{,s,ed}") == "alter/alters/altered" and term_in_words("pivot*") == "pivot…"
    assert term_in_words("partnership working") == "partnership working"
    first, second, *_ = add_sample_corpus(store, documents=1, references_per_document=2)
    with store.session(write=True) as session:
        session.execute(update(Reference).where(Reference.id == second).values(term="joint{,ly} NEAR/4 work*"))
    bench = Workbench(store, list(THEMES), single_user="ann")
    with BackgroundServer(standalone_app(bench)) as server, httpx.Client(base_url=server.url) as client:
        plain = client.get("/review/queue", params={"ref": first}).text
        assert 'id="term-words"' not in plain  # a plain phrase is its own reading
        page = client.get("/review/queue", params={"ref": second}).text
        assert ('<p class="source" id="term-words">The term, in words: joint/jointly within 4 words of work… '
                "(… stands for any ending)</p>") in page
