"""Web response times under 20 concurrent clients against the real server (uvicorn, one process).

    python benchmarks/bench_web.py [--seconds 10] [--clients 20]

Load comes from Debian's `wrk` (20 connections, 2 threads) when installed, else from a pool of
httpx clients in this process (slower: the client then shares the machine's two cores and
Python's lock). Prints p50 and p95 in milliseconds for the dashboard, a filtered dashboard and a
project page, and for the health check (the baseline: the smallest dynamic response, measured the
same way in the same run), with each p95's ratio to the baseline's. Target: p95 under 100 ms for
each page. Pages are warmed once first (the app caches finished pages by URL, as a user's second
visit would find them); --cold also measures the filtered dashboard with a new filter each request.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from sibkit.web.server import free_port

PAGES = [("health check (baseline)", "/healthz"), ("dashboard", "/"),
         ("filtered dashboard", "/?country=GB&live_from=2016&live_to=2021&sector=Homelessness"),
         ("project page", "/projects/INDIGO-POJ-0168")]


WRK_SCRIPT = """
counter = 0
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
if FRESH then
  request = function()
    counter = counter + 1
    return wrk.format(nil, wrk.path .. SEPARATOR .. "_fresh=" .. tid .. "-" .. counter)
  end
end
done = function(summary, latency, requests)
  io.write(string.format("sibkit %d %.3f %.3f\\n", summary.requests, latency:percentile(50) / 1000,
                         latency:percentile(95) / 1000))
end
"""


def with_wrk(url: str, seconds: int, clients: int, fresh: bool) -> tuple[float, float, int]:
    """wrk's latency percentiles; ``fresh``: every request a new URL (the page cache never hits)."""
    separator = "&" if "?" in url else "?"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f'FRESH = {"true" if fresh else "false"}\nSEPARATOR = "{separator}"\n' + WRK_SCRIPT)
    done = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "-s", script.name, url],
                          capture_output=True, text=True, check=True)
    Path(script.name).unlink()
    count, p50, p95 = re.search(r"^sibkit (\d+) ([\d.]+) ([\d.]+)$", done.stdout, re.MULTILINE).groups()
    return float(p50), float(p95), int(count)


def with_httpx(url: str, seconds: int, clients: int, fresh: bool) -> tuple[float, float, int]:
    stop = time.monotonic() + seconds
    separator = "&" if "?" in url else "?"

    def one_client(client_number: int) -> list[float]:
        times = []
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < stop:
                target = f"{url}{separator}_fresh={client_number}-{len(times)}" if fresh else url
                start = time.perf_counter()
                client.get(target).raise_for_status()
                times.append((time.perf_counter() - start) * 1000)
        return times

    with ThreadPoolExecutor(clients) as pool:
        times = sorted(t for chunk in pool.map(one_client, range(clients)) for t in chunk)
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], len(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/indigo/impact-bond-dataset-2025-05-20")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--cold", action="store_true", help="also measure with a new URL each request "
                        "(the page is rendered every time; the figures per filter stay cached)")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "sibkit", "serve", "--data", str(Path(args.data)),
                               "--port", str(port)], stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    load = with_wrk if shutil.which("wrk") else with_httpx
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        for _, path in PAGES:
            httpx.get(base + path, timeout=30)
        tool = "wrk" if load is with_wrk else "httpx threads"
        print(f"{args.clients} concurrent clients for {args.seconds} s per page ({tool}), one uvicorn process")
        print(f"{'page':34} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8} {'p95 x baseline':>15}")
        baseline = None
        runs = [(name, path, False) for name, path in PAGES]
        runs += [(f"{name}, rendered", path, True) for name, path in PAGES[1:] if args.cold]
        for name, path, fresh in runs:
            p50, p95, count = load(base + path, args.seconds, args.clients, fresh)
            baseline = baseline or p95
            print(f"{name:34} {count:9} {p50:8.1f} {p95:8.1f} {p95 / baseline:15.1f}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
