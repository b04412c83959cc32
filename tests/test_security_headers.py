"""Security headers on every kind of answer of ``sibkit serve STUDY`` (pages, JSON, CSV, errors, refusals),
against a real server: the pages behind a sign-in are never kept by a browser or a proxy (``no-store``),
the field pages stay cacheable, and no route list (``/openapi.json``) is published."""

from __future__ import annotations

import re

import httpx
import pytest

from sibkit.web.server import BackgroundServer
from sibkit.workbench.auth import add_user

PASSWORD = "correct horse battery"
CSP = "default-src 'self'"


@pytest.fixture()
def served(sample_study, dataset):
    from sibkit.web import create_app

    study, store = sample_study
    with BackgroundServer(create_app(dataset, study, coder="ann")) as server:
        yield server, store
    store.close()


def _checked(answer: httpx.Response) -> httpx.Response:
    assert answer.headers.get("content-security-policy", "").startswith(CSP), (answer.url, answer.headers)
    assert answer.headers.get("x-content-type-options") == "nosniff", answer.url
    assert answer.headers.get("x-frame-options") == "DENY", answer.url
    assert answer.headers.get("referrer-policy") == "no-referrer", answer.url
    return answer


def test_private_pages_are_never_stored_and_every_answer_has_the_headers(served) -> None:
    server, store = served
    with httpx.Client(base_url=server.url) as client:
        private = ["/review", "/review/queue", "/review/documents/1", "/review/admin", "/review/audit",
                   "/review/queue?status=nonsense", "/review/documents/999999", "/study", "/api/study",
                   "/download/study/cases.csv"]
        for path in private:
            answer = _checked(client.get(path))
            assert "no-store" in answer.headers.get("cache-control", ""), (path, answer.status_code)
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/review/queue").text).group(1)  # type: ignore
        posted = _checked(client.post("/review/memo", data={"csrf": token, "target_kind": "case", "target_id": "x",
                                                           "text": "t", "next": "/review"}))
        assert "no-store" in posted.headers.get("cache-control", "")
        assert _checked(client.post("/review/memo", data={})).status_code == 403
        public = _checked(client.get("/"))
        assert "no-store" not in public.headers.get("cache-control", "")  # the field's pages may be kept
        for path in ("/projects/INDIGO-POJ-NOPE", "/no/such/page", "/api/projects/NOPE", "/static/nope.css",
                     "/review/static/nope.js"):
            assert _checked(client.get(path)).status_code == 404, path
        assert _checked(client.post("/projects")).status_code == 405
        assert client.get("/openapi.json").status_code == 404
        assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404
    with httpx.Client(base_url=server.url, headers={"Host": "evil.example"}) as rebinding:
        assert _checked(rebinding.get("/review")).status_code == 421
    # team mode: the sign-in page and the pages after it
    add_user(store, "lead", PASSWORD, "admin")
    with httpx.Client(base_url=server.url) as client:
        login = _checked(client.get("/review/login"))
        token = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
        signed = client.post("/review/login", data={"csrf": token, "name": "lead", "password": PASSWORD})
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=43200" in cookie
        queue = _checked(client.get("/review/queue"))
        assert queue.status_code == 200 and "no-store" in queue.headers.get("cache-control", "")
