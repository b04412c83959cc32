"""Every route of ``sibkit serve STUDY`` that takes a write (read from the app itself, so a new one is covered
the day it is added) refuses it without this session's CSRF token, with a wrong one, from another site and
from another origin, and none of them answers a GET by writing; nothing reaches the database. Against a real
server in single-user mode (where the token is the only secret) and in team mode."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from sibkit.store import (
    AuditMark,
    AuditSample,
    Memo,
    Reference,
    ReviewDecision,
    WebSession,
    WorkbenchSetting,
)
from sibkit.web.server import BackgroundServer
from sibkit.workbench.auth import add_user

PASSWORD = "correct horse battery"
FORM = {"reference_id": "1", "decision": "reject", "request_key": "k", "target_kind": "case", "target_id": "SAMPLE-1",
        "text": "a memo", "document_id": "1", "start": "0", "end": "9", "theme": "partnership", "selected": "Paragraph",
        "blind": "on", "sentence_id": "1", "none": "1", "size": "3", "seed": "1", "next": "/review/queue"}


@pytest.fixture()
def served(sample_study, dataset):
    from sibkit.web import create_app

    study, store = sample_study
    app = create_app(dataset, study, coder="ann")
    writes = sorted(route.path for route in _routes(app.routes) if route.methods - {"GET", "HEAD"})
    with BackgroundServer(app) as server:
        yield server, store, writes
    store.close()


def _routes(routes) -> list[APIRoute]:
    """Every route, those of included routers too (FastAPI keeps an included router whole)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(_routes(route.original_router.routes))
    return found


def _rows(store) -> tuple[int, ...]:
    with store.session() as session:
        return tuple(session.scalar(select(func.count()).select_from(table))
                     for table in (ReviewDecision, Memo, Reference, WorkbenchSetting, AuditMark, AuditSample))


def _refused(client: httpx.Client, writes: list[str], token: str, store) -> None:
    before = _rows(store)
    for path in writes:
        attempts = {"no token": ({}, {}), "a wrong token": ({"csrf": "0" * len(token)}, {}),
                    "another site": ({"csrf": token}, {"Sec-Fetch-Site": "cross-site"}),
                    "another origin": ({"csrf": token}, {"Origin": "http://evil.example"}),
                    "a null origin without Sec-Fetch-Site": ({"csrf": token}, {"Origin": "null"})}
        for why, (extra, headers) in attempts.items():
            answer = client.post(path, data={**FORM, **extra}, headers=headers)
            assert answer.status_code in (401, 403), (path, why, answer.status_code, answer.text[:300])
        for method in ("GET", "PUT", "DELETE", "PATCH"):
            if path == "/review/login" and method == "GET":
                continue  # the sign-in page
            answer = client.request(method, path, params=FORM)
            assert answer.status_code == 405, (path, method, answer.status_code)
    assert _rows(store) == before


def test_every_write_route_refuses_a_request_without_this_sessions_token(served) -> None:
    server, store, writes = served
    assert {"/review/decide", "/review/undo", "/review/code", "/review/memo", "/review/admin/blind", "/review/login",
            "/review/logout", "/review/audit/mark", "/review/audit/draw"} <= set(writes)
    with httpx.Client(base_url=server.url) as client:  # single-user mode: this machine, a token per process
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/review/queue").text).group(1)  # type: ignore
        _refused(client, writes, token, store)
        saved = client.post("/review/memo", data={**FORM, "csrf": token})  # the same form with the token: saved
        assert saved.status_code == 303 and _rows(store)[1] == 1
        for path in ("/", "/projects", "/study", "/api/study", "/download/study/cases.csv"):
            assert client.post(path, data={**FORM, "csrf": token}).status_code == 405, path
    add_user(store, "lead", PASSWORD, "admin")
    with httpx.Client(base_url=server.url) as client:  # team mode: a token per session
        login = re.search(r'name="csrf" value="([^"]+)"', client.get("/review/login").text).group(1)  # type: ignore
        assert client.post("/review/login", data={"csrf": login, "name": "lead", "password": PASSWORD}
                           ).status_code == 303
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/review/queue").text).group(1)  # type: ignore
        _refused(client, writes, token, store)
        sessions = _rows_of(store, WebSession)
        assert client.post("/review/logout", data={"csrf": token}).status_code == 303
        assert _rows_of(store, WebSession) == sessions - 1


def _rows_of(store, table) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0
