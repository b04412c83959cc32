"""The cases of issue 26 for ``benchmarks/hostile.py``: the web app and the workbench under attack, links out of
the corpus, YAML bombs, inputs sized to be quadratic, REFI-QDA projects that used to crash, the download
deadline, concurrent imports on SQLite and peak memory against the budget.

Each ``section_*`` returns rows ``(what, figure, failed)``; ``hostile.py`` prints them and fails the run when
any row failed. Everything is served on 127.0.0.1/127.0.0.x; nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

Row = tuple[str, str, bool]
PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parents[1]
#: what the "sizes" figures are set beside: published figures, not a baseline measured in this run
EARLIER = "the code before issue 26, in an earlier run"


def _timed(work: Callable[[], object]) -> tuple[float, object]:
    started = time.monotonic()
    result = work()
    return time.monotonic() - started, result


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    return found.group(1) if found else ""


# -- the web app and the workbench ---------------------------------------------------------------------


def section_web(root: Path) -> list[Row]:
    import httpx
    from sqlalchemy import func, select

    from sibkit.coding.review import decision_log
    from sibkit.store import Memo, open_store
    from sibkit.web.server import BackgroundServer
    from sibkit.workbench.auth import add_user, sign_in
    from sibkit.workbench.routes import Workbench, standalone_app
    from sibkit.workbench.sample import THEMES, add_sample_corpus

    rows: list[Row] = []
    store = open_store(f"sqlite:///{root / 'web.sqlite'}")
    add_sample_corpus(store, documents=3, references_per_document=3, hostile=True)
    bench = Workbench(store, list(THEMES), single_user="ann")
    huge, big = str(10**30), str(2**63)
    with BackgroundServer(standalone_app(bench)) as server, httpx.Client(base_url=server.url) as client:
        token = _csrf(client.get("/review/queue").text)
        evil = {"Host": "evil.example", "Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin"}
        pages = ("/review", "/review/queue", "/review/documents/1")
        answered = [client.get(p, headers=evil).status_code for p in pages]
        answered += [client.post("/review/decide", headers=evil, data={"csrf": token, "reference_id": 1,
                                                                       "decision": "accept"}).status_code,
                     client.post("/review/memo", headers=evil, data={"csrf": token, "target_kind": "reference",
                                                                     "target_id": "1", "text": "planted"}).status_code]
        served = sum(code < 400 for code in answered)
        rows.append(("DNS rebinding: requests for Host evil.example answered", f"{served} of {len(answered)} "
                     f"(statuses {sorted(set(answered))})", served > 0))
        heads = client.head("/review/queue").status_code
        allow = client.get("/review/decide").headers.get("allow", "")
        rows.append(("HEAD like GET; 405 names Allow", f"HEAD {heads}; 405 Allow: {allow!r}",
                     heads != 200 or not allow))
        odd = [f"/review/queue?ref={huge}", f"/review/queue?ref={big}", f"/review/queue?after={huge}",
               f"/review/documents/{huge}", f"/review/documents/{big}", "/review/queue?theme=%00",
               "/review/queue?case=%00", f"/review/documents/1?ref={big}"]
        errors = [p for p in odd if client.get(p).status_code >= 500]
        forms = [{"reference_id": huge, "decision": "accept"}, {"reference_id": big, "decision": "accept"},
                 {"target_kind": "reference", "target_id": "9" * 81, "text": "x"},
                 {"target_kind": "reference", "target_id": "1", "text": "nul \x00"},
                 {"target_kind": "document", "target_id": "99999", "text": "on nothing"}]
        for form in forms:
            path = "/review/decide" if "decision" in form else "/review/memo"
            if client.post(path, data={"csrf": token, **form}).status_code >= 500:
                errors.append(f"POST {path} {sorted(form)}")
        rows.append(("odd ids and text (10^30, 2^63, NUL, 81-character targets, memos on nothing): 500s",
                     f"{len(errors)} of {len(odd) + len(forms)}", bool(errors)))
        page = client.get("/review/queue").text
        key = re.search(r'name="request_key" value="([^"]+)"', page)
        hit = re.search(r'data-reference="(\d+)"', page)
        before = len(decision_log(store))
        if key and hit:
            for _ in range(3):
                client.post("/review/decide", data={"csrf": token, "reference_id": hit.group(1), "decision": "accept",
                                                    "request_key": key.group(1)})
        stored = len(decision_log(store)) - before
        rows.append(("a decide POST sent three times: decisions stored", str(stored), stored != 1))
    with store.session() as session:
        planted = session.scalar(select(func.count()).select_from(Memo).where(Memo.text == "planted"))
    rows.append(("memos planted through another host name", str(planted), bool(planted)))

    for name, role in (("lead", "admin"), ("ann", "coder"), ("bob", "coder")):
        add_user(store, name, PASSWORD, role)
    bench = Workbench(store, list(THEMES))
    with BackgroundServer(standalone_app(bench)) as server:
        with httpx.Client(base_url=server.url) as client:
            token = _csrf(client.get("/review/login").text)
        answers: list[int] = []
        gate = threading.Barrier(30)

        def guess() -> None:
            with httpx.Client(base_url=server.url) as guesser:
                gate.wait()
                answers.append(guesser.post("/review/login", data={"csrf": token, "name": "ann",
                                                                  "password": "wrong"}).status_code)

        threads = [threading.Thread(target=guess) for _ in range(30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        evaluated = answers.count(401)
        rows.append(("30 concurrent wrong passwords for one name: evaluated", f"{evaluated} (limit 5)", evaluated > 5))
        with httpx.Client(base_url=server.url, transport=httpx.HTTPTransport(local_address="127.0.0.4")) as client:
            rotated = []
            for i in range(8):
                token = _csrf(client.get("/review/login").text)
                rotated.append(client.post("/review/login", data={"csrf": token, "name": f"user{i}", "password": "x"},
                                           headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code)
        rows.append(("wrong passwords with a rotating X-Forwarded-For: evaluated", f"{rotated.count(401)} of 8 "
                     "(limit 5 per address)", rotated.count(401) > 5))
        transport = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(base_url=server.url, transport=transport) as owner:
            token = _csrf(owner.get("/review/login").text)
            status = owner.post("/review/login", data={"csrf": token, "name": "ann", "password": PASSWORD}).status_code
        rows.append(("the owner, from another address, after an attack on her name", f"HTTP {status}", status != 303))
        with httpx.Client(base_url=server.url) as lead, httpx.Client(base_url=server.url) as ann, \
                httpx.Client(base_url=server.url, transport=httpx.HTTPTransport(local_address="127.0.0.3")) as bob:
            for client, name in ((lead, "lead"), (ann, "ann"), (bob, "bob")):
                token = _csrf(client.get("/review/login").text)
                client.post("/review/login", data={"csrf": token, "name": name, "password": PASSWORD})
            lead.post("/review/admin/blind", data={"csrf": _csrf(lead.get("/review/admin").text), "blind": "on"})
            page = ann.get("/review/queue").text
            hit = re.search(r'data-reference="(\d+)"', page)
            leaked = 0
            if hit:
                ann.post("/review/memo", data={"csrf": _csrf(page), "target_kind": "reference",
                                               "target_id": hit.group(1), "text": "ann's blind memo"})
                leaked = int("ann's blind memo" in bob.get(f"/review/queue?ref={hit.group(1)}").text)
        rows.append(("blind round: other coders' memos shown", str(leaked), bool(leaked)))
    real = [_timed(lambda: sign_in(store, "ann", "wrong password"))[0] for _ in range(7)]
    unknown = [_timed(lambda: sign_in(store, "nobody-here", "wrong password"))[0] for _ in range(7)]
    ratio = statistics.median(unknown) / statistics.median(real)
    rows.append(("sign-in time, unknown name / real name (median of 7)",
                 f"{statistics.median(unknown) * 1000:.0f} ms / {statistics.median(real) * 1000:.0f} ms = {ratio:.2f}",
                 not 0.6 < ratio < 1.6))
    store.close()
    return rows


def section_team_study(root: Path, indigo: Path) -> list[Row]:
    import httpx

    from sibkit.indigo import load
    from sibkit.store import Document, DocumentCase, open_store
    from sibkit.study import load_study
    from sibkit.web import create_app
    from sibkit.web.server import BackgroundServer
    from sibkit.workbench.auth import add_user

    path = root / "team.yaml"
    path.write_text(f"title: Team\ndata: {indigo}\n", encoding="utf-8")
    study = load_study(path)
    study._dataset = load(indigo)
    store = open_store(study.database_url())
    secret_path = str(root / "private" / "final-report.pdf")
    with store.session() as session:
        document = Document(sha256=hashlib.sha256(b"final").hexdigest(), title="Final report", origin=secret_path,
                            status="ok", text="x")
        document.cases.append(DocumentCase(case_id="INDIGO-POJ-0110"))
        session.add(document)
    add_user(store, "lead", PASSWORD, "admin")
    leaks = []
    with BackgroundServer(create_app(study._dataset, study)) as server, httpx.Client(base_url=server.url) as client:
        for page in ("/study", "/api/study", "/download/study/documents.csv", "/download/study/cases.csv"):
            answer = client.get(page, follow_redirects=False)
            if answer.status_code == 200 or "Final report" in answer.text:
                leaks.append(page)
        token = _csrf(client.get("/review/login").text)
        client.post("/review/login", data={"csrf": token, "name": "lead", "password": PASSWORD})
        pages = ("/study", "/api/study", "/download/study/documents.csv")
        shown = sum(secret_path in client.get(p).text for p in pages)
    store.close()
    return [("team mode: study pages served without a session", f"{len(leaks)} of 4", bool(leaks)),
            ("study pages showing a server file path (signed in)", f"{shown} of 3", bool(shown))]


# -- links out of the corpus, YAML, sizes ----------------------------------------------------------------


def section_links(root: Path, secret: str) -> list[Row]:
    from sqlalchemy import func, select

    from sibkit.corpus.importer import add_paths
    from sibkit.store import Document, open_store

    folder = root / "explicit" / "INDIGO-POJ-0110"
    folder.mkdir(parents=True)
    (folder / "evaluation.txt").write_text("Partnership working, evaluated.", encoding="utf-8")
    outside = root / "explicit-outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"{secret} in a private file", encoding="utf-8")
    for name, target in (("report.txt", outside / "secret.txt"), ("passwd.txt", Path("/etc/passwd")),
                         ("status.txt", Path("/proc/self/status"))):
        (folder / name).symlink_to(target)
    store = open_store(f"sqlite:///{root / 'explicit.sqlite'}")
    report = add_paths(store, sorted(folder.iterdir()))  # `corpus add s.yaml corpus/INDIGO-POJ-0110/*`
    with store.session() as session:
        leaked = session.scalar(select(func.count()).select_from(Document).where(
            Document.text.contains(secret) | Document.text.contains("root:") | Document.text.contains("VmPeak")))
    store.close()
    return [("files named directly that link out of their folder: stored", f"{leaked} of 3 "
             f"({report.count('refused')} refused, each with a line)", bool(leaked))]


def _bomb(levels: int) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels + 1)]
    return "\n".join([*lines, f"selection: *l{levels}"]) + "\n"


def section_yaml() -> list[Row]:
    from sibkit.errors import SibkitError
    from sibkit.study.model import parse_study

    rows: list[Row] = []
    for levels in (7, 9, 12):
        started = time.monotonic()
        try:
            parse_study(_bomb(levels), "bomb.yaml")
            outcome = "accepted"
        except SibkitError as exc:
            outcome = str(exc)[:70]
        seconds = time.monotonic() - started
        rows.append((f"YAML alias bomb, {levels} levels (9^{levels} values)", f"{seconds:.3f} s: {outcome}",
                     seconds > 2 or outcome == "accepted"))
    try:
        parse_study("title: One\ntitle: Two\n", "twice.yaml")
        outcome = "accepted (the later value kept silently)"
    except SibkitError as exc:
        outcome = str(exc)
    rows.append(("a key given twice", outcome[:110], "accepted" in outcome))
    return rows


def _codes(count: int, namespace: str) -> str:
    codes = "".join(f'<Code guid="{uuid.UUID(int=i + 1)}" name="Code {i}" isCodable="true"/>' for i in range(count))
    return f'<?xml version="1.0" encoding="utf-8"?><CodeBook xmlns="{namespace}"><Codes>{codes}</Codes></CodeBook>'


def section_sizes(root: Path, indigo: Path, codes: int, postgres_url: str | None) -> list[Row]:
    from sibkit.indigo import load
    from sibkit.interop.codes import import_qdc
    from sibkit.interop.importer import import_qdpx
    from sibkit.study import load_study
    from sibkit.study.model import parse_study
    from sibkit.study.selection import select
    from sibkit.testing import make_zip

    rows: list[Row] = []
    (root / "big.qdc").write_text(_codes(codes, "urn:QDA-XML:codebook:1.0"), encoding="utf-8")
    seconds, _ = _timed(lambda: import_qdc(root / "big.qdc", root / "big.yaml"))
    rows.append((f"import qdc of {codes:,} codes", f"{seconds:.1f} s ({EARLIER}: 138 s at 100,000)",
                 seconds > 120))
    inner = _codes(codes, "urn:QDA-XML:project:1.0").split("<Codes>", 1)[1].split("</Codes>", 1)[0]
    archive = make_zip(root / "big.qdpx", {"project.qde": '<?xml version="1.0" encoding="utf-8"?><Project xmlns='
                                           f'"urn:QDA-XML:project:1.0" name="big"><CodeBook><Codes>{inner}</Codes>'
                                           "</CodeBook></Project>"})
    (root / "big-study.yaml").write_text(f"title: big\ndata: {indigo}\n", encoding="utf-8")
    study = load_study(root / "big-study.yaml")
    seconds, _ = _timed(lambda: import_qdpx(archive, study))
    rows.append((f"import qdpx of {codes:,} codes", f"{seconds:.1f} s ({EARLIER}: over 180 s at 100,000)",
                 seconds > 150))
    dataset = load(indigo)
    ids = sorted(dataset.projects["id"])
    kinds = ("  - include: [{{id: {id}}}]\n", "  - exclude: [{{id: {id}, reason: r}}]\n",
             "  - countries: [GB, US, FR, PT, NL, AU, IL]\n", "  - min_documents: 1\n")
    text = "selection:\n" + "".join(kinds[i % 4].format(id=ids[(i * 7) % len(ids)]) for i in range(20_000))
    seconds, _ = _timed(lambda: select(parse_study(text), dataset))
    rows.append(("20,000 selection steps (read and applied)", f"{seconds:.1f} s ({EARLIER}: over 60 s)",
                 seconds > 60))
    for label, url in (("SQLite", f"sqlite:///{root / 'refs.sqlite'}"), ("PostgreSQL", postgres_url)):
        if url is None:
            rows.append((f"review export of 100,000 references on {label}", "skipped (no PostgreSQL server)", False))
            continue
        try:
            seconds, count = _timed(lambda url=url: _export_100000(url))
            rows.append((f"review export of 100,000 references on {label}", f"{count:,} rows in {seconds:.1f} s",
                         count != 100_000))
        except Exception as exc:  # the crash this row is here to catch
            rows.append((f"review export of 100,000 references on {label}", f"crashed: {str(exc)[:80]}", True))
    return rows


def _export_100000(url: str) -> int:
    from sqlalchemy import text

    from sibkit.coding import export_rows
    from sibkit.store import open_store

    store = open_store(url)
    postgres = store.engine.dialect.name == "postgresql"
    numbers = ("generate_series(1, 100000) AS n(i)" if postgres else "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL "
               "SELECT i + 1 FROM s WHERE i < 100000) SELECT i FROM s) AS n")
    with store.engine.begin() as connection:
        connection.execute(text("INSERT INTO documents (id, sha256, title, doc_type, origin, media_type, text, pages, "
                                "word_count, status, message, added_at) VALUES (1, :sha, 'Big', 'evaluation', 'b', "
                                "'text/plain', :body, '[0]', 1, 'ok', '', CURRENT_TIMESTAMP)"),
                           {"sha": "0" * 64, "body": "A trusted relationship. " * 5000})
        connection.execute(text("INSERT INTO document_cases (document_id, case_id) VALUES (1, 'C')"))
        connection.execute(text('INSERT INTO "references" (id, document_id, theme, term, start, "end", page, origin, '
                                "codebook_hash, created_at, negated) SELECT n.i, 1, 'trust', 't', n.i, n.i + 5, 0, "
                                f"'semantic', '', CURRENT_TIMESTAMP, {'false' if postgres else '0'} FROM {numbers}"))
        connection.execute(text("INSERT INTO suggestions (reference_id, model, model_version, score, compared_with, "
                                "paragraph_start, paragraph_end, created_at) SELECT n.i, 'm', '1', 0.7, 'e', 0, 10, "
                                f"CURRENT_TIMESTAMP FROM {numbers}"))
    try:
        return len(export_rows(store))
    finally:
        store.close()


# -- REFI-QDA projects, the download deadline, concurrent writers, memory --------------------------------


def section_qdpx(root: Path, secret: str) -> list[Row]:
    import struct
    import zipfile

    from sqlalchemy import func, select

    from sibkit.errors import SibkitError
    from sibkit.interop.importer import import_qdpx
    from sibkit.store import Document, Memo, open_store
    from sibkit.study import load_study
    from sibkit.testing import make_zip

    g = "00000000-0000-4000-8000-{:012d}".format
    head = '<?xml version="1.0" encoding="UTF-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="h">'
    projects = {
        "same-guids.qdpx": {"project.qde": head + f'<Cases><Case guid="{g(2)}" name="a"/><Case guid="{g(2)}" name="b"/>'
                            f'<Case name="none"/></Cases><Sets><Set guid="{g(3)}" name="s"/><Set guid="{g(3)}" '
                            f'name="t"/></Sets><CodeBook><Codes><Code guid="{g(1)}" name="c" isCodable="true"/>'
                            f'<Code guid="{g(1)}" name="d" isCodable="true"/></Codes></CodeBook></Project>'},
        "long-values.qdpx": {"project.qde": head + f'<CodeBook><Codes><Code guid="{g(1)}" name="c" isCodable="true" '
                             f'color="#{"f" * 300}"/></Codes></CodeBook><Variables><Variable guid="{g(5)}" name="v" '
                             f'typeOfVariable="{"Float" * 40}"/></Variables><Sources><TextSource guid="{g(10)}" '
                             f'name="n" plainTextPath="internal://nul.txt"><PlainTextSelection guid="{"x" * 300}" '
                             f'startPosition="0" endPosition="3"><Coding guid="{"y" * 300}"><CodeRef targetGUID='
                             f'"{g(1)}"/></Coding></PlainTextSelection></TextSource></Sources></Project>',
                             "sources/nul.txt": b"Alpha\x00 beta"},
        "outside.qdpx": {"project.qde": head + f'<Sources><TextSource guid="{g(10)}" name="o" plainTextPath='
                         f'"relative://beside.txt"/></Sources><Notes><Note guid="{g(40)}" name="n" plainTextPath='
                         '"beside.txt"/></Notes></Project>'},
    }
    (root / "qdpx").mkdir()
    (root / "qdpx" / "beside.txt").write_text(f"{secret} beside the archive", encoding="utf-8")
    paths = [make_zip(root / "qdpx" / name, members) for name, members in projects.items()]
    lying = root / "qdpx" / "lying.qdpx"
    with zipfile.ZipFile(lying, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("project.qde", head + f'<Sources><TextSource guid="{g(10)}" name="b" plainTextPath='
                         '"internal://big.txt"/></Sources></Project>')
        archive.writestr("sources/big.txt", b"Alpha beta gamma. " * 200)
    raw = bytearray(lying.read_bytes())
    with zipfile.ZipFile(lying) as archive:
        info = archive.getinfo("sources/big.txt")
    central = raw.rfind(b"PK\x01\x02")
    for offset in (info.header_offset + 18, info.header_offset + 22, central + 20, central + 24):
        struct.pack_into("<I", raw, offset, 10)
    lying.write_bytes(bytes(raw))
    paths.append(lying)
    crashes, lines = [], 0
    for database in ("sqlite", "postgresql") if os.environ.get("SIBKIT_BENCH_PG") else ("sqlite",):
        url = os.environ["SIBKIT_BENCH_PG"] if database == "postgresql" else f"sqlite:///{root / 'qdpx.sqlite'}"
        (root / "qdpx-study.yaml").write_text(f"title: q\ncorpus:\n  database: {url}\n", encoding="utf-8")
        study = load_study(root / "qdpx-study.yaml")
        for path in paths:
            try:
                lines += len(import_qdpx(path, study).problems)
            except SibkitError:
                lines += 1
            except Exception as exc:
                crashes.append(f"{database} {path.name}: {type(exc).__name__}")
        store = open_store(url)
        with store.session() as session:
            outside = (session.scalar(select(func.count()).select_from(Document).where(Document.text.contains(secret)))
                       or 0) + (session.scalar(select(func.count()).select_from(Memo).where(Memo.text.contains(secret)))
                                or 0)
        store.close()
    return [(f"REFI-QDA projects that used to crash ({len(paths)}: same or no GUIDs, long values, NUL, a lying "
             "zip header, files beside the archive)", f"{len(crashes)} crashes, {lines} clear lines", bool(crashes)),
            ("files beside the archive read without --sources", str(outside), bool(outside))]


def section_deadline(root: Path) -> list[Row]:
    from sibkit.corpus.fetch import Fetcher, FetchSettings
    from sibkit.testing import LocalServer, Response

    with LocalServer({"/stall": Response(200, b"x" * 100, "text/plain", byte_delay=0.5)}) as server:
        fetcher = Fetcher(root / "fetch-cache", FetchSettings(timeout=2.0, retries=2, backoff=0.1, per_host_delay=0,
                                                              allow_networks=("127.0.0.1/32",)))
        seconds, download = _timed(lambda: fetcher.download(server.url + "/stall"))
        fetcher.close()
        tries = server.requests.count("/stall")
    return [("a stalled download with a 2 s timeout and 2 retries", f"{seconds:.1f} s, {tries} request(s): "
             f"{download.status}", seconds > 3 or tries != 1)]  # type: ignore[attr-defined]


def _run_many(script: str, arguments: list[list[str]]) -> list[subprocess.CompletedProcess]:
    processes = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for args in arguments]
    done = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def section_concurrent(root: Path) -> list[Row]:
    from sqlalchemy import func, select

    from sibkit.store import Document, open_store

    for worker in range(8):
        folder = root / f"concurrent-{worker}"
        folder.mkdir()
        for index in range(40):
            (folder / f"doc-{index}.txt").write_text(f"Worker {worker} document {index}. " * 30_000, encoding="utf-8")
    url = f"sqlite:///{root / 'concurrent.sqlite'}"
    open_store(url).close()
    started = time.monotonic()
    results = _run_many("""
        import sys
        from pathlib import Path
        from sibkit.corpus.importer import add_paths
        from sibkit.store import open_store
        report = add_paths(open_store(sys.argv[1]), [Path(sys.argv[2])], batch_size=5)
        print(report.count("added"))
    """, [[url, str(root / f"concurrent-{w}")] for w in range(8)])
    seconds = time.monotonic() - started
    store = open_store(url)
    with store.session() as session:
        stored = session.scalar(select(func.count()).select_from(Document)) or 0
    store.close()
    failed = sum(r.returncode != 0 for r in results)
    return [("8 concurrent imports on SQLite (40 x 0.9 MB each)", f"{stored} of 320 stored, {failed} processes "
             f"failed, {seconds:.0f} s", stored != 320 or failed > 0)]


def _peak(script: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, float, float, str]:
    """(exit status, peak MiB of the process, of its largest child (the extraction worker), its output line)."""
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})
    out, _ = process.communicate(timeout=900)
    lines = out.strip().splitlines()
    try:
        _, own, child = (float(v) for v in lines[-1].split())
    except (IndexError, ValueError):
        return process.returncode, 0.0, 0.0, (lines[-1] if lines else "no output")[:200]
    return process.returncode, own, child, lines[-2] if len(lines) > 1 else ""


PEAK = """
    import resource, sys
    from pathlib import Path
    {body}
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(max(self_peak, child_peak), self_peak, child_peak)
"""


def section_memory(root: Path, html_mb: int, qde_mb: int, budget_mb: int) -> list[Row]:
    rows: list[Row] = []
    body = "<p>Partnership working and shared outcomes, paragraph after paragraph.</p>\n"
    html = root / "memory" / "CASE" / "big.html"
    html.parent.mkdir(parents=True)
    with html.open("w", encoding="utf-8") as handle:
        handle.write("<html><body>")
        for _ in range(html_mb * 1024 * 1024 // len(body)):
            handle.write(body)
        handle.write("</body></html>")
    for index in range(40):  # and a batch of long documents
        (html.parent / f"long-{index}.txt").write_text(f"Document {index}. " + "word " * 1_000_000, encoding="utf-8")
    status, own, child, line = _peak(PEAK.format(body=textwrap.indent(textwrap.dedent("""
        from sibkit.corpus.importer import add_paths
        from sibkit.corpus.budget import close_worker
        from sibkit.store import open_store
        report = add_paths(open_store(sys.argv[1]), [Path(sys.argv[2])])
        close_worker()
        print(dict(report.counts), [o.line()[-90:] for o in report.problems][:1])
    """), "    ").strip()), f"sqlite:///{root / 'memory.sqlite'}", str(html.parent),
        env={"SIBKIT_MEMORY_MB": str(budget_mb)})
    rows.append((f"corpus add: a {html_mb} MB HTML page and 40 documents of 5 MB (budget {budget_mb} MiB)",
                 f"peak: importer {own:,.0f} MiB, extraction worker {child:,.0f} MiB; {line[:100]}",
                 status != 0 or own > budget_mb / 2 or child > budget_mb * 1.25))
    import random
    import string

    rng = random.Random(5)
    qde = root / "memory" / "big.qdpx"
    import zipfile

    with zipfile.ZipFile(qde, "w", zipfile.ZIP_DEFLATED) as archive:
        parts = []
        for index in range(max(1, qde_mb)):
            text = "".join(rng.choices(string.ascii_letters + "      ", k=1024 * 1024))
            parts.append(f'<TextSource guid="{uuid.UUID(int=index + 1)}" name="s{index}"><PlainTextContent>{text}'
                         "</PlainTextContent></TextSource>")
        archive.writestr("project.qde", '<?xml version="1.0" encoding="UTF-8"?><Project xmlns="urn:QDA-XML:project:'
                         f'1.0" name="big"><Sources>{"".join(parts)}</Sources></Project>')
    (root / "memory" / "q.yaml").write_text(f"title: q\ncorpus:\n  database: sqlite:///{root / 'memory-q.sqlite'}\n",
                                            encoding="utf-8")
    status, own, child, line = _peak(PEAK.format(body=textwrap.indent(textwrap.dedent("""
        from sibkit.errors import SibkitError
        from sibkit.interop.importer import import_qdpx
        from sibkit.study import load_study
        try:
            result = import_qdpx(Path(sys.argv[1]), load_study(sys.argv[2]))
            print("imported", result.added["documents"], "documents")
        except SibkitError as exc:
            print("refused:", str(exc)[-120:])
    """), "    ").strip()), str(qde), str(root / "memory" / "q.yaml"), env={"SIBKIT_MEMORY_MB": str(budget_mb)})
    rows.append((f"import qdpx: a project file of {qde_mb} MB (budget {budget_mb} MiB)",
                 f"peak {max(own, child):,.0f} MiB; {line[:110]}", status != 0 or max(own, child) > budget_mb * 1.25))
    return rows


def run_all(root: Path, secret: str, indigo: Path | None, *, full: bool, budget_mb: int) -> list[tuple[str, list[Row]]]:
    """Every section (the ones needing the INDIGO export only when it is given), as (title, rows)."""
    from sibkit.testing import PostgresServer, postgres_bin

    server = PostgresServer() if postgres_bin() is not None else None
    if server is not None:
        os.environ["SIBKIT_BENCH_PG"] = server.new_database()
    try:
        sections: list[tuple[str, Callable[[], list[Row]]]] = [
            ("web app and workbench", lambda: section_web(root)),
            ("links out of the corpus", lambda: section_links(root, secret)),
            ("YAML", section_yaml),
            ("REFI-QDA", lambda: section_qdpx(root, secret)),
            ("download deadline", lambda: section_deadline(root)),
            ("concurrent writers", lambda: section_concurrent(root)),
            ("memory", lambda: section_memory(root, 90 if full else 30, 120 if full else 40, budget_mb)),
        ]
        if indigo is not None:
            sections.insert(1, ("team-mode study pages", lambda: section_team_study(root, indigo)))
            pg = server.new_database() if server is not None else None
            sections.insert(4, ("sizes", lambda: section_sizes(root, indigo, 100_000 if full else 30_000, pg)))
        out = []
        for title, work in sections:
            try:
                out.append((title, work()))
            except Exception as exc:  # a section that crashes is a finding, not the end of the run
                out.append((title, [(f"{title}: crashed", f"{type(exc).__name__}: {str(exc)[:150]}", True)]))
        return out
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":  # pragma: no cover - run through hostile.py
    import argparse

    argparse.ArgumentParser(description=__doc__.splitlines()[0],
                            epilog="Run through benchmarks/hostile.py --cases-only (its options apply).").parse_args()
    print(__doc__)
    with tempfile.TemporaryDirectory() as folder:
        for name, rows in run_all(Path(folder), "SECRET", None, full=False, budget_mb=2048):
            print(name, rows)
