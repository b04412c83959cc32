"""Throw 1,000+ hostile files, manifest rows and URLs at the corpus importer and the fetcher, then the cases
of issue 26 (``hostile_more.py``): the web app and the workbench under attack, links out of the corpus, YAML
bombs, inputs sized to be quadratic, REFI-QDA projects that used to crash, the download deadline,
concurrent writers on SQLite and peak memory against the budget.

    .venv/bin/python benchmarks/hostile.py            # default: about 1,300 items and the issue-26 cases
    .venv/bin/python benchmarks/hostile.py --seeds 40 # a bigger run
    .venv/bin/python benchmarks/hostile.py --full     # the issue's sizes: 100,000 codes, a 90 MB page, ...

Everything is made here (``sibkit.hostile``); URLs are served by two local servers, 127.0.0.1 (a
stand-in for "the internet", trusted by the client as if public) and 127.0.0.2 (an "internal"
server whose pages must never be stored); private and link-local addresses only ever come from a
fake resolver and are refused before any packet is sent. Prints crashes (an exception escaping a
batch), hangs (an item slower than the extraction budget plus slack), clear errors (problem
statuses, each with a message naming the item), peak memory, whether every good item landed and
whether anything from outside the corpus reached the database. Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import os
import resource
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from sqlalchemy import func, select

from sibkit import hostile
from sibkit.corpus.budget import Budget, close_worker, set_budget
from sibkit.corpus.fetch import FetchSettings, fetch_reading_list
from sibkit.corpus.importer import ImportOutcome, add_file, add_paths, read_manifest
from sibkit.net import GuardedClient
from sibkit.store import Document, open_store
from sibkit.testing import LocalServer, Response

CASES = ["CASE-A", "CASE-B", "CASE-C"]


class Clock:
    """Time between progress ticks: the slowest item of a batch."""

    def __init__(self) -> None:
        self.last = time.monotonic()
        self.slowest = 0.0
        self.ticks = 0

    def tick(self, *_progress: int) -> None:
        now = time.monotonic()
        self.slowest = max(self.slowest, now - self.last)
        self.last = now
        self.ticks += 1


def build_corpus(corpus: Path, outside: Path, seeds: int) -> tuple[int, set[str]]:
    """Write the hostile files; returns (how many entries were made, names of the good files)."""
    made = 0
    good: set[str] = set()
    for seed in range(seeds):
        folder = corpus / CASES[seed % len(CASES)]
        folder.mkdir(parents=True, exist_ok=True)
        families = {"docx": hostile.damaged_docx(seed), "pdf": hostile.damaged_pdf(seed),
                    "text": hostile.odd_text(seed), "good": hostile.good_documents(seed)}
        for family, files in families.items():
            for name, data in files.items():
                target = folder / f"{family}-{seed}-{name}"
                target.write_bytes(data)
                made += 1
                if family == "good":
                    good.add(str(target))
    made += len(hostile.special_files(corpus / CASES[0], outside))
    return made, good


def manifest_rows(corpus: Path, outside: Path, good_file: Path) -> list[tuple[str, bytes]]:
    """Manifests (UTF-8, UTF-16, Latin-1) full of paths that leave the folder, and a few good rows."""
    rows = ["path,case_ids,title,type,date",
            f"{good_file.relative_to(corpus)},CASE-A,A good row,review,2019-05",
            "../../etc/passwd,CASE-A,passwd,review,", "/proc/self/status,CASE-A,status,review,",
            f"{outside / 'secret.txt'},CASE-A,secret,review,", "../outside/secret.txt,CASE-A,secret,review,",
            "/dev/zero,CASE-A,zero,review,", "CASE-A/fifo.txt,CASE-A,fifo,review,",
            "CASE-A/secret-link.txt,CASE-A,link,review,", f"{'x' * 200_000},CASE-A,long path,review,",
            f"CASE-A/nothing.txt,CASE-A,{'t' * 300_000},review,", "CASE-A/x.txt,CASE-A,bad date,review,2019-99-99",
            "CASE-A/x.txt,CASE-A,bad type,pamphlet,", ",CASE-A,empty path,review,",
            "CASE-A/\"unclosed,CASE-A,quote,review,"]
    text = "\n".join(rows) + "\n"
    return [("manifest-utf8.csv", text.encode("utf-8")), ("manifest-utf16.csv", text.encode("utf-16")),
            ("manifest-latin1.csv", text.replace("x" * 200_000, "caf\u00e9").encode("latin-1", "replace"))]


def hostile_routes(internal: str, seed: int) -> tuple[dict[str, Response], list[str], list[str]]:
    """(routes of the 'public' server, the hostile paths on it, the good paths on it)."""
    s = str(seed)
    routes: dict[str, Response] = {
        f"/to-internal-{s}": Response(302, headers={"Location": f"{internal}/secret-{s}"}),
        f"/to-localhost-{s}": Response(302, headers={"Location": f"http://localhost:1/x{s}"}),
        f"/to-metadata-{s}": Response(301, headers={"Location": "http://metadata.test/latest/meta-data/"}),
        f"/to-intranet-{s}": Response(307, headers={"Location": "http://intranet.test/admin"}),
        f"/to-v6-{s}": Response(308, headers={"Location": "http://[::1]:1/x"}),
        f"/to-mapped-{s}": Response(302, headers={"Location": "http://mapped.test/x"}),
        f"/to-file-{s}": Response(302, headers={"Location": "file:///etc/passwd"}),
        f"/to-bad-{s}": Response(302, headers={"Location": "http://[::1/broken"}),
        f"/loop-a-{s}": Response(302, headers={"Location": f"/loop-b-{s}"}),
        f"/loop-b-{s}": Response(302, headers={"Location": f"/loop-a-{s}"}),
        f"/huge-{s}": Response(200, b"z" * (2 * 1024 * 1024), "text/plain"),
        f"/gzip-bomb-{s}": Response(200, gzip.compress(b"\0" * (20 * 1024 * 1024)), "text/plain",
                                    headers={"Content-Encoding": "gzip"}),
        f"/bad-gzip-{s}": Response(200, b"not gzip at all", "text/plain", headers={"Content-Encoding": "gzip"}),
        f"/gone-{s}": Response(404, b"gone", "text/plain"),
        f"/error-{s}": Response(500, b"oops", "text/plain"),
        f"/empty-{s}": Response(200, b"", "text/plain"),
        f"/binary-{s}": Response(200, bytes(range(256)) * 10, "application/octet-stream"),
        f"/damaged-{s}.docx": Response(200, hostile.damaged_docx(seed)["crc-mismatch.docx"],
                                       "application/octet-stream"),
    }
    hostile_paths = list(routes)
    hostile_paths.remove(f"/loop-b-{s}")
    good = {f"/good-{s}.html": Response(200, f"<html><body><p>Fetched page {s} on co-production.</p></body></html>"
                                        .encode(), "text/html"),
            f"/good-{s}.pdf": Response(200, hostile.pdf([f"Fetched PDF {s} on shared responsibility."]),
                                       "application/pdf"),
            f"/redirected-{s}": Response(302, headers={"Location": f"/good-{s}.html"})}
    routes.update(good)
    return routes, hostile_paths, [f"/good-{s}.html", f"/good-{s}.pdf"]


def bad_urls(seed: int) -> list[str]:
    return ["http://example.org/" + "a" * 70_000, "http://xn--/x", f"http://exa\x00mple{seed}.org/",
            "http://a.test:99999/", "http://[::1", "ftp://example.org/f.pdf", "file:///etc/passwd",
            "javascript:alert(1)", "", "http://", "http:///path", "gopher://x/", "http://exa mple.org/",
            "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[fe80::1]/",
            "http://0x7f000001/", "http://2130706433/", "http://127.1/", "http://[::ffff:7f00:1]/"]


def files_rows_and_urls(args: argparse.Namespace, root: Path) -> bool:
    """The hostile files, manifest rows and URLs; prints their figures; True when a check failed."""
    started = time.monotonic()
    corpus, outside = root / "corpus", root / "outside"
    set_budget(Budget(seconds=args.seconds, memory_bytes=args.memory_mb * 1024 * 1024))
    store = open_store(f"sqlite:///{root / 'study.sqlite'}")
    crashes: list[str] = []
    outcomes: list[ImportOutcome] = []
    slowest: dict[str, float] = {}

    made, good_files = build_corpus(corpus, outside, args.seeds)
    clock = Clock()
    try:
        report = add_paths(store, [corpus], corpus_folder=corpus, known_cases=set(CASES), progress=clock.tick)
        outcomes += report.outcomes
    except Exception:
        crashes.append("corpus add: " + traceback.format_exc(limit=3))
    slowest["files"] = clock.slowest
    file_outcomes = len(outcomes)

    manifests = manifest_rows(corpus, outside, Path(min(good_files)))
    manifest_items = 0
    for name, data in manifests:
        path = corpus / name
        path.write_bytes(data)
        try:
            rows, problems = read_manifest(path)
            manifest_items += len(rows) + len(problems)
            outcomes += [ImportOutcome(f"{name}: {p}", "refused") for p in problems]
            for row in rows:
                outcomes.append(add_file(store, Path(str(row["path"])), case_ids=row["case_ids"],  # type: ignore[arg-type]
                                         title=str(row["title"]), doc_type=str(row["type"]), root=corpus))
        except Exception:
            crashes.append(f"manifest {name}: " + traceback.format_exc(limit=3))

    url_start = len(outcomes)
    secret_server = LocalServer({f"/secret-{s}": Response(200, f"{hostile.SECRET} internal {s}".encode(),
                                                          "text/plain") for s in range(args.seeds)}, host="127.0.0.2")
    routes: dict[str, Response] = {}
    url_items: list[dict[str, object]] = []
    good_urls: set[str] = set()
    with secret_server:
        per_seed = [hostile_routes(secret_server.url, seed) for seed in range(args.seeds)]
        for more, _, _ in per_seed:
            routes.update(more)
        trickle = {f"/trickle-{i}": Response(200, b"x" * 100, "text/plain", byte_delay=1.0) for i in range(3)}
        routes.update(trickle)
        with LocalServer(routes) as public:  # type: ignore[arg-type]
            for seed, (_, hostile_paths, good_paths) in enumerate(per_seed):
                for path in [*hostile_paths, *good_paths, f"/redirected-{seed}"]:
                    url_items.append({"url": public.url + path, "case_ids": [CASES[seed % 3]], "title": path})
                for url in bad_urls(seed):
                    url_items.append({"url": url, "case_ids": [CASES[0]], "title": "bad URL"})
                good_urls.update(public.url + p for p in good_paths)
            url_items += [{"url": public.url + p, "case_ids": [], "title": "trickle"} for p in trickle]
            table = {"127.0.0.1": ["127.0.0.1"], "127.0.0.2": ["127.0.0.2"], "localhost": ["127.0.0.1", "::1"],
                     "metadata.test": ["169.254.169.254"], "intranet.test": ["10.20.30.40"],
                     "mapped.test": ["::ffff:127.0.0.2"], "::1": ["::1"]}

            def resolver(host: str, port: int) -> list[str]:
                if host in table:
                    return table[host]
                raise OSError(f"{host}: no such host (fake resolver)")

            client = GuardedClient(timeout=2.0, max_bytes=1024 * 1024, max_redirects=5,
                                   allow_networks=["127.0.0.1/32"], resolver=resolver)
            clock = Clock()
            try:
                fetched = fetch_reading_list(store, url_items, root / "cache",
                                             FetchSettings(retries=0, per_host_delay=0, max_bytes=1024 * 1024,
                                                           timeout=2.0),
                                             progress=clock.tick, client=client)
                outcomes += fetched
            except Exception:
                crashes.append("fetch: " + traceback.format_exc(limit=3))
                fetched = []
            slowest["urls"] = clock.slowest
        internal_requests = len(secret_server.requests)

    with store.session() as session:
        leaked = session.scalar(select(func.count()).select_from(Document).where(
            Document.text.contains(hostile.SECRET)))
        origins = set(session.scalars(select(Document.origin)))
        documents = session.scalar(select(func.count()).select_from(Document))
    missing_files = sorted(good_files - origins)
    missing_urls = sorted(good_urls - origins)
    unclear = [o for o in outcomes if o.status not in ("added", "linked", "unchanged") and not o.message
               and o.status != "refused"]
    close_worker()  # so that its peak memory is counted among the children
    elapsed = time.monotonic() - started
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    hang_limit = args.seconds + 5
    hangs = [f"{what}: slowest item {seconds:.1f} s" for what, seconds in slowest.items() if seconds > hang_limit]

    statuses = collections.Counter(o.status for o in outcomes)
    print(f"hostile inputs: {made} files and folder entries, {manifest_items} manifest rows "
          f"({len(manifests)} encodings), {len(url_items)} URLs = {made + manifest_items + len(url_items)} items")
    sections = {"files": outcomes[:file_outcomes], "manifest rows": outcomes[file_outcomes:url_start],
                "URLs": outcomes[url_start:]}
    for section, items in sections.items():
        counted = collections.Counter(o.status for o in items)
        print(f"{section}: {len(items)} outcomes -> " + ", ".join(f"{k}: {v}" for k, v in sorted(counted.items())))
    print(f"crashes: {len(crashes)}")
    for crash in crashes:
        print("  " + crash.replace("\n", "\n  "))
    print(f"hangs: {len(hangs)} (slowest file {slowest.get('files', 0):.1f} s, slowest URL "
          f"{slowest.get('urls', 0):.1f} s; a hang is over {hang_limit:g} s)")
    for hang in hangs:
        print("  " + hang)
    print(f"clear errors: {len(outcomes) - statuses['added'] - statuses['linked'] - statuses['unchanged']} problems, "
          f"{len(unclear)} without a message")
    for section, items in sections.items():
        samples: dict[str, str] = {}
        for outcome in items:
            if outcome.status not in ("added", "linked", "unchanged"):
                key = outcome.status + outcome.message[:25]
                if key not in samples and len(samples) < 5:
                    samples[key] = outcome.line().replace(str(root), "…")[:150]
        for line in samples.values():
            print(f"  e.g. ({section}) {line}")
    print(f"good items landed: files {len(good_files) - len(missing_files)}/{len(good_files)}, "
          f"URLs {len(good_urls) - len(missing_urls)}/{len(good_urls)}")
    print(f"outside the corpus stored: {leaked} documents with the secret marker; "
          f"requests to the internal server: {internal_requests}; documents stored: {documents}")
    print(f"peak memory: this process {self_peak:.0f} MB, extraction worker {child_peak:.0f} MB "
          f"(budget {args.memory_mb} MB, {args.seconds:g} s per document)")
    print(f"time: {elapsed:.1f} s")
    return bool(crashes or hangs or missing_files or missing_urls or leaked or internal_requests or unclear)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=14, help="variants of each family (14: ~1,300 items)")
    parser.add_argument("--seconds", type=float, default=10.0, help="extraction time budget per document")
    parser.add_argument("--memory-mb", type=int, default=1024, help="extraction memory budget per document")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--full", action="store_true", help="the issue's sizes (100,000 codes, a 90 MB HTML page, "
                                                            "a 120 MB project file)")
    parser.add_argument("--budget-mb", type=int, default=2048, help="SIBKIT_MEMORY_MB for the memory cases")
    parser.add_argument("--indigo", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "indigo"
                        / "impact-bond-dataset-2025-05-20", help="the INDIGO export (team pages, sizes)")
    parser.add_argument("--files-only", action="store_true", help="only the hostile files, rows and URLs")
    parser.add_argument("--cases-only", action="store_true", help="only the issue-26 cases (no files, rows, URLs)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="sibkit-hostile-"))
    os.environ["SIBKIT_DATA"] = str(root / "data")  # typed caches and memos of this run: not the user's
    try:
        files_failed = False if args.cases_only else files_rows_and_urls(args, root)
        more_failed = False
        if not args.files_only:
            from hostile_more import run_all

            started = time.monotonic()
            indigo = args.indigo if args.indigo.exists() else None
            (root / "more").mkdir()
            for title, rows in run_all(root / "more", hostile.SECRET, indigo, full=args.full,
                                       budget_mb=args.budget_mb):
                print(f"-- {title}")
                for what, figure, bad in rows:
                    print(f"  {'FAILED ' if bad else ''}{what}: {figure}")
                    more_failed = more_failed or bad
            print(f"time of the issue-26 cases: {time.monotonic() - started:.1f} s")
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    failed = files_failed or more_failed
    print("RESULT: " + ("FAILED" if failed else "passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
