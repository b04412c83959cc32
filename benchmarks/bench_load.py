"""Load time of the INDIGO export: folder, zip and a local JSON API, against plain pandas.read_csv.

    python benchmarks/bench_load.py [EXPORT_FOLDER] [--repeat N]

Prints seconds (best of N) and the ratio to reading the same CSV files with pandas.read_csv in
this process. Folder and zip are loaded cold (an empty typed cache each time: parsing and typing)
and warm (the typed cache kept, as a second ``load`` finds it). The API is served on 127.0.0.1 from
the export itself; 'API, first' includes one HTTP request per record, 'API, cached' reads the on-disk
cache. Every cache lives in a temporary ``$SIBKIT_DATA`` (yours is left untouched).
"""

from __future__ import annotations

import argparse
import os
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
        counter = iter(range(10_000))

        def cold(source: Path) -> Callable[[], object]:
            def work() -> object:
                os.environ["SIBKIT_DATA"] = str(Path(tmp) / f"cold-{next(counter)}")  # an empty typed cache
                return load(source)
            return work

        for label, source in (("folder", folder), ("zip", archive)):
            rows.append((f"sibkit {label}, typed cache cold", best_of(args.repeat, cold(source))))
            os.environ["SIBKIT_DATA"] = str(Path(tmp) / "warm")
            load(source)
            rows.append((f"sibkit {label}, typed cache warm", best_of(args.repeat, lambda source=source: load(source))))
        with LocalServer(api_routes(to_records(load(folder)))) as server:
            # the local server is on 127.0.0.1, which load() refuses unless told the address is meant
            def from_api(cache_dir: Path) -> object:
                return load(server.url, cache_dir=cache_dir, allow_private=True)

            rows.append(("sibkit API, first (uncached)",
                         best_of(args.repeat, lambda: from_api(Path(tmp) / f"api-{next(counter)}"))))
            requests = len(server.requests) // args.repeat
            cached = Path(tmp) / "api-cached"
            from_api(cached)
            rows.append(("sibkit API, cached", best_of(args.repeat, lambda: from_api(cached))))
    size = sum(p.stat().st_size for p in files) / 1e6
    print(f"INDIGO export: {len(files)} files, {size:.1f} MB; best of {args.repeat}; "
          f"{requests} API requests per uncached load")
    print(f"{'source':34} {'seconds':>9} {'x baseline':>11}")
    for name, seconds in rows:
        print(f"{name:34} {seconds:9.3f} {seconds / baseline:11.1f}")


if __name__ == "__main__":
    main()
