"""An unforeseen error behind a page (here a real one: the study's database lost a table) is a 500 page that
names no file, library or statement and carries the security headers, on the workbench's pages as on the rest.
Against a real server on SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from sibkit.store import open_store
from sibkit.web.server import BackgroundServer
from sibkit.workbench.routes import Workbench, standalone_app
from sibkit.workbench.sample import THEMES, add_sample_corpus


def test_a_server_error_on_a_workbench_page_leaks_nothing_and_keeps_the_headers(tmp_path: Path) -> None:
    path = tmp_path / "study.sqlite"
    store = open_store(f"sqlite:///{path}")
    add_sample_corpus(store, documents=1, references_per_document=2)
    with BackgroundServer(standalone_app(Workbench(store, THEMES, single_user="ann"))) as server, \
            httpx.Client(base_url=server.url) as client:
        assert client.get("/review/queue").status_code == 200
        with sqlite3.connect(path) as database:  # the database damaged under the running server
            database.execute("DROP TABLE memos")
        answer = client.get("/review/queue")
        assert answer.status_code == 500
        assert answer.headers["content-type"].startswith("text/html")
        assert answer.headers.get("content-security-policy", "").startswith("default-src 'self'")
        assert answer.headers.get("x-content-type-options") == "nosniff"
        assert answer.headers.get("cache-control") == "no-store"
        for leak in ("Traceback", "sqlite", "memos", "sibkit/", ".py", "SELECT"):
            assert leak not in answer.text, leak
        assert "Something went wrong" in answer.text
        assert client.get("/review/static/workbench.js").status_code == 200  # the server goes on
    store.close()
