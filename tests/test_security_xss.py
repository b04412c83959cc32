"""Hostile text everywhere ``sibkit serve STUDY`` shows text, in a real Chromium: a study title, a codebook's theme
names, definitions and examples, document titles and text, file names, memos, the coder's name and query
parameters echoed back hold ``<script>``, ``"><img onerror>``, ``<svg onload>``, ``javascript:`` links, bidi
controls and a 5,000-letter word. No page runs any of it, no element is injected, and no HTML answer holds it
unescaped; JSON and CSV carry it as data (with ``nosniff``)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from sibkit.store import Document, DocumentCase, Reference, open_store
from sibkit.web.server import BackgroundServer

CASE = "INDIGO-POJ-0110"
CODER = 'ann<script>window.__xss_coder=1</script>"><img src=x onerror=alert(1)>'  # a coder name: at most 80


def _payload(tag: str) -> str:
    """Markup that sets ``window.__xss_<tag>`` (or opens a dialog) wherever a page fails to escape it."""
    return (f'<script>window.__xss_{tag}=1</script>"><img src=x onerror="window.__xss_{tag}=1">'
            f"<svg onload=alert('{tag}')></svg>'><a href=\"javascript:alert('{tag}')\">{tag}</a>\u202e{tag}\u202c")


RAW = re.compile(r"<script>window\.__xss|<img src=x onerror|<svg onload|href=\"javascript:")
CODEBOOK = """name: hostile
version: "1"
description: {desc}
themes:
  - id: partnership
    name: {name}
    definition: {definition}
    terms:
      - partnership working
    examples:
      - {example}
"""


def _yaml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\u202e", "\\u202E").replace(
        "\u202c", "\\u202C") + '"'


@pytest.fixture()
def served(tmp_path: Path, indigo_dir: Path, dataset):
    from sibkit.study import load_study
    from sibkit.web import create_app

    (tmp_path / "codebook.yaml").write_text(CODEBOOK.format(
        desc=_yaml(_payload("desc")), name=_yaml("Partner " + _payload("theme")),
        definition=_yaml("Working together. " + _payload("definition")), example=_yaml(_payload("example"))),
        encoding="utf-8")
    path = tmp_path / "study.yaml"
    path.write_text(f"title: {_yaml('Study ' + _payload('study'))}\ndata: {indigo_dir}\ncodebook: codebook.yaml\n",
                    encoding="utf-8")
    study = load_study(path)
    study._dataset = dataset
    store = open_store(study.database_url())
    text = (f"Before. {_payload('text')} The partnership working was close. {'W' * 5000} javascript:alert(1) "
            "and partnership working again.")
    with store.session(write=True) as session:
        document = Document(sha256=hashlib.sha256(text.encode()).hexdigest(), title="Report " + _payload("title"),
                            doc_type="evaluation", origin=f"/corpus/{CASE}/{_payload('file').replace('/', '')}.txt",
                            text=text, pages=[0], word_count=len(text.split()), status="ok")
        document.cases.append(DocumentCase(case_id=CASE))
        session.add(document)
        session.flush()
        for at in (m.start() for m in re.finditer("partnership working", text)):
            session.add(Reference(document_id=document.id, theme="partnership", term="partnership working", start=at,
                                  end=at + len("partnership working"), page=1, origin="auto", codebook_hash="x"))
    with BackgroundServer(create_app(dataset, study, coder=CODER)) as server:
        yield server, store
    store.close()


def test_hostile_text_is_shown_as_text_and_never_runs(served, browser) -> None:
    server, _ = served
    with httpx.Client(base_url=server.url) as client:
        queue = client.get("/review/queue").text
        token = re.search(r'name="csrf" value="([^"]+)"', queue).group(1)  # type: ignore[union-attr]
        reference = re.search(r'data-reference="(\d+)"', queue).group(1)  # type: ignore[union-attr]
        for kind, target in (("reference", reference), ("document", "1"), ("case", CASE)):
            answer = client.post("/review/memo", data={"csrf": token, "target_kind": kind, "target_id": target,
                                                       "text": _payload(f"memo{kind}"), "next": "/review/queue"})
            assert answer.status_code == 303
        assert client.post("/review/decide", data={"csrf": token, "reference_id": reference, "decision": "accept",
                                                   "next": "/review/queue"}).status_code == 303
        echoed = quote(_payload("query"))
        pages = ["/review", "/review/queue?status=all", f"/review/queue?status=all&ref={reference}",
                 f"/review/documents/1?ref={reference}", "/review/documents/1", "/review/admin", "/review/audit",
                 "/review/audit/results", "/study", f"/projects/{CASE}", f"/review/queue?status=all&theme={echoed}",
                 f"/review/queue?case={echoed}", f"/review/queue?status={echoed}", f"/review/documents/1?back={echoed}",
                 f"/projects/{echoed}", f"/organisations?q={echoed}", f"/funds?q={echoed}", f"/?country={echoed}",
                 f"/nothing/{echoed}", f"/changes?old={echoed}", f"/review/audit?sentence={echoed}"]
        for path in pages:
            answer = client.get(path)
            assert answer.status_code < 500, path
            assert "text/html" in answer.headers["content-type"], path
            assert not RAW.search(answer.text), (path, RAW.search(answer.text))
        for path in ("/api/study", f"/api/stats?by={echoed}", "/download/study/documents.csv"):
            answer = client.get(path)
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert "text/html" not in answer.headers["content-type"], path
        assert "Report <script>" in client.get("/api/study").text  # the data as they are, for a program
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        for path in pages:
            page.goto(server.url + path)
            ran = page.evaluate("Object.keys(window).filter(k => k.startsWith('__xss'))")
            injected = page.evaluate("document.querySelectorAll('img[onerror], svg[onload], script:not([src]), "
                                     "a[href^=\"javascript:\"]').length")
            assert (ran, injected) == ([], 0), path
        page.goto(f"{server.url}/review/documents/1?ref={reference}")
        shown = page.inner_text("main")
        assert "<script>window.__xss_text=1</script>" in shown and "W" * 5000 in shown  # text, whole
        assert "Report <script>window.__xss_title=1</script>" in shown
    finally:
        page.close()
    assert dialogs == []
