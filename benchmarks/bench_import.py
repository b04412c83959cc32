"""Import throughput (documents/s) into SQLite and PostgreSQL, against writing the same files'
text to a plain folder (the baseline), in one run.

    python benchmarks/bench_import.py [--documents 300] [--postgres URL]

Without --postgres a throw-away server is started (Debian's postgresql must be installed).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sibkit.corpus import add_paths
from sibkit.store import open_store
from sibkit.testing import PostgresServer, postgres_bin

PARAGRAPH = ("The partnership adapted its service model after the first cohort, and the commissioner, "
             "provider and investor shared responsibility for the outcomes. ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--postgres", help="SQLAlchemy URL of an empty PostgreSQL database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for index in range(args.documents):
            (folder / f"doc{index:05}.txt").write_text(f"Document {index}.\n" + PARAGRAPH * 200, encoding="utf-8")
        start = time.perf_counter()
        out = Path(tmp) / "plain"
        out.mkdir()
        for path in sorted(folder.iterdir()):
            (out / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        baseline = time.perf_counter() - start
        rows = [("plain file copy (baseline)", baseline)]
        targets = [("SQLite", f"sqlite:///{Path(tmp) / 'bench.sqlite'}")]
        server = None
        if args.postgres:
            targets.append(("PostgreSQL", args.postgres))
        elif postgres_bin() is not None:
            server = PostgresServer()
            targets.append(("PostgreSQL", server.new_database()))
        try:
            for name, url in targets:
                store = open_store(url)
                start = time.perf_counter()
                report = add_paths(store, [folder])
                rows.append((f"sibkit import into {name}", time.perf_counter() - start))
                assert report.count("added") == args.documents
                store.close()
        finally:
            if server:
                server.stop()
    print(f"{args.documents} text documents of ~{len(PARAGRAPH) * 200 // 1000} kB each")
    print(f"{'target':34} {'seconds':>8} {'documents/s':>12} {'x baseline':>11}")
    for name, seconds in rows:
        print(f"{name:34} {seconds:8.2f} {args.documents / seconds:12.0f} {seconds / baseline:11.1f}")


if __name__ == "__main__":
    main()
