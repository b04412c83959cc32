"""Single-user mode (no accounts: no sign-in) answers this machine only. A request that came through a reverse
proxy arrives from 127.0.0.1 too, whoever sent it, so one that says it was forwarded (``Forwarded``,
``X-Forwarded-For``, ``X-Real-IP``, ``Via``: Caddy and Traefik add X-Forwarded-For by default, most nginx setups
too) is refused, read or write. Against a real server on 127.0.0.1; team mode is unaffected."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from sibkit.store import Memo, open_store
from sibkit.web.server import BackgroundServer
from sibkit.workbench.auth import add_user
from sibkit.workbench.routes import Workbench, standalone_app
from sibkit.workbench.sample import THEMES, add_sample_corpus

PASSWORD = "correct horse battery"
FORWARDED = [{"X-Forwarded-For": "203.0.113.5"}, {"Forwarded": "for=203.0.113.5;proto=https"},
             {"X-Real-IP": "203.0.113.5"}, {"Via": "1.1 caddy"}]


@pytest.fixture()
def store(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    add_sample_corpus(store, documents=1, references_per_document=2)
    yield store
    store.close()


def test_single_user_mode_refuses_requests_that_came_through_a_proxy(store) -> None:
    with BackgroundServer(standalone_app(Workbench(store, THEMES, single_user="ann"))) as server, \
            httpx.Client(base_url=server.url) as client:
        page = client.get("/review/queue")
        assert page.status_code == 200  # straight from this machine
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        for headers in FORWARDED:
            answer = client.get("/review/queue", headers=headers)
            assert answer.status_code == 403, (headers, answer.status_code)
            assert "proxy" in answer.text and token not in answer.text
            posted = client.post("/review/memo", headers=headers, data={
                "csrf": token, "target_kind": "case", "target_id": "SAMPLE-1", "text": "via a proxy"})
            assert posted.status_code == 403, headers
        with store.session() as session:
            assert session.query(Memo).count() == 0


def test_team_mode_signs_in_through_a_proxy(store) -> None:
    add_user(store, "lead", PASSWORD, "admin")
    with BackgroundServer(standalone_app(Workbench(store, THEMES)), trust_proxy="127.0.0.1") as server, \
            httpx.Client(base_url=server.url, headers=FORWARDED[0]) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/review/login").text).group(1)  # type: ignore
        assert client.post("/review/login", data={"csrf": token, "name": "lead", "password": PASSWORD}
                           ).status_code == 303
        assert client.get("/review/queue").status_code == 200
