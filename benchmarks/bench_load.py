"""Load time of the INDIGO export: folder, zip and a local JSON API, against plain pandas.read_csv.

    python benchmarks/bench_load.py [EXPORT_FOLDER] [--repeat N]

Prints seconds (best of N) and the ratio to reading the same CSV files with pandas.read_csv in
this process. The API is served on 127.0.0.1 from the export itself; 'API, first' includes one
HTTP request per record, 'API, cached' reads the on-disk cache.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from sibkit.indigo import load, to_records
from sibkit.testing import LocalServer, api_routes


def best_of(repeat: int, work: Callable[[], object], setup: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if setup:
            setup()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", nargs="?", default="../shared/indigo/impact-bond-dataset-2025-05-20")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(args.export)
    files = sorted(folder.glob("*.csv"))
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "export.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in files:
                zf.write(path, path.name)
        baseline = best_of(args.repeat, lambda: [pd.read_csv(p, dtype=str, keep_default_na=False) for p in files])
        rows: list[tuple[str, float]] = [("pandas.read_csv (baseline)", baseline)]
        rows.append(("sibkit folder", best_of(args.repeat, lambda: load(folder))))
        rows.append(("sibkit zip", best_of(args.repeat, lambda: load(archive))))
        with LocalServer(api_routes(to_records(load(folder)))) as server:
            counter = iter(range(10_000))
            rows.append(("sibkit API, first (uncached)",
                         best_of(args.repeat, lambda: load(server.url, cache_dir=Path(tmp) / f"c{next(counter)}"))))
            cached = Path(tmp) / "c0"
            rows.append(("sibkit API, cached", best_of(args.repeat, lambda: load(server.url, cache_dir=cached))))
            requests = len(server.requests)
    size = sum(p.stat().st_size for p in files) / 1e6
    print(f"INDIGO export: {len(files)} files, {size:.1f} MB; best of {args.repeat}; {requests} API requests served")
    print(f"{'source':32} {'seconds':>9} {'x baseline':>11}")
    for name, seconds in rows:
        print(f"{name:32} {seconds:9.3f} {seconds / baseline:11.1f}")


if __name__ == "__main__":
    main()
