"""The corpus: real documents imported into SQLite and PostgreSQL, bad input, resumability, fetching."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from PIL import Image
from sqlalchemy import func, select, text

from sibkit.corpus import add_file, add_indigo_records, add_paths, corpus_status, extract, fetch_reading_list
from sibkit.corpus.fetch import FetchSettings
from sibkit.corpus.normalise import page_of
from sibkit.store import Document, DocumentCase, FetchAttempt, open_store
from sibkit.testing import LocalServer, Response

CASE_A, CASE_B = "INDIGO-POJ-0110", "INDIGO-POJ-0109"


def make_docx(paragraphs: list[str], title: str = "") -> bytes:
    document = docx.Document()
    document.core_properties.title = title
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


HTML_PAGE = (b"<!doctype html><html><head><title>Rough sleeping programme review</title></head><body>"
             b"<nav><a href='/'>Home</a> <a href='/news'>News</a> Menu Menu Menu</nav><main><article>"
             b"<h1>Review of the programme</h1>"
             + b"<p>The partnership worked closely with people sleeping rough to co-produce the service. </p>" * 8
             + b"</article></main><footer>Cookie policy and site map</footer></body></html>")


@pytest.fixture()
def mixed_folder(tmp_path: Path, refi_qda_dir: Path) -> Path:
    """corpus/<case>/...: the REFI-QDA spec PDF, a DOCX, an HTML page, a cp1252 text and Markdown."""
    corpus = tmp_path / "corpus"
    (corpus / CASE_A).mkdir(parents=True)
    (corpus / CASE_B).mkdir(parents=True)
    (corpus / CASE_A / "spec.pdf").write_bytes((refi_qda_dir / "REFI-QDA-1-5.pdf").read_bytes())
    (corpus / CASE_A / "evaluation.docx").write_bytes(make_docx(
        ["Final evaluation", "Outcomes were achieved through close integrated partnership working."],
        title="Final evaluation of ACTion Lincs"))
    (corpus / CASE_A / "review.html").write_bytes(HTML_PAGE)
    (corpus / CASE_B / "notes.txt").write_bytes("Caf\u00e9 meeting \u2013 na\u00efve plan".encode("cp1252"))
    (corpus / CASE_B / "memo.md").write_text("# Memo\n\nShared responsibility across partners.\n", encoding="utf-8")
    # the same PDF again for the second case: stored once, linked twice
    (corpus / CASE_B / "spec-copy.pdf").write_bytes((refi_qda_dir / "REFI-QDA-1-5.pdf").read_bytes())
    return corpus


def import_folder(url: str, folder: Path) -> list[tuple]:
    store = open_store(url)
    report = add_paths(store, [folder], corpus_folder=folder, known_cases={CASE_A, CASE_B})
    assert sorted(o.status for o in report.outcomes) == ["added"] * 5 + ["linked"]
    with store.session() as session:
        rows = session.execute(select(Document.sha256, Document.title, Document.doc_type, Document.media_type,
                                      Document.text, Document.pages, Document.word_count, Document.status,
                                      Document.message).order_by(Document.sha256)).all()
        links = session.execute(select(Document.sha256, DocumentCase.case_id).join(DocumentCase)
                                .order_by(Document.sha256, DocumentCase.case_id)).all()
    store.close()
    return [tuple(r) for r in rows] + [tuple(link) for link in links]


def test_mixed_documents_import_and_status(tmp_path: Path, mixed_folder: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.sqlite'}"
    rows = import_folder(url, mixed_folder)
    store = open_store(url)
    with store.session() as session:
        documents = {d.origin.rsplit("/", 1)[-1]: d for d in session.scalars(select(Document))}
        assert session.scalar(text("PRAGMA journal_mode")) == "wal"
    # files are read in path order: CASE_B's copy of the specification comes first and is the one stored
    assert set(documents) == {"spec-copy.pdf", "evaluation.docx", "review.html", "notes.txt", "memo.md"}
    spec = documents["spec-copy.pdf"]
    assert len(spec.pages) == 60 and spec.status == "ok"  # the specification has 60 pages
    assert "REFI-QDA" in spec.text and "\ufffe" not in spec.text and "\r" not in spec.text
    assert "communicating inbetween via" in spec.text  # pdfium's line-end hyphen mark joined
    position = spec.text.index("Copyright statement")
    assert page_of(position, spec.pages) == 4  # the copyright statement is on page 4
    assert documents["evaluation.docx"].title == "Final evaluation of ACTion Lincs"
    assert "close integrated partnership working" in documents["evaluation.docx"].text
    review = documents["review.html"].text
    assert "co-produce the service" in review and "Cookie policy" not in review and "Menu Menu" not in review
    assert documents["notes.txt"].text == "Caf\u00e9 meeting \u2013 na\u00efve plan"
    assert "read as" in documents["notes.txt"].message
    status = corpus_status(store, [CASE_A, CASE_B], min_documents=4).set_index("case_id")
    assert status.loc[CASE_A, "documents"] == 3 and status.loc[CASE_B, "documents"] == 3
    assert status.loc[CASE_A, "lacking"] == 1 and status.loc[CASE_B, "lacking"] == 1
    # idempotent: a second run adds nothing
    again = add_paths(store, [mixed_folder], corpus_folder=mixed_folder, known_cases={CASE_A, CASE_B})
    assert {o.status for o in again.outcomes} == {"unchanged"}
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 5
        assert session.scalar(select(func.count()).select_from(DocumentCase)) == 6
    assert len(rows) == 5 + 6


@pytest.mark.postgres
def test_postgres_gives_the_same_rows(tmp_path: Path, mixed_folder: Path, postgres) -> None:
    sqlite_rows = import_folder(f"sqlite:///{tmp_path / 'a.sqlite'}", mixed_folder)
    postgres_rows = import_folder(postgres.new_database(), mixed_folder)
    assert postgres_rows == sqlite_rows


def encrypted_pdf(source: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(source)).pages[:2]:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_with_document_xml(paragraph: str, change: Callable[[bytes], bytes]) -> bytes:
    """A real DOCX of one paragraph whose word/document.xml is then rewritten by ``change``."""
    valid = zipfile.ZipFile(io.BytesIO(make_docx([paragraph])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as rewritten:
        for item in valid.infolist():
            data = valid.read(item)
            rewritten.writestr(item, change(data) if item.filename == "word/document.xml" else data)
    return out.getvalue()


def zip_bomb_docx() -> bytes:
    return docx_with_document_xml("small", lambda xml: xml.replace(b"small", b"small" + b" " * 60_000_000))


def xxe_docx() -> bytes:
    def declare_entity(xml: bytes) -> bytes:
        head, rest = xml.split(b"?>", 1)
        return (head + b'?><!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                + rest.replace(b"&amp;xxe;", b"&xxe;"))

    return docx_with_document_xml("&xxe;", declare_entity)


def image_only_pdf() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(out, format="PDF")
    return out.getvalue()


def test_bad_inputs_each_get_a_status_and_the_batch_goes_on(tmp_path: Path, refi_qda_dir: Path) -> None:
    spec = (refi_qda_dir / "REFI-QDA-1-5.pdf").read_bytes()
    folder = tmp_path / "bad"
    folder.mkdir()
    files = {
        "a-corrupt.pdf": b"%PDF-1.7\n" + bytes(range(256)) * 40,
        "b-truncated.pdf": spec[: len(spec) // 3],
        "c-encrypted.pdf": encrypted_pdf(spec),
        "d-empty.pdf": b"",
        "e-image-only.pdf": image_only_pdf(),
        "f-bomb.docx": zip_bomb_docx(),
        "g-xxe.docx": xxe_docx(),
        "h-wrong-extension.pdf": make_docx(["A Word file that calls itself a PDF."]),
        "i-legacy.txt": "Gr\u00fc\u00dfe aus K\u00f6ln \u2013 co-production".encode("cp1252"),
        "j-good.txt": b"A plain, good text file.",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    store = open_store(f"sqlite:///{tmp_path / 'bad.sqlite'}")
    report = add_paths(store, [folder])
    outcomes = {Path(o.origin).name: o for o in report.outcomes}
    assert outcomes["a-corrupt.pdf"].status == "failed" and "not a readable PDF" in outcomes["a-corrupt.pdf"].message
    assert outcomes["b-truncated.pdf"].status in ("failed", "added")  # pdfium may recover the first pages
    assert outcomes["c-encrypted.pdf"].status == "failed" and "password" in outcomes["c-encrypted.pdf"].message
    assert outcomes["d-empty.pdf"].status == "empty"
    assert outcomes["e-image-only.pdf"].status == "empty" and "no text layer" in outcomes["e-image-only.pdf"].message
    assert outcomes["f-bomb.docx"].status == "failed" and "zip bomb" in outcomes["f-bomb.docx"].message
    assert outcomes["g-xxe.docx"].status == "failed" and "XXE" in outcomes["g-xxe.docx"].message
    assert outcomes["h-wrong-extension.pdf"].status == "added"
    assert "content is DOCX, not .pdf" in outcomes["h-wrong-extension.pdf"].message
    assert outcomes["i-legacy.txt"].status == "added"
    assert outcomes["j-good.txt"].status == "added"
    for outcome in report.outcomes:  # one line naming the file
        assert "\n" not in outcome.line() and outcome.line().startswith(outcome.origin)
    with store.session() as session:
        legacy = session.scalar(select(Document).where(Document.origin.like("%i-legacy.txt")))
        assert legacy.text == "Gr\u00fc\u00dfe aus K\u00f6ln \u2013 co-production"
        assert "root:" not in session.scalar(select(func.group_concat(Document.text)))
    too_large = add_file(store, folder / "j-good.txt", max_bytes=10)
    assert too_large.status == "too_large" and "over the 10 byte limit" in too_large.message


def test_extraction_of_a_whole_pdf_keeps_page_boundaries(refi_qda_dir: Path) -> None:
    result = extract((refi_qda_dir / "REFI-QDA-1-5.pdf").read_bytes(), "spec.pdf")
    assert result.pages[0] == 0 and result.pages == sorted(result.pages) and len(result.pages) == 60
    for start in result.pages[1:]:
        assert result.text[start - 2:start] == "\n\n"


def test_indigo_records_are_documents(tmp_path: Path, dataset) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    outcomes = add_indigo_records(store, dataset, ["INDIGO-POJ-0168", "INDIGO-POJ-0121"])
    assert [o.status for o in outcomes] == ["added", "added"]
    assert [o.status for o in add_indigo_records(store, dataset, ["INDIGO-POJ-0168"])] == ["unchanged"]
    with store.session() as session:
        record = session.scalar(select(Document).where(Document.origin == "indigo:INDIGO-POJ-0168"))
    assert record.doc_type == "indigo_record"
    assert record.text.startswith("INDIGO record: Big Picture Learning in Doncaster (INDIGO-POJ-0168)")
    assert "\nOutcome metrics\n- Key Stage 3, Metric 1: High Quality Personal Learning Plan" in record.text


CRASH_SCRIPT = """
import sys
from pathlib import Path
from sibkit.store import open_store
from sibkit.corpus import add_paths
store = open_store(sys.argv[1])
add_paths(store, [Path(sys.argv[2])])
"""


def test_a_killed_import_leaves_a_consistent_database_and_resumes(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(300):
        (folder / f"doc{index:03}.txt").write_text(f"Document {index}. " + "partnership working " * 2000)
    url = f"sqlite:///{tmp_path / 'crash.sqlite'}"
    open_store(url).close()
    process = subprocess.Popen([sys.executable, "-c", CRASH_SCRIPT, url, str(folder)])
    store = open_store(url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with store.session() as session:
            if session.scalar(select(func.count()).select_from(Document)) >= 5:
                break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with store.session() as session:
        assert session.scalar(text("PRAGMA integrity_check")) == "ok"
        done = session.scalar(select(func.count()).select_from(Document))
        assert done < 300, "the import finished before it could be killed"
        assert all(len(t) > 1000 for t in session.scalars(select(Document.text)))
    report = add_paths(store, [folder])
    assert report.count("added") == 300 - done and report.count("unchanged") == done
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 300


def test_fetching_a_reading_list(tmp_path: Path, refi_qda_dir: Path) -> None:
    spec = (refi_qda_dir / "REFI-QDA-1-5.pdf").read_bytes()
    routes = {
        "/spec.pdf": Response(200, spec, "application/pdf"),
        "/review": Response(200, HTML_PAGE, "text/html; charset=utf-8"),
        "/report.docx": Response(200, make_docx(["An evaluation report."]), "application/octet-stream"),
        "/busy.pdf": Response(200, spec, "application/pdf"),
        "/huge.pdf": Response(200, spec, "application/pdf"),
    }
    with LocalServer(routes, fail_once={"/busy.pdf"}) as server:
        items = [
            {"url": f"{server.url}/spec.pdf", "title": "REFI-QDA standard", "case_ids": [CASE_A]},
            {"url": f"{server.url}/review", "title": "Programme review", "case_ids": [CASE_A, CASE_B]},
            {"url": f"{server.url}/report.docx", "title": "Evaluation", "case_ids": [CASE_B]},
            {"url": f"{server.url}/missing.pdf", "title": "Gone", "case_ids": [CASE_B]},
            {"url": "ftp://example.org/file.pdf", "title": "FTP", "case_ids": [CASE_B]},
        ]
        store = open_store(f"sqlite:///{tmp_path / 'f.sqlite'}")
        settings = FetchSettings(per_host_delay=0, backoff=0.01, max_bytes=len(spec) + 10, allow_private=True)
        outcomes = fetch_reading_list(store, items, tmp_path / "cache", settings)
        assert [o.status for o in outcomes] == ["added", "added", "added", "failed", "failed"]
        assert outcomes[3].message == "HTTP 404" and outcomes[4].message.startswith("not an http(s) URL")
        retried = fetch_reading_list(store, [{"url": f"{server.url}/busy.pdf", "case_ids": [CASE_A]}],
                                     tmp_path / "cache", settings)
        assert retried[0].status == "unchanged"  # the same bytes as spec.pdf, already linked to CASE_A
        assert server.requests.count("/busy.pdf") == 2  # 503, then the PDF
        small = FetchSettings(per_host_delay=0, max_bytes=1000, allow_private=True)
        limited = fetch_reading_list(store, [{"url": f"{server.url}/huge.pdf", "case_ids": []}],
                                     tmp_path / "cache", small)
        assert limited[0].status == "failed" and "over the 1,000 byte limit" in limited[0].message
        served = len(server.requests)
        again = fetch_reading_list(store, items[:3], tmp_path / "cache", settings)
        assert [o.status for o in again] == ["unchanged"] * 3 and len(server.requests) == served  # from the cache
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(FetchAttempt)) == 10
        assert session.scalar(select(func.count()).select_from(Document)) == 3
    status = corpus_status(store, [CASE_A, CASE_B]).set_index("case_id")
    assert status.loc[CASE_B, "failed_downloads"] == 2 and status.loc[CASE_A, "documents"] == 2
