"""Import and coding throughput (documents/s) into SQLite and PostgreSQL: the batched pipeline with
--jobs 1, 2 and the host's core count against the per-document path (one transaction per document,
ORM objects: the baseline), and three anchors in the same run: a plain file copy, plain ``sqlite3``
inserts of the texts (one transaction, no parsing) and the matcher alone over the texts (no database).

    python benchmarks/bench_import.py [--documents 1000] [--kb 30]

The documents are real English prose with codebook phrases (see bench_scale.py), about --kb
kilobytes each. PostgreSQL is a throw-away server started for the run (Debian's postgresql; without it
only SQLite is measured, and the script says so). The codebook is compiled before the clock (its Hyperscan
database kept in a temporary ``$SIBKIT_DATA``, not yours), so every coding step finds it compiled.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_scale import per_document_coding, write_corpus

from sibkit.coding import code_documents, compile_codebook, load_codebook
from sibkit.corpus import add_file, add_paths
from sibkit.corpus.importer import iter_files
from sibkit.store import open_store
from sibkit.testing import PostgresServer, postgres_bin

CASE = "INDIGO-POJ-0110"


CPU: dict[float, float] = {}  # wall seconds of a step -> CPU seconds (this process and its workers)


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(work, *args) -> float:  # type: ignore[no-untyped-def]
    """Wall seconds of ``work(*args)``; its CPU seconds (with finished worker processes) go to CPU."""
    cpu, start = _cpu(), time.perf_counter()
    work(*args)
    wall = time.perf_counter() - start
    CPU[wall] = _cpu() - cpu
    return wall


def per_document_import(url: str, folder: Path, count: int) -> None:
    store = open_store(url)
    added = sum(add_file(store, path, case_ids=[CASE]).status == "added" for path in iter_files([folder]))
    assert added == count, added
    store.close()


def batched_import(url: str, folder: Path, count: int, jobs: int) -> None:
    store = open_store(url)
    report = add_paths(store, [folder], case_ids=[CASE], jobs=jobs)
    assert report.count("added") == count, report.counts
    store.close()


def batched_code(url: str, jobs: int) -> None:
    store = open_store(url)
    code_documents(store, load_codebook("relational-sib"), jobs=jobs)
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--kb", type=float, default=30)
    args = parser.parse_args()
    codebook = load_codebook("relational-sib")
    rows: list[tuple[str, str, float, float | None]] = []  # step, target, seconds, baseline seconds
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SIBKIT_DATA"] = str(Path(tmp) / "data")  # the compiled Hyperscan database: not in the user's
        folder = Path(tmp) / "docs"
        size = write_corpus(folder, args.documents, args.kb)
        out = Path(tmp) / "plain"

        def copy() -> None:
            for path in iter_files([folder]):
                target = out / path.relative_to(folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(path.read_bytes())

        rows.append(("plain file copy", "disk", timed(copy), None))

        def plain_inserts() -> None:  # the floor for import: the texts into one table, one transaction
            with sqlite3.connect(Path(tmp) / "plain.sqlite") as connection:
                connection.execute("CREATE TABLE documents (id INTEGER PRIMARY KEY, sha256 TEXT UNIQUE, text TEXT)")
                connection.executemany("INSERT INTO documents (sha256, text) VALUES (?, ?)",
                                       ((hashlib.sha256(data).hexdigest(), data.decode("utf-8"))
                                        for data in (path.read_bytes() for path in iter_files([folder]))))

        rows.append(("plain sqlite3 inserts (anchor)", "sqlite3", timed(plain_inserts), None))
        compiled = compile_codebook(codebook)  # compiled before the clock, as code_documents' workers have it
        compiled.match("warm up")

        def matcher_alone() -> None:  # the floor for coding: matching the texts, nothing stored
            for path in iter_files([folder]):
                compiled.match(path.read_text(encoding="utf-8"))

        rows.append(("matcher alone (anchor)", "none", timed(matcher_alone), None))
        server = None
        targets: list[tuple[str, object]] = [("SQLite", lambda name: f"sqlite:///{Path(tmp) / name}.sqlite")]
        if postgres_bin() is not None:
            server = PostgresServer()
            targets.append(("PostgreSQL", lambda name: server.new_database()))  # type: ignore[union-attr]
        else:
            print("PostgreSQL: not measured (no Debian postgresql binaries found); SQLite only", flush=True)
        try:
            for target, new_url in targets:
                baseline_url = new_url("baseline")  # type: ignore[operator]
                old_import = timed(per_document_import, baseline_url, folder, args.documents)
                rows.append(("import, per document (baseline)", target, old_import, None))
                old_code = timed(per_document_coding, open_store(baseline_url), codebook)
                for jobs in sorted({1, 2, os.cpu_count() or 1}):
                    url = new_url(f"jobs{jobs}")  # type: ignore[operator]
                    rows.append((f"import, batched, --jobs {jobs}", target,
                                 timed(batched_import, url, folder, args.documents, jobs), old_import))
                    rows.append((f"code, batched, --jobs {jobs}", target, timed(batched_code, url, jobs),
                                 old_code))
                rows.append(("code, per document (baseline)", target, old_code, None))
        finally:
            if server:
                server.stop()
    print(f"{args.documents:,} text documents, {size / 1e6:.1f} MB (~{args.kb:g} kB each, real prose)")
    print("CPU ms/doc: CPU time of the writer and its workers per document (not the database server's); "
          "1000 / it is the documents/s one free core gives")
    print(f"{'step':34} {'target':10} {'seconds':>8} {'docs/s':>8} {'MB/s':>6} {'CPU ms/doc':>10} {'x baseline':>10}")
    for step, target, seconds, baseline in rows:
        ratio = f"{baseline / seconds:10.1f}" if baseline else f"{'':10}"
        cpu_ms = CPU.get(seconds, float("nan")) * 1000 / args.documents
        print(f"{step:34} {target:10} {seconds:8.2f} {args.documents / seconds:8.0f} {size / 1e6 / seconds:6.1f} "
              f"{cpu_ms:10.2f} {ratio}")
    sqlite = {step: seconds for step, target, seconds, _ in rows if target == "SQLite"}
    postgres = {step: seconds for step, target, seconds, _ in rows if target == "PostgreSQL"}
    for step in (s for s in postgres if "batched" in s):
        ratio = postgres[step] / sqlite[step]
        print(f"PostgreSQL / SQLite time, {step}: {ratio:.2f} (goal <= 1.5: {'met' if ratio <= 1.5 else 'MISSED'})")
    for step, goal in (("import, batched, --jobs 1", 500), ("code, batched, --jobs 1", 1000)):
        if step in sqlite:
            rate = args.documents / sqlite[step]
            per_core = next((args.documents / CPU[seconds] for s, t, seconds, _ in rows if s == step and t == "SQLite"),
                            float("nan"))
            verdict = "met" if rate >= goal else "MISSED"
            print(f"goal {step.split(',')[0]} >= {goal} docs/s per core (SQLite): {verdict} "
                  f"({rate:.0f} docs/s wall, {per_core:.0f} per CPU-second)")


if __name__ == "__main__":
    main()
