"""``sibkit corpus fetch`` against a local stand-in for the web: a landing page with attachments (one on
the publisher's asset host), a redirect chain, a dead link with an archive copy, a login wall, a URL
robots.txt disallows, and one document under two URLs. The study's cases list these URLs in a copy
of the INDIGO export; the study allows the loopback network for the test servers."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from sibkit.corpus.gather import Item, attachment_hosts, gather_items, login_wall, read_page
from sibkit.hostile import pdf_file
from sibkit.net import Download
from sibkit.store import Document, DocumentCase, FetchAttempt, open_store
from sibkit.study.model import FetchPolicy
from sibkit.testing import LocalServer, Response, run_cli

# GB impact bonds that went live 2020-2021 in the export of 2025-05-20 (3 struggling, 1 insufficient data)
LANDING, REDIRECT, DEAD, LOGIN = "INDIGO-POJ-0177", "INDIGO-POJ-0195", "INDIGO-POJ-0200", "INDIGO-POJ-0319"
# the other GB impact bonds that went live 2020-2021, excluded so that the study has just the four above
OTHERS = ["INDIGO-POJ-0188", "INDIGO-POJ-0189", "INDIGO-POJ-0192", "INDIGO-POJ-0193", "INDIGO-POJ-0194",
          "INDIGO-POJ-0198", "INDIGO-POJ-0199", "INDIGO-POJ-0201", "INDIGO-POJ-0228", "INDIGO-POJ-0271",
          "INDIGO-POJ-0282", "INDIGO-POJ-0283", "INDIGO-POJ-0284", "INDIGO-POJ-0299", "INDIGO-POJ-0308"]


def tiny_pdf(text: str) -> bytes:
    """A one-page PDF showing ``text`` in Helvetica (built by hand: objects, xref table, trailer)."""
    content = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return pdf_file(objects)


def tiny_docx(text: str) -> bytes:
    from docx import Document as Docx

    document = Docx()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


PDF_A = tiny_pdf("Evaluation of the partnership: relational working and shared responsibility")
PDF_C = tiny_pdf("Final report: the service model was adapted every quarter")
PDF_ARCHIVED = tiny_pdf("Archived case study: co-production with service users")
DOCX_B = tiny_docx("Technical annex: outcome metrics and payments")
ROBOTS = b"User-agent: *\nDisallow: /private/\n"


def _html(body: str) -> Response:
    return Response(200, f"<!doctype html><html><body>{body}</body></html>".encode(), "text/html; charset=utf-8")


def _servers() -> tuple[LocalServer, LocalServer]:
    assets = LocalServer({"/assets/annex.docx": Response(
        200, DOCX_B, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")}, host="127.0.0.2")
    site = LocalServer({
        "/robots.txt": Response(200, ROBOTS, "text/plain"),
        "/pub/report": _html(
            '<h1>Evaluation of the SIB</h1><a href="/files/evaluation.pdf">Evaluation (PDF)</a> '
            f'<a href="{assets.url}/assets/annex.docx">Annex</a> <a href="/about">About us</a> '
            '<a href="http://127.0.0.3:9/elsewhere.pdf">Someone else\'s PDF</a>'),
        "/files/evaluation.pdf": Response(200, PDF_A, "application/pdf"),
        "/mirror/evaluation-copy.pdf": Response(200, PDF_A, "application/pdf"),
        "/old": Response(301, b"", "text/plain", headers={"Location": "/older"}),
        "/older": Response(302, b"", "text/plain", headers={"Location": "/docs/final.pdf"}),
        "/docs/final.pdf": Response(200, PDF_C, "application/pdf"),
        "/archive/gone.pdf": Response(200, PDF_ARCHIVED, "application/pdf"),
        "/portal/doc": Response(302, b"", "text/plain", headers={"Location": "/login?next=/portal/doc"}),
        "/login?next=/portal/doc": _html('<form><input name="user"><input type="password" name="pw"></form>'),
        "/private/internal.pdf": Response(200, tiny_pdf("never fetched"), "application/pdf"),
    })
    return site, assets


def _export_listing(indigo_dir: Path, target: Path, base: str) -> dict[str, list[str]]:
    """Copy the export to ``target``, replacing the four cases' documents and sources with local URLs;
    returns each case's listed URLs."""
    shutil.copytree(indigo_dir, target)
    for path in target.iterdir():
        path.chmod(0o644)
    documents = {
        LANDING: [("Evaluation of the SIB (publication page)", f"{base}/pub/report")],
        REDIRECT: [("Final report", f"{base}/old"), ("Evaluation (mirror)", f"{base}/mirror/evaluation-copy.pdf")],
        LOGIN: [("Contract documents (portal)", f"{base}/portal/doc"),
                ("Internal memo", f"{base}/private/internal.pdf")],
    }
    sources = {DEAD: [("Case study", f"{base}/gone.pdf", f"{base}/archive/gone.pdf")]}
    cases = set(documents) | set(sources)
    for name, rows_for, width in (("projects_documents.csv", documents, None), ("projects_sources.csv", sources, 11)):
        with open(target / name, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        kept = [rows[0]] + [r for r in rows[1:] if r[0] not in cases]
        for case, entries in rows_for.items():
            for number, entry in enumerate(entries, start=1):
                if width is None:
                    kept.append([case, entry[0], entry[1], ""])
                else:
                    row = [""] * width
                    row[0], row[1], row[2], row[5], row[6] = case, f"source{number}", entry[0], entry[1], entry[2]
                    kept.append(row)
        with open(target / name, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(kept)
    listed = {case: [e[1] for e in entries] for case, entries in {**documents, **sources}.items()}
    return listed


def _study(folder: Path, data: Path) -> Path:
    study = folder / "study.yaml"
    study.write_text(f"""title: Fetch shapes
data: {data}
selection:
  - countries: [GB]
  - live_years: {{from: 2020, to: 2021}}
  - exclude: [{", ".join("{id: " + case + "}" for case in OTHERS)}]
corpus:
  fetch:
    delay: 0
    timeout: 10
    allow_networks: [127.0.0.0/8]   # the local test servers stand in for the web
    asset_hosts: {{"127.0.0.1": ["127.0.0.2"]}}
analysis:
  permutations: 99
  bootstrap: 100
""", encoding="utf-8")
    return study


def test_a_study_gathers_every_shape_and_the_report_shows_listed_held_coded(
        tmp_path: Path, indigo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site, assets = _servers()
    monkeypatch.setenv("SIBKIT_DATA", str(tmp_path / "data"))
    try:
        listed = _export_listing(indigo_dir, tmp_path / "export", site.url)
        study = _study(tmp_path, tmp_path / "export")

        planned = run_cli("corpus", "fetch", str(study), "--plan", "--json")
        assert planned.returncode == 0, planned.stderr
        plan = {row["url"]: row for row in json.loads(planned.stdout)["items"]}
        assert set(plan) == {url for urls in listed.values() for url in urls}
        assert plan[f"{site.url}/pub/report"]["action"] == "download and follow"
        assert "127.0.0.2" in plan[f"{site.url}/pub/report"]["why"]
        assert plan[f"{site.url}/mirror/evaluation-copy.pdf"]["action"] == "download"
        assert plan[f"{site.url}/gone.pdf"]["fallback"] == f"archive copy {site.url}/archive/gone.pdf"
        assert site.requests == [] and assets.requests == []  # the plan touches no network

        fetched = run_cli("corpus", "fetch", str(study))
        assert fetched.returncode == 0, fetched.stderr
        assert "not_public" in fetched.stderr and "login" in fetched.stderr
        assert "disallowed" in fetched.stderr and "robots.txt" in fetched.stderr
        assert "/private/internal.pdf" not in site.requests
        assert "/login?next=/portal/doc" in site.requests
        assert assets.requests == ["/robots.txt", "/assets/annex.docx"]
        first_requests = list(site.requests)

        store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
        with store.session() as session:
            documents = {d.origin: d for d in session.scalars(select(Document))}
            links = {(row.document_id, row.case_id) for row in session.scalars(select(DocumentCase))}
            attempts = [(a.url.removeprefix(site.url).removeprefix(assets.url), a.status, a.relation,
                         (a.source_url or "").removeprefix(site.url))
                        for a in session.scalars(select(FetchAttempt).order_by(FetchAttempt.id))]
        # the landing page is followed to its two attachments; the page itself is not stored
        assert ("/files/evaluation.pdf", "added", "attachment", "/pub/report") in attempts
        assert ("/assets/annex.docx", "added", "attachment", "/pub/report") in attempts
        assert ("/pub/report", "landing", "listed", "") in attempts
        assert not any("elsewhere" in a[0] or "/about" in a[0] for a in attempts)
        # the redirect chain ends at the PDF, stored under the listed URL
        final = documents[f"{site.url}/old"]
        assert "adapted every quarter" in final.text
        # the same bytes under a second URL: one document, linked to both cases
        assert ("/mirror/evaluation-copy.pdf", "linked", "listed", "") in attempts
        evaluation = documents[f"{site.url}/files/evaluation.pdf"]
        assert {(evaluation.id, LANDING), (evaluation.id, REDIRECT)} <= links
        assert f"{site.url}/mirror/evaluation-copy.pdf" not in documents
        # the dead link falls back to its archive copy
        assert ("/gone.pdf", "dead", "listed", "") in attempts
        assert ("/archive/gone.pdf", "added", "archive", "/gone.pdf") in attempts
        assert "co-production" in documents[f"{site.url}/archive/gone.pdf"].text
        # the login wall is marked not public and nothing of it is stored
        assert ("/portal/doc", "not_public", "listed", "") in attempts
        assert ("/private/internal.pdf", "disallowed", "listed", "") in attempts
        assert len(documents) == 4  # evaluation.pdf, annex.docx, final.pdf (via /old), the archive copy

        # a second run resumes: everything is settled, nothing is asked of the servers
        again = run_cli("corpus", "fetch", str(study))
        assert again.returncode == 0, again.stderr
        assert "skipped: 6" in again.stdout
        assert site.requests == first_requests

        ran = run_cli("run", str(study))
        assert ran.returncode == 0, ran.stderr
        by_case = pd.read_csv(tmp_path / "report" / "evidence-by-case.csv").set_index("case_id")
        assert by_case.loc[[LANDING, REDIRECT, DEAD, LOGIN], ["listed", "held", "coded"]].to_dict("index") == {
            LANDING: {"listed": 1, "held": 3, "coded": 3},   # page listed; two attachments + the INDIGO record
            REDIRECT: {"listed": 2, "held": 3, "coded": 3},  # final.pdf, the shared evaluation, the record
            DEAD: {"listed": 1, "held": 2, "coded": 2},      # the archive copy, the record
            LOGIN: {"listed": 2, "held": 1, "coded": 1},     # the record only
        }
        assert list(by_case.loc[by_case["record_only"]].index) == [LOGIN]
        html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
        assert "Documents for the 4 cases: <strong>6</strong> listed" in html
        assert 'id="exploratory"' not in html  # 3 of 4 cases have documents beyond the record
    finally:
        site.close()
        assets.close()


def test_an_interrupted_fetch_resumes_without_asking_again(tmp_path: Path) -> None:
    site, assets = _servers()
    try:
        store = open_store(f"sqlite:///{tmp_path / 'resume.sqlite'}")
        policy = FetchPolicy(delay=0, allow_networks=["127.0.0.0/8"])
        items = [Item(f"{site.url}/files/evaluation.pdf", "Evaluation", ["C1"]),
                 Item(f"{site.url}/docs/final.pdf", "Final", ["C2"])]

        def stop(done: int, total: int) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            gather_items(store, items, tmp_path / "cache", policy, progress=stop)
        assert site.requests == ["/robots.txt", "/files/evaluation.pdf"]
        outcomes = gather_items(store, items, tmp_path / "cache", policy)
        assert [o.status for o in outcomes] == ["skipped", "added"]
        assert site.requests == ["/robots.txt", "/files/evaluation.pdf", "/docs/final.pdf"]  # robots.txt cached
    finally:
        site.close()
        assets.close()


def test_private_addresses_are_refused_unless_the_study_allows_them(tmp_path: Path) -> None:
    site, assets = _servers()
    try:
        store = open_store(f"sqlite:///{tmp_path / 'guard.sqlite'}")
        item = Item(f"{site.url}/files/evaluation.pdf", "Evaluation", ["C1"])
        refused = gather_items(store, [item], tmp_path / "cache", FetchPolicy(delay=0))
        assert [o.status for o in refused] == ["refused"] and site.requests == []
        # a redirect to an address the study does not allow is refused at the hop
        hop = LocalServer({"/jump": Response(302, b"", "text/plain",
                                             headers={"Location": f"{site.url}/files/evaluation.pdf"})},
                          host="127.0.0.4")
        try:
            policy = FetchPolicy(delay=0, robots=False, allow_networks=["127.0.0.4/32"])
            jumped = gather_items(store, [Item(f"{hop.url}/jump", "Jump", ["C1"])], tmp_path / "cache2", policy)
            assert [o.status for o in jumped] == ["refused"] and site.requests == []
        finally:
            hop.close()
    finally:
        site.close()
        assets.close()


def test_landing_page_rules() -> None:
    page = read_page(b'<a href="/a.pdf">A</a><a href="https://assets.publishing.service.gov.uk/m/b.pdf">B</a>'
                     b'<a href="https://evil.example/c.pdf">C</a><a href="/d.html">D</a>',
                     "https://www.gov.uk/government/publications/x")
    assert [url for url, _ in page.links] == ["https://www.gov.uk/a.pdf",
                                              "https://assets.publishing.service.gov.uk/m/b.pdf",
                                              "https://evil.example/c.pdf", "https://www.gov.uk/d.html"]
    assert "assets.publishing.service.gov.uk" in attachment_hosts("https://www.gov.uk/x", {})
    assert "assets.publishing.service.gov.uk" not in attachment_hosts("https://www.stroud.gov.uk/news", {})
    cdn = {"example.org": ["files.example-cdn.net"]}
    assert "files.example-cdn.net" in attachment_hosts("https://www.example.org/r", cdn)
    from sibkit.corpus.gather import attachments

    assert [u for u, _ in attachments(page, "https://www.gov.uk/government/publications/x", FetchPolicy())] == [
        "https://www.gov.uk/a.pdf", "https://assets.publishing.service.gov.uk/m/b.pdf"]
    wall = Download(url="https://x.org/doc", status="http_error", http_status=403)
    assert login_wall(wall, None, []) == "HTTP 403: the site asks for a login"
    moved = Download(url="https://x.org/doc", status="ok", final_url="https://x.org/account/signin?next=doc",
                     redirects=["https://x.org/account/signin?next=doc"])
    assert login_wall(moved, None, []) is not None
    assert login_wall(Download(url="https://portal.example/x", status="ok"), None, ["portal.example"]) is not None
    assert login_wall(Download(url="https://x.org/doc.pdf", status="ok"), None, []) is None


def test_document_kinds_of_listed_and_held_documents() -> None:
    from sibkit.corpus.evidence import document_kind

    assert document_kind("INDIGO record: X", "indigo:INDIGO-POJ-0001", declared="indigo_record") == "INDIGO record"
    assert document_kind("Anything", None, declared="evaluation") == "evaluation"
    assert document_kind("Case Study - Chances",
                         "https://golab.bsg.ox.ac.uk/knowledge-bank/case-studies/chances/") == "case study"
    assert document_kind("Commissioning Better Outcomes Evaluation (3rd Update Report)", None) == "evaluation"
    assert document_kind("Notice", "https://www.contractsfinder.service.gov.uk/Notice/abc") == "contract or notice"
    assert document_kind("Email exchange with Bridges Fund Management on 02/02/2022", None) == "correspondence"
    assert document_kind("CBO project updates 2023-10", None) == "project update"
    assert document_kind("Press coverage", "https://example.org/x", source_type="Press release") \
        == "news or press release"
    assert document_kind("Home", "https://example.org/about", source_type="Website") == "web page"
    assert document_kind("Annex", "https://example.org/annex.pdf") == "other"
