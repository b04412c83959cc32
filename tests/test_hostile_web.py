"""The web app and the review workbench under attack, against a real server on SQLite and on PostgreSQL:
DNS rebinding (Host names), HEAD, team-mode study pages, the sign-in limits, blind memos, odd ids and
text, retried decisions and memos on nothing."""

from __future__ import annotations

import hashlib
import re
import sys
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from sibkit.coding.review import decision_log
from sibkit.store import Memo, open_store
from sibkit.web.server import BackgroundServer
from sibkit.workbench import auth
from sibkit.workbench.auth import add_user
from sibkit.workbench.routes import Workbench, standalone_app
from sibkit.workbench.sample import THEMES, add_sample_corpus

PASSWORD = "correct horse battery"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("postgres").new_database()
    return f"sqlite:///{tmp_path / 'study.sqlite'}"


@pytest.fixture()
def store(url: str):
    store = open_store(url)
    add_sample_corpus(store, documents=2, references_per_document=3)
    yield store
    store.close()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


def _hit(html: str) -> int:
    return int(re.search(r'data-reference="(\d+)"', html).group(1))  # type: ignore[union-attr]


def _login(client: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    token = _csrf(client.get("/review/login").text)
    return client.post("/review/login", data={"csrf": token, "name": name, "password": password})


def _from(address: str, base_url: str, **kwargs) -> httpx.Client:
    """A client whose connections leave from ``address`` (another loopback address: another machine)."""
    return httpx.Client(base_url=base_url, transport=httpx.HTTPTransport(local_address=address), **kwargs)


# -- 1. DNS rebinding: only the names the server was started for ---------------------------------------


def test_a_page_reached_by_another_host_name_is_refused(store) -> None:
    bench = Workbench(store, list(THEMES), single_user="ann")
    with BackgroundServer(standalone_app(bench)) as server, httpx.Client(base_url=server.url) as client:
        token = _csrf(client.get("/review/queue").text)
        evil = {"Host": f"evil.example:{server.port}", "Origin": f"http://evil.example:{server.port}",
                "Sec-Fetch-Site": "same-origin"}
        page = client.get("/review/queue", headers=evil)
        assert page.status_code == 421 and "evil.example" in page.text and token not in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert page.headers["x-frame-options"] == "DENY"
        refused = [client.post("/review/decide", headers=evil, data={"csrf": token, "reference_id": 1,
                                                                     "decision": "accept"}),
                   client.post("/review/memo", headers=evil, data={"csrf": token, "target_kind": "reference",
                                                                   "target_id": "1", "text": "planted"})]
        assert [r.status_code for r in refused] == [421, 421]
        scripted = client.get("/review/queue", headers={"Host": "<script>x"})
        assert scripted.status_code == 421 and "<script>x" not in scripted.text and "&lt;script&gt;x" in scripted.text
        for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", "127.0.0.1", "localhost"):
            assert client.get("/review/queue", headers={"Host": host}).status_code == 200, host
        assert client.get("/review/queue", headers={"Host": ""}).status_code == 400
    assert decision_log(store).empty
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Memo)) == 0


def test_the_dashboard_checks_the_host_and_a_named_host_is_let_in(dataset) -> None:
    from sibkit.web import create_app

    with BackgroundServer(create_app(dataset, allowed_hosts=["review.example.org"])) as server, \
            httpx.Client(base_url=server.url) as client:
        assert client.get("/", headers={"Host": "evil.example"}).status_code == 421
        assert client.get("/api/stats", headers={"Host": "evil.example"}).status_code == 421
        assert client.get("/", headers={"Host": "review.example.org"}).status_code == 200
        assert client.get("/").status_code == 200


def test_the_allowed_names_follow_the_address_served() -> None:
    from sibkit.web.guard import allowed_hosts, host_allowed

    local = allowed_hosts("127.0.0.1")
    assert all(host_allowed(h, local) for h in ("localhost", "127.0.0.1", "127.0.0.2", "[::1]", "LOCALHOST."))
    assert not any(host_allowed(h, local) for h in ("evil.example", "127.0.0.1.evil.example", "localhost.evil",
                                                   "10.0.0.5", ""))
    named = allowed_hosts("review.lan", ["sibkit.example.org"])
    assert host_allowed("review.lan", named) and host_allowed("sibkit.example.org", named)
    everywhere = allowed_hosts("0.0.0.0")  # any address of this machine: reached by its addresses
    assert host_allowed("192.0.2.10", everywhere) and not host_allowed("evil.example", everywhere)


def test_serving_every_address_asks_no_name_server(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from sibkit.web.guard import allowed_hosts, host_allowed

    asked: list[str] = []

    def lookup(*args: object) -> object:  # getfqdn() asks the resolver, which may send a DNS query
        asked.append(repr(args))
        raise OSError("no lookups")

    for name in ("getfqdn", "gethostbyaddr", "gethostbyname", "gethostbyname_ex", "getaddrinfo"):
        monkeypatch.setattr(socket, name, lookup)
    monkeypatch.setattr(socket, "gethostname", lambda: "review-box")
    everywhere = allowed_hosts("0.0.0.0")
    assert asked == [] and host_allowed("review-box", everywhere)  # the machine's own name, from no server


# -- 12. HEAD like GET, 405 with Allow ----------------------------------------------------------------


def test_head_is_answered_like_get_and_405_says_what_is_allowed(store, dataset) -> None:
    from sibkit.web import create_app

    with BackgroundServer(create_app(dataset)) as server, httpx.Client(base_url=server.url) as client:
        head = client.head("/projects")  # before any GET has cached it
        assert head.status_code == 200 and head.content == b""
        get = client.get("/projects")
        assert head.headers["content-type"] == get.headers["content-type"]
        # the same body length as GET's answer, as sent (gzipped: httpx asks for gzip)
        assert head.headers.get("content-encoding") == get.headers.get("content-encoding")
        assert int(head.headers["content-length"]) == int(get.headers["content-length"])
        posted = client.post("/projects", data={})
        assert posted.status_code == 405 and posted.headers["allow"] == "GET, HEAD"
    bench = Workbench(store, list(THEMES), single_user="ann")
    with BackgroundServer(standalone_app(bench)) as server, httpx.Client(base_url=server.url) as client:
        assert client.head("/review/queue").status_code == 200
        wrong = client.get("/review/decide")
        assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"


# -- 6. team mode: the study's pages need a session, no page shows a server path ----------------------


STUDY = "title: Team study\ndata: {data}\ncorpus:\n  database: {database}\n"


def test_team_mode_study_pages_need_a_session(url: str, tmp_path: Path, indigo_dir: Path, dataset) -> None:
    from sibkit.store.models import Document, DocumentCase
    from sibkit.study import load_study
    from sibkit.web import create_app

    path = tmp_path / "team.yaml"
    path.write_text(STUDY.format(data=indigo_dir, database=url), encoding="utf-8")
    study = load_study(path)
    study._dataset = dataset
    store = open_store(study.database_url())
    secret_path = str(tmp_path / "corpus" / "INDIGO-POJ-0110" / "final-report.pdf")
    with store.session() as session:
        document = Document(sha256=hashlib.sha256(b"final").hexdigest(), title="Final report", doc_type="evaluation",
                            origin=secret_path, word_count=10, status="ok", text="Partnership working.")
        document.cases.append(DocumentCase(case_id="INDIGO-POJ-0110"))
        session.add(document)
    with BackgroundServer(create_app(dataset, study)) as server, httpx.Client(base_url=server.url) as anonymous:
        single = anonymous.get("/api/study")  # no accounts yet: this machine's single user
        assert single.status_code == 200 and single.json()["documents"][0]["origin"] == "final-report.pdf"
        add_user(store, "lead", PASSWORD, "admin")
        for path_ in ("/study", "/api/study", "/download/study/documents.csv", "/download/study/cases.csv"):
            answer = anonymous.get(path_, follow_redirects=False)
            assert answer.status_code in (303, 401), (path_, answer.status_code)
            assert "Final report" not in answer.text and secret_path not in answer.text
        assert "Study class" not in anonymous.get("/projects/INDIGO-POJ-0110").text
        assert _login(anonymous, "lead").status_code == 303
        for path_ in ("/study", "/api/study", "/download/study/documents.csv"):
            answer = anonymous.get(path_)
            assert answer.status_code == 200 and "Final report" in answer.text, path_
            assert str(tmp_path) not in answer.text, path_
    store.close()


# -- 7. sign-in: concurrent guesses, forwarded addresses, never locking the owner out, equal work ---------


@pytest.fixture()
def team(store):
    for name, role in (("lead", "admin"), ("ann", "coder"), ("bob", "coder")):
        add_user(store, name, PASSWORD, role)
    return store


def test_30_concurrent_wrong_passwords_for_one_name_are_5_evaluated(team) -> None:
    bench = Workbench(team, list(THEMES))
    with BackgroundServer(standalone_app(bench)) as server:
        with httpx.Client(base_url=server.url) as client:
            token = _csrf(client.get("/review/login").text)
        answers: list[int] = []
        start = threading.Barrier(30)

        def guess() -> None:
            with httpx.Client(base_url=server.url) as client:
                start.wait()
                answers.append(client.post("/review/login", data={"csrf": token, "name": "ann",
                                                                 "password": "wrong password"}).status_code)

        threads = [threading.Thread(target=guess) for _ in range(30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(answers) == [401] * 5 + [429] * 25


def test_x_forwarded_for_is_not_believed_unless_a_proxy_is_named(team) -> None:
    bench = Workbench(team, list(THEMES))
    with BackgroundServer(standalone_app(bench)) as server, httpx.Client(base_url=server.url) as client:
        # rotating the forwarded address (and the name) does not escape the limit of the real address
        answers = [_login_as(client, f"user{i}", "wrong password", forwarded=f"203.0.113.{i}") for i in range(7)]
        assert answers == [401] * 5 + [429] * 2
    bench = Workbench(team, list(THEMES))
    with BackgroundServer(standalone_app(bench), trust_proxy="127.0.0.1") as server, \
            httpx.Client(base_url=server.url) as client:
        answers = [_login_as(client, "bob", "wrong password", forwarded="203.0.113.9") for _ in range(6)]
        assert answers == [401] * 5 + [429]  # the proxy's client 203.0.113.9 is the one held back
        assert _login_as(client, "ann", PASSWORD, forwarded="203.0.113.10") == 303  # another client behind it


def _login_as(client: httpx.Client, name: str, password: str, *, forwarded: str) -> int:
    token = _csrf(client.get("/review/login").text)
    return client.post("/review/login", data={"csrf": token, "name": name, "password": password},
                       headers={"X-Forwarded-For": forwarded}).status_code


def test_nobody_can_lock_the_owner_out(team) -> None:
    bench = Workbench(team, list(THEMES))
    with BackgroundServer(standalone_app(bench)) as server:
        base = server.url
        with _from("127.0.0.1", base) as owner:  # ann's own browser: she has signed in from it before
            assert _login(owner, "ann").status_code == 303
            assert owner.post("/review/logout", data={"csrf": _csrf(owner.get("/review").text)}).status_code == 303
        with _from("127.0.0.66", base) as attacker:
            assert [_login(attacker, "ann", "wrong password").status_code for _ in range(6)] == [401] * 5 + [429]
            assert _login(attacker, "ann").status_code == 429  # the attacker's address waits, right password or not
        with _from("127.0.0.2", base) as elsewhere:  # ann from another machine, a browser she never used here
            assert _login(elsewhere, "ann").status_code == 303
        for n in range(73, 77):  # guesses at ann from four more addresses: five in all, an attack on the name
            with _from(f"127.0.0.{n}", base) as attacker:
                assert _login(attacker, "ann", "wrong password").status_code == 401
        with _from("127.0.0.9", base) as fresh:  # a browser never used: waits while the name is under attack
            refused = _login(fresh, "ann")
            assert refused.status_code == 429 and "signed in before" in refused.text
        with _from("127.0.0.1", base, cookies=owner.cookies) as owner_again:  # her own browser still gets in
            assert _login(owner_again, "ann").status_code == 303


def test_an_unknown_name_costs_one_password_hash_like_a_real_one(team) -> None:
    import hashlib as hashing

    counted: list[str] = []

    def count(frame, event, arg) -> None:
        if event == "c_call" and arg is hashing.scrypt:
            counted.append("scrypt")

    for name in ("ann", "nobody-of-that-name"):
        counted.clear()
        sys.setprofile(count)
        try:
            assert auth.sign_in(team, name, "wrong password") is None
        finally:
            sys.setprofile(None)
        assert counted == ["scrypt"], name


# -- 8. blind rounds hide other coders' memos -----------------------------------------------------------


def test_blind_rounds_hide_other_coders_memos(team) -> None:
    bench = Workbench(team, list(THEMES))
    with BackgroundServer(standalone_app(bench)) as server:
        ann, bob, lead = (httpx.Client(base_url=server.url) for _ in range(3))
        for client, name in ((ann, "ann"), (bob, "bob"), (lead, "lead")):
            assert _login(client, name).status_code == 303
        lead.post("/review/admin/blind", data={"csrf": _csrf(lead.get("/review/admin").text), "blind": "on"})
        page = ann.get("/review/queue")
        hit = _hit(page.text)
        document = re.search(r'/review/documents/(\d+)', page.text).group(1)  # type: ignore[union-attr]
        for kind, target in (("reference", str(hit)), ("document", document)):
            assert ann.post("/review/memo", data={"csrf": _csrf(page.text), "target_kind": kind, "target_id": target,
                                                  "text": f"ann thinks {kind}"}).status_code == 303
        assert "ann thinks" not in bob.get(f"/review/queue?ref={hit}").text
        assert "ann thinks" not in bob.get(f"/review/documents/{document}").text
        assert "ann thinks reference" in ann.get(f"/review/queue?ref={hit}").text
        assert "ann thinks document" in lead.get(f"/review/documents/{document}").text
        lead.post("/review/admin/blind", data={"csrf": _csrf(lead.get("/review/admin").text), "blind": "off"})
        assert "ann thinks reference" in bob.get(f"/review/queue?ref={hit}").text
        for client in (ann, bob, lead):
            client.close()


# -- 9. odd ids and text: a clear 400 or 404, never a 500 --------------------------------------------------


def test_odd_ids_and_text_never_give_a_server_error(store) -> None:
    bench = Workbench(store, list(THEMES), single_user="ann")
    huge, big = str(10**30), str(2**63)
    with BackgroundServer(standalone_app(bench)) as server, httpx.Client(base_url=server.url) as client:
        token = _csrf(client.get("/review/queue").text)
        gets = [f"/review/queue?ref={huge}", f"/review/queue?ref={big}", f"/review/queue?after={huge}",
                f"/review/queue?after={big}", f"/review/documents/{huge}", f"/review/documents/{big}",
                f"/review/documents/1?ref={huge}", "/review/queue?theme=%00", "/review/queue?case=%00",
                "/review/queue?coder=%00", f"/review/queue?case={'x' * 500}", "/review/queue?ref=-1"]
        for path in gets:
            answer = client.get(path)
            assert answer.status_code in (400, 404), (path, answer.status_code)
            assert "Something went wrong" not in answer.text, path
        missing = client.get("/review/documents/999999")  # a whole number the study has no document for
        assert missing.status_code == 404 and "no document 999999 in this study" in missing.text
        posts = [("/review/decide", {"reference_id": huge, "decision": "accept"}),
                 ("/review/decide", {"reference_id": big, "decision": "accept"}),
                 ("/review/code", {"document_id": huge, "start": "0", "end": "5", "theme": "partnership"}),
                 ("/review/code", {"document_id": "1", "start": big, "end": huge, "theme": "partnership"}),
                 ("/review/memo", {"target_kind": "reference", "target_id": "9" * 81, "text": "x"}),
                 ("/review/memo", {"target_kind": "reference", "target_id": "1", "text": "nul \x00 inside"}),
                 ("/review/memo", {"target_kind": "reference", "target_id": huge, "text": "on nothing"}),
                 ("/review/memo", {"target_kind": "document", "target_id": "999999", "text": "on nothing"}),
                 ("/review/memo", {"target_kind": "case", "target_id": "NO-SUCH-CASE", "text": "on nothing"})]
        for path, form in posts:
            answer = client.post(path, data={"csrf": token, **form})
            assert answer.status_code in (400, 404), (path, form, answer.status_code)
            assert "Something went wrong" not in answer.text
        assert "no reference" in client.post("/review/memo", data={"csrf": token, "target_kind": "reference",
                                                                   "target_id": "999999", "text": "x"}).text
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Memo)) == 0
    assert decision_log(store).empty


# -- 12. a retried decision is stored once -----------------------------------------------------------------


def test_a_retried_decide_post_stores_one_decision(store) -> None:
    bench = Workbench(store, list(THEMES), single_user="ann")
    with BackgroundServer(standalone_app(bench)) as server, httpx.Client(base_url=server.url) as client:
        page = client.get("/review/queue").text
        key = re.search(r'name="request_key" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        form = {"csrf": _csrf(page), "reference_id": _hit(page), "decision": "accept", "request_key": key}
        answers = [client.post("/review/decide", data=form).status_code for _ in range(3)]
        assert answers == [303] * 3
        other = client.post("/review/decide", data={**form, "decision": "reject"})  # the same form, another choice
        assert other.status_code == 409 and "reload" in other.text.lower()
        fresh = client.get(f"/review/queue?ref={form['reference_id']}").text
        fresh_key = re.search(r'name="request_key" value="([^"]+)"', fresh).group(1)  # type: ignore[union-attr]
        assert fresh_key != key
        assert client.post("/review/decide", data={**form, "decision": "reject", "request_key": fresh_key}
                           ).status_code == 303
    assert list(decision_log(store)["decision"]) == ["accept", "reject"]
