"""Request bodies have a size and a time limit (``sibkit.web.guard``), against a real uvicorn server on 127.0.0.1:
a body declared too large is refused before it is read, a streamed body is cut off at the limit, a body that
trickles in is given up at its deadline, and the forms still work."""

from __future__ import annotations

import contextlib
import re
import socket
import time
from pathlib import Path

import httpx
import pytest

from sibkit.store import Memo, open_store
from sibkit.web import guard
from sibkit.web.server import BackgroundServer
from sibkit.workbench.routes import Workbench, standalone_app
from sibkit.workbench.sample import THEMES, add_sample_corpus


@pytest.fixture()
def store(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    add_sample_corpus(store, documents=1, references_per_document=2)
    yield store
    store.close()


def _raw(url: str, request: bytes, *, then: bytes = b"", wait: float = 10.0) -> tuple[bytes, float]:
    """Send ``request`` (and ``then``) on a fresh socket; the answer's first bytes and how long they took."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        started = time.monotonic()
        sock.sendall(request)
        if then:
            with contextlib.suppress(OSError):  # the server may close as soon as it has answered
                sock.sendall(then)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            pass
        return answer, time.monotonic() - started


def _head(length: str, path: str = "/review/memo", extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"{length}{extra}\r\n").encode()


def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(store) -> None:
    with BackgroundServer(standalone_app(Workbench(store, THEMES, single_user="ann"))) as server:
        answer, took = _raw(server.url, _head(f"Content-Length: {guard.MAX_BODY + 1}\r\n"))
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        assert b"content-security-policy" in answer.lower()  # the refusal carries the security headers
        assert took < 5  # answered without waiting for the 4 MiB it was promised
        bad, _ = _raw(server.url, _head("Content-Length: lots\r\n"))
        assert bad.startswith(b"HTTP/1.1 400 "), bad[:200]


def test_a_streamed_body_is_cut_off_at_the_limit(store) -> None:
    with BackgroundServer(standalone_app(Workbench(store, THEMES, single_user="ann"))) as server:
        size = guard.MAX_BODY + 1
        chunks = b"".join(f"{min(65536, size - at):x}\r\n".encode() + b"x" * min(65536, size - at) + b"\r\n"
                          for at in range(0, size, 65536))
        answer, _ = _raw(server.url, _head("Transfer-Encoding: chunked\r\n"), then=chunks)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        # many fields each under Starlette's 1 MB a field: once took the whole body into memory
        fields = b"&".join(b"f%d=" % n + b"x" * 1_000_000 for n in range(6))
        answer, _ = _raw(server.url, _head("Transfer-Encoding: chunked\r\n"),
                         then=f"{len(fields):x}\r\n".encode() + fields + b"\r\n0\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    with store.session() as session:
        assert session.query(Memo).count() == 0


def test_a_body_that_trickles_in_is_given_up_at_its_deadline(store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "BODY_SECONDS", 1.0)
    with BackgroundServer(standalone_app(Workbench(store, THEMES, single_user="ann"))) as server:
        answer, took = _raw(server.url, _head("Content-Length: 1000\r\n"), then=b"text=", wait=10)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert 0.9 < took < 5


def test_forms_within_the_limits_still_work(store) -> None:
    with BackgroundServer(standalone_app(Workbench(store, THEMES, single_user="ann"))) as server, \
            httpx.Client(base_url=server.url) as client:
        page = client.get("/review/queue").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        reference = re.search(r'data-reference="(\d+)"', page).group(1)  # type: ignore[union-attr]
        memo = "\U0001F642" * 20_000  # the longest memo, each character 12 bytes once form-encoded
        answer = client.post("/review/memo", data={"csrf": csrf, "target_kind": "reference", "target_id": reference,
                                                   "text": memo, "next": "/review/queue"})
        assert answer.status_code == 303, answer.text[:500]
    with store.session() as session:
        assert [m.text for m in session.query(Memo)] == [memo]


def test_the_longest_span_coded_by_hand_in_any_script_fits(tmp_path: Path) -> None:
    """``hits.MAX_SELECTED`` characters of Cyrillic are 1.2 MB form-encoded, over Starlette's 1 MB a field: the
    span was refused with "Field exceeded maximum size of 1024KB" though the workbench promises 200,000."""
    import hashlib

    from sibkit.store import Document, DocumentCase, Reference
    from sibkit.workbench.hits import MAX_SELECTED

    store = open_store(f"sqlite:///{tmp_path / 'cyrillic.sqlite'}")
    text = "партнёрство " * (MAX_SELECTED // 12)
    text = text[:MAX_SELECTED]
    with store.session(write=True) as session:
        document = Document(sha256=hashlib.sha256(text.encode()).hexdigest(), title="Отчёт", doc_type="evaluation",
                            origin="otchet.txt", text=text, pages=[0], word_count=len(text.split()), status="ok")
        document.cases.append(DocumentCase(case_id="SAMPLE-1"))
        session.add(document)
        session.flush()
        document_id = document.id
    with BackgroundServer(standalone_app(Workbench(store, THEMES, single_user="ann"))) as server, \
            httpx.Client(base_url=server.url, timeout=60) as client:
        page = client.get(f"/review/documents/{document_id}").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        answer = client.post("/review/code", data={"csrf": csrf, "document_id": str(document_id), "start": "0",
                                                   "end": str(len(text)), "theme": "partnership", "selected": text})
        assert answer.status_code == 303, answer.text[:300]
    with store.session() as session:
        assert [(r.start, r.end, r.origin) for r in session.query(Reference)] == [(0, len(text), "manual")]
    store.close()


def test_bodies_read_at_once_share_one_budget(store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each body is bounded, and so are all of them together: many connections each sending a body just under
    the limit and then holding it would otherwise hold connections x 4 MiB. Over ``MAX_BUFFERED`` a 503."""
    monkeypatch.setattr(guard, "MAX_BUFFERED", 2**20)
    with BackgroundServer(standalone_app(Workbench(store, THEMES, single_user="ann"))) as server:
        host, port = server.url.removeprefix("http://").split(":")
        holding = socket.create_connection((host, int(port)), timeout=10)
        try:
            holding.sendall(_head("Content-Length: 1500000\r\n") + b"text=" + b"x" * 700_000)  # and waits
            time.sleep(0.5)
            answer, _ = _raw(server.url, _head("Content-Length: 1000000\r\n"), then=b"x" * 1_000_000)
            assert answer.startswith(b"HTTP/1.1 503 "), answer[:200]
            small, _ = _raw(server.url, _head("Content-Length: 10\r\n"), then=b"text=short")
            assert small.startswith(b"HTTP/1.1 403 "), small[:200]  # a small body still gets in (no token: 403)
        finally:
            holding.close()
        time.sleep(0.5)  # the held body is given back when its connection goes
        answer, _ = _raw(server.url, _head("Content-Length: 1000000\r\n"), then=b"x" * 1_000_000)
        assert answer.startswith(b"HTTP/1.1 403 "), answer[:200]
