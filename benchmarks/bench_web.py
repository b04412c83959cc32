"""The web app under 50 concurrent clients, 30% of requests on URLs never asked before (wrk).

    python benchmarks/bench_web.py [--seconds 20] [--connections 50] [--workers 2] [--new-share 0.3]
                                   [--before REF]

Starts `sibkit serve --workers N` on 127.0.0.1 and drives it with Debian's `wrk` and the URL mix in
`web_mix.lua`: NEW_SHARE of the requests are new dashboard and explorer filter combinations and
project pages under URLs not asked before (the page cache misses and the route runs), the rest a
fixed set of 30 URLs (cached after their first visit). Prints p50/p95/p99 in ms and requests/s for

- the mix (the goal: p95 under 50 ms at 50 connections, 2 workers),
- the baseline: the same server with only the repeated URLs (every answer from the page cache),
- with --before REF (e.g. main): the mix against that commit's code in one process, as before
  (its `src` taken with `git archive`, so the old code path is measured in the same run),

and each p95 and requests/s as a ratio to the baseline's. Pages are warmed first (3 s of the
repeated URLs). `--profile` also renders 200 new URLs of the mix in this process under cProfile and
prints the top lines (where the time of an uncached page goes).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from sibkit.web.server import free_port

HERE = Path(__file__).resolve().parent
MIX = HERE / "web_mix.lua"
REPO = HERE.parent


def repeated_urls(countries: list[str], sectors: list[str], projects: list[str]) -> list[str]:
    """30 URLs a crowd keeps asking for: the dashboard, popular filters, the explorer, project pages."""
    urls = ["/", "/projects", "/?country=GB", "/?country=US", "/?sector=Homelessness", "/?live_from=2016&live_to=2021",
            "/projects?country=GB&sort=-users", "/api/stats?by=year", "/?country=GB&sector=Homelessness"]
    urls += [f"/?country={c}" for c in countries[:8]]
    urls += [f"/?sector={quote(s)}" for s in sectors[:4]]
    urls += [f"/projects/{p}" for p in projects[:30 - len(urls)]]
    return urls


def write_url_lists(base: str, folder: Path) -> Path:
    rows = httpx.get(base + "/api/projects", timeout=120).json()
    countries = sorted({c for row in rows for c in row["countries"]})
    sectors = sorted({row["sector"] for row in rows if row["sector"]})
    stages = sorted({row["stage"] for row in rows if row["stage"]})
    projects = [row["id"] for row in rows]
    random.Random(4).shuffle(projects)
    lines = [f"repeat {u}" for u in repeated_urls(countries, sectors, projects)]
    lines += [f"country {c}" for c in countries] + [f"sector {quote(s)}" for s in sectors]
    lines += [f"stage {quote(s)}" for s in stages] + [f"project {p}" for p in projects]
    path = folder / "urls.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def start(command: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            httpx.get(base + "/healthz", timeout=2)
            return server, base
        except httpx.TransportError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit("the server did not start") from None
            time.sleep(0.3)


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def wrk(base: str, urls: Path, new_share: float, seconds: int, connections: int) -> dict[str, float]:
    done = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(MIX),
                           base, "--", str(urls), str(new_share)], capture_output=True, text=True, check=True)
    match = re.search(r"^sibkit (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+) (\d+)$", done.stdout, re.MULTILINE)
    if match is None:
        raise SystemExit(f"wrk said: {done.stdout}{done.stderr}")
    count, duration_us, p50, p95, p99, bad_status, socket_errors = match.groups()
    return {"requests": int(count), "rps": int(count) / (int(duration_us) / 1e6), "p50": float(p50),
            "p95": float(p95), "p99": float(p99), "errors": int(bad_status) + int(socket_errors)}


def old_code(ref: str, folder: Path) -> Path:
    """``src`` of commit ``ref``, unpacked into ``folder`` (the repository is not touched)."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "src"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "src"


def profile_new_pages(data: str, urls: Path, count: int = 200, sort: str = "tottime") -> None:
    """Render ``count`` new URLs of the mix in this process (no HTTP) under cProfile; print the top lines."""
    from sibkit.indigo import load
    from sibkit.web import create_app

    lists: dict[str, list[str]] = {}
    for line in urls.read_text(encoding="utf-8").splitlines():
        kind, value = line.split(" ", 1)
        lists.setdefault(kind, []).append(value)
    rng = random.Random(9)
    paths = []
    for n in range(count):
        filters = "&".join([f"country={rng.choice(lists['country'])}"] * (rng.random() < 0.75)
                           + [f"sector={rng.choice(lists['sector'])}"] * (rng.random() < 0.4)
                           + [f"live_from={rng.randint(2008, 2024)}"] * (rng.random() < 0.6))
        kind = rng.random()
        paths.append(f"/?{filters}" if kind < 0.5 else f"/projects?{filters}&sort=-users" if kind < 0.7
                     else f"/projects/{rng.choice(lists['project'])}?from={n}")
    app = create_app(load(data))

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    def sent_to(messages: list[dict]) -> Any:
        async def send(message: dict) -> None:
            messages.append(message)
        return send

    async def get_all() -> None:  # the ASGI app called in this thread, so the profiler sees the routes
        for path in paths:
            route, _, query = path.partition("?")
            scope = {"type": "http", "method": "GET", "path": route, "raw_path": route.encode(),
                     "query_string": query.encode(), "headers": [(b"host", b"127.0.0.1")], "http_version": "1.1",
                     "scheme": "http", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "root_path": ""}
            sent: list[dict] = []
            await app(scope, receive, sent_to(sent))
            assert sent[0]["status"] == 200, (path, sent[0]["status"])

    # the routes run on the thread pool: each thread that starts gets a profiler of its own (merged below)
    profilers = [cProfile.Profile()]

    def profile_this_thread(*_: object) -> None:
        sys.setprofile(None)
        profiler = cProfile.Profile()
        profilers.append(profiler)
        profiler.enable()

    started = time.perf_counter()
    threading.setprofile(profile_this_thread)
    profilers[0].enable()
    asyncio.run(get_all())
    profilers[0].disable()
    threading.setprofile(None)  # type: ignore[arg-type]
    print(f"\n{count} new URLs rendered in this process: {(time.perf_counter() - started) * 1000 / count:.1f} ms "
          f"each (with the profiler); top lines by {sort}:")
    out = io.StringIO()
    stats = pstats.Stats(profilers[0], stream=out)
    for profiler in profilers[1:]:
        profiler.create_stats()
        stats.add(profiler)
    stats.sort_stats(sort).print_stats(18)
    print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared/indigo/impact-bond-dataset-2025-05-20"))
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--new-share", type=float, default=0.3)
    parser.add_argument("--before", metavar="REF", help="also measure the mix against this commit's code "
                        "(one process, as it served before), e.g. main")
    parser.add_argument("--profile", nargs="?", const="tottime", choices=["tottime", "cumulative"],
                        help="profile 200 new URLs of the mix in this process (top lines by own or cumulative time)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("this benchmark needs wrk: apt-get install wrk")
    serve = [sys.executable, "-m", "sibkit", "serve", "--data", args.data]
    rows: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["SIBKIT_DATA"] = str(Path(scratch) / "data")  # the servers' typed cache: not the user's
        server, base = start([*serve, "--workers", str(args.workers)])
        try:
            urls = write_url_lists(base, Path(scratch))
            wrk(base, urls, 0.0, 3, args.connections)  # warm: every worker sees the repeated URLs
            rows.append((f"mix, {args.new_share:.0%} new URLs, {args.workers} workers",
                         wrk(base, urls, args.new_share, args.seconds, args.connections)))
            rows.append((f"baseline: repeated URLs only, {args.workers} workers",
                         wrk(base, urls, 0.0, args.seconds, args.connections)))
        finally:
            stop(server)
        if args.before:
            env = {**os.environ, "PYTHONPATH": str(old_code(args.before, Path(scratch) / "before"))}
            server, base = start(serve, env)
            try:
                wrk(base, urls, 0.0, 3, args.connections)
                rows.append((f"mix on {args.before} (1 process)",
                             wrk(base, urls, args.new_share, args.seconds, args.connections)))
            finally:
                stop(server)
        print(f"wrk, {args.connections} connections, {args.seconds} s each, 2 threads; "
              f"{os.cpu_count()} CPUs shared with wrk")
        print(f"{'run':44} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} "
              f"{'p95 x base':>11} {'req/s x base':>13}")
        baseline = rows[1][1]
        for name, r in rows:
            print(f"{name:44} {r['requests']:9} {r['rps']:8.0f} {r['p50']:8.1f} {r['p95']:8.1f} {r['p99']:8.1f} "
                  f"{r['errors']:7} {r['p95'] / baseline['p95']:11.1f} {r['rps'] / baseline['rps']:13.2f}")
        mix = rows[0][1]
        verdict = "met" if mix["p95"] < 50 else "missed"
        print(f"goal p95 < 50 ms for the mix at {args.connections} connections: {verdict} ({mix['p95']:.1f} ms)")
        if args.before:
            before = rows[2][1]
            print(f"mix against {args.before}: p95 {mix['p95'] / before['p95']:.2f}x {args.before}'s "
                  f"(below 1: lower), requests/s {mix['rps'] / before['rps']:.2f}x {args.before}'s")
        if args.profile:
            profile_new_pages(args.data, urls, sort=args.profile)


if __name__ == "__main__":
    main()
