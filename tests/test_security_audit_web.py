"""The recall audit's pages (``/review/audit``) under odd input, against a real server on SQLite and PostgreSQL:
ids the database cannot hold, NUL and over-long notes, seeds out of range are a 400 naming the field, never
a 500, and nothing is stored."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from sibkit.audit import draw_sample, sampled_sentences
from sibkit.store import AuditMark, AuditSample, Document, DocumentCase, open_store
from sibkit.web.server import BackgroundServer
from sibkit.workbench.routes import Workbench, standalone_app

THEMES = [("partnership", "Partnership"), ("learning", "Mutual learning")]
TEXT = " ".join(f"Sentence number {i} talks about the weather and nothing more." for i in range(1, 9))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path: Path):
    url = (request.getfixturevalue("postgres").new_database() if request.param == "postgresql"
           else f"sqlite:///{tmp_path / 'study.sqlite'}")
    store = open_store(url)
    with store.session(write=True) as session:
        document = Document(sha256=hashlib.sha256(TEXT.encode()).hexdigest(), title="Weather", doc_type="evaluation",
                            origin="weather.txt", text=TEXT, pages=[0], word_count=len(TEXT.split()), status="ok")
        document.cases.append(DocumentCase(case_id="INDIGO-POJ-0121"))
        session.add(document)
    yield store
    store.close()


def _marks(store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count(AuditMark.id))) or 0


def test_odd_audit_input_is_a_400_naming_the_field_and_stores_nothing(store) -> None:
    draw_sample(store, 3, seed=1)
    sentence = str(sampled_sentences(store)[0]["sentence_id"])
    bench = Workbench(store, THEMES, single_user="eve")
    with BackgroundServer(standalone_app(bench)) as server, httpx.Client(base_url=server.url) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/review/audit").text).group(1)  # type: ignore
        for sentence_id, note, field in (("9" * 30, "", "sentence_id"), (str(2**63), "", "sentence_id"),
                                         ("-1", "", "sentence_id"), ("١٢", "", "sentence_id"),
                                         (sentence, "a\x00b", "note"), (sentence, "n" * 2001, "note")):
            answer = client.post("/review/audit/mark", data={"csrf": token, "sentence_id": sentence_id,
                                                             "theme": "learning", "note": note})
            assert answer.status_code == 400, (sentence_id[:20], note[:10], answer.status_code, answer.text[:300])
            assert field in answer.text
        assert _marks(store) == 0
        saved = client.post("/review/audit/mark", data={"csrf": token, "sentence_id": sentence, "theme": "learning",
                                                        "note": "n" * 2000})
        assert saved.status_code == 303 and _marks(store) == 1
        bench.study = store  # drawing from the web needs a source to draw from: the store is one
        for size, seed, field in (("5", "9" * 40, "seed"), ("5", str(2**31), "seed"), ("5", "-1", "seed"),
                                  ("9" * 30, "1", "size")):
            answer = client.post("/review/audit/draw", data={"csrf": token, "size": size, "seed": seed})
            assert answer.status_code == 400, (size[:20], seed[:20], answer.status_code, answer.text[:300])
            assert field in answer.text
        with store.session() as session:
            assert session.scalar(select(func.count(AuditSample.id))) == 1
        assert client.post("/review/audit/draw", data={"csrf": token, "size": "2", "seed": "7"}).status_code == 303
        for wanted in ("9" * 30, "x", "-1"):
            assert client.get("/review/audit", params={"sentence": wanted}).status_code in (400, 404)
            assert client.get("/review/audit", params={"after": wanted}).status_code == 200
