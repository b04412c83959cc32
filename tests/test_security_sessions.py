"""Sessions of the review workbench end: at their expiry time, at sign-out (the old cookie signs nobody in
again) and when the account is disabled; the cookie is HttpOnly and SameSite=Strict and lives as long as the
session. Against a real server on SQLite."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from sibkit.store import WebSession, open_store
from sibkit.store.models import utcnow
from sibkit.web.server import BackgroundServer
from sibkit.workbench import auth
from sibkit.workbench.auth import add_user, disable_user
from sibkit.workbench.routes import COOKIE, Workbench, standalone_app
from sibkit.workbench.sample import THEMES, add_sample_corpus

PASSWORD = "correct horse battery"


@pytest.fixture()
def store(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    add_sample_corpus(store, documents=1, references_per_document=2)
    add_user(store, "lead", PASSWORD, "admin")
    add_user(store, "ann", PASSWORD, "coder")
    yield store
    store.close()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def _signed_in(client: httpx.Client, name: str) -> str:
    answer = client.post("/review/login", data={"csrf": _csrf(client.get("/review/login").text), "name": name,
                                                "password": PASSWORD})
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("SameSite=Strict", "SameSite=strict")
    assert f"Max-Age={auth.SESSION_HOURS * 3600}" in cookie
    return client.cookies[COOKIE]


def test_a_session_ends_at_its_expiry_at_sign_out_and_when_the_account_is_disabled(store) -> None:
    with BackgroundServer(standalone_app(Workbench(store, THEMES))) as server:
        with httpx.Client(base_url=server.url) as client:
            token = _signed_in(client, "ann")
            assert client.get("/review/queue").status_code == 200
            with store.session(write=True) as session:  # the session's 12 hours are over
                session.execute(update(WebSession).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
            assert client.get("/review/queue").headers.get("location") == "/review/login"
            assert client.post("/review/memo", data={"target_kind": "case", "target_id": "x",
                                                     "text": "t"}).status_code == 401
            assert auth.actor_of(store, token) is None

        with httpx.Client(base_url=server.url) as client:
            token = _signed_in(client, "ann")
            page = client.get("/review/queue")
            assert client.post("/review/logout", data={"csrf": _csrf(page.text)}).status_code == 303
        with httpx.Client(base_url=server.url, cookies={COOKIE: token}) as replay:  # the old cookie, kept
            assert replay.get("/review/queue").headers.get("location") == "/review/login"

        with httpx.Client(base_url=server.url) as client:
            _signed_in(client, "ann")
            assert client.get("/review/queue").status_code == 200
            disable_user(store, "ann")
            assert client.get("/review/queue").headers.get("location") == "/review/login"
            again = client.post("/review/login", data={"csrf": _csrf(client.get("/review/login").text),
                                                       "name": "ann", "password": PASSWORD})
            assert again.status_code == 401
