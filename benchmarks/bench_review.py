"""The review workbench under 20 concurrent coders: the queue page and a decision round trip.

    python benchmarks/bench_review.py [--references 10000] [--full] [--coders 20] [--seconds 8]

Builds a study database (SQLite file, or --database a PostgreSQL URL) with made-up documents and
--references coded references (--full: 100,000), one account per coder (team mode: every request
checks its session), and serves the workbench with uvicorn in a separate process. The coders run in a
third process (so that their work is not the server's), each in its own thread with one keep-alive
connection (the standard library's http.client: a light client, so the two processes share the CPUs
mostly for the server). After one untimed queue page per coder (the server warms up: templates compiled,
statements cached), each coder loops without pause: open its queue page (the next unreviewed hit
in context, with progress) and post a decision on it. Printed: p50 and p95 in milliseconds of the queue
page and of the decision (the POST, answered by its redirect), beside the baseline measured the same way
in the same run: the sign-in page (the smallest page the workbench renders, no database); and the
server's CPU time per request (Linux). Aim: p95 under 100 ms.

With no pause between requests, 20 coders keep the server busy all the time: a request waits for the
others in the queue, so each figure is about 20 times the server's time for one request (Little's law).
To profile the server: py-spy record -o profile.txt -f raw -- python benchmarks/bench_review.py --serve URL PORT
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

PASSWORD = "benchmark password"
BASELINE = "sign-in page (baseline)"


def build(url: str, references: int, coders: int) -> None:
    from sibkit.store import open_store
    from sibkit.workbench.auth import add_user
    from sibkit.workbench.sample import add_sample_corpus

    store = open_store(url)
    per_document = 100
    add_sample_corpus(store, documents=max(1, references // per_document), references_per_document=per_document,
                      cases=50)
    for number in range(coders):
        add_user(store, f"coder{number}", PASSWORD, "coder")
    store.close()


def serve(url: str, port: int, switch_interval: float | None = None) -> None:
    """Run in the server process: the workbench alone over the study database."""
    import uvicorn

    if switch_interval:  # an experiment: how long a thread keeps the GIL while others wait (Python: 5 ms)
        sys.setswitchinterval(switch_interval)

    from sibkit.store import open_store
    from sibkit.workbench.routes import Workbench, standalone_app
    from sibkit.workbench.sample import THEMES

    app = standalone_app(Workbench(open_store(url, migrate=False), list(THEMES), title="benchmark"))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1] if len(values) > 1 \
        else (values[0] if values else float("nan"))


class Coder:
    """One coder's browser: a keep-alive connection and its session cookie."""

    def __init__(self, port: int, name: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""
        page = self.request("GET", "/review/login")[1]
        status, _ = self.request("POST", "/review/login", {"csrf": _csrf(page), "name": name, "password": PASSWORD})
        if status != 303 or not self.cookie:
            raise SystemExit(f"{name} could not sign in: {status}")

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = urllib.parse.urlencode(form) if form is not None else None
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body, headers)
            answer = self.connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if method != "GET":
                raise
            # the server closed a connection left idle (uvicorn's keep-alive timeout): a browser opens another
            self.connection.close()
            self.connection.request(method, path, body, headers)
            answer = self.connection.getresponse()
        text = answer.read().decode()
        cookie = answer.getheader("set-cookie")
        if cookie:
            self.cookie = cookie.split(";")[0]
        return answer.status, text


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def timed(times: dict[str, list[float]], key: str, call: Callable[[], tuple[int, str]]) -> tuple[int, str]:
    start = time.perf_counter()
    answer = call()
    times.setdefault(key, []).append((time.perf_counter() - start) * 1000)
    return answer


def baseline_work(coder: Coder, times: dict[str, list[float]]) -> None:
    status, _ = timed(times, BASELINE, lambda: coder.request("GET", "/review/login"))
    if status != 200:
        raise SystemExit(f"the sign-in page failed: {status}")


def review_work(coder: Coder, times: dict[str, list[float]]) -> None:
    status, page = timed(times, "queue page", lambda: coder.request("GET", "/review/queue"))
    if status != 200:
        raise SystemExit(f"the queue page failed: {status} {page[:200]}")
    found = re.search(r'data-reference="(\d+)"', page)
    if found is None:
        return
    form = {"csrf": _csrf(page), "reference_id": found.group(1), "decision": "accept", "next": "/review/queue"}
    status, text = timed(times, "decision round trip", lambda: coder.request("POST", "/review/decide", form))
    if status != 303:
        raise SystemExit(f"a decision failed: {status} {text[:200]}")


def load(coders: list[Coder], seconds: float, work: Callable[[Coder, dict[str, list[float]]], None]) \
        -> dict[str, list[float]]:
    """Run ``work(coder, times)`` in a loop on every coder at once (a thread each) for ``seconds``."""
    stop = time.monotonic() + seconds
    results: dict[str, list[float]] = {}
    lock = threading.Lock()

    def run(coder: Coder) -> None:
        times: dict[str, list[float]] = {}
        while time.monotonic() < stop:
            work(coder, times)
        with lock:
            for key, values in times.items():
                results.setdefault(key, []).extend(values)

    threads = [threading.Thread(target=run, args=(coder,)) for coder in coders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def server_cpu(pid: int) -> float:
    """Seconds of CPU the server process has used (Linux; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def clients(port: int, count: int, seconds: float, server_pid: int) -> None:
    """Run in the coders' process: both phases; the timings as JSON on stdout."""
    coders = [Coder(port, f"coder{number}") for number in range(count)]
    for coder in coders:  # warm up (templates compiled, statements cached): each coder's queue page once
        coder.request("GET", "/review/queue")
    report: dict[str, object] = {}
    for phase, work in (("baseline", baseline_work), ("review", review_work)):
        before = server_cpu(server_pid)
        report[phase] = load(coders, seconds, work)
        report[phase + " cpu"] = server_cpu(server_pid) - before
    json.dump(report, sys.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--references", type=int, default=10_000)
    parser.add_argument("--full", action="store_true", help="100,000 references")
    parser.add_argument("--coders", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a new SQLite file)")
    parser.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL server (sibkit.testing)")
    parser.add_argument("--switch-interval", type=float, default=0.0,
                        help="the server's sys.setswitchinterval in seconds (an experiment; default Python's)")
    parser.add_argument("--serve", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--clients", nargs=4, metavar=("PORT", "CODERS", "SECONDS", "SERVER_PID"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.switch_interval)
        return
    if args.clients:
        port, count, seconds, pid = args.clients
        clients(int(port), int(count), float(seconds), int(pid))
        return
    from sibkit.web.server import free_port

    references = 100_000 if args.full else args.references
    folder = tempfile.TemporaryDirectory()
    postgres = None
    if args.postgres:
        from sibkit.testing import PostgresServer

        postgres = PostgresServer()
    url = postgres.new_database() if postgres else args.database or f"sqlite:///{Path(folder.name) / 'bench.sqlite'}"
    started = time.perf_counter()
    build(url, references, args.coders)
    print(f"built {references:,} references and {args.coders} accounts in {time.perf_counter() - started:.1f} s")
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", url, str(port),
                               "--switch-interval", str(args.switch_interval)])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                probe.request("GET", "/review/login")
                if probe.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the workbench server did not start")
            time.sleep(0.2)
        coders = subprocess.run([sys.executable, __file__, "--clients", str(port), str(args.coders),
                                 str(args.seconds), str(server.pid)], capture_output=True, text=True)
        if coders.returncode != 0:
            raise SystemExit(f"the coders failed: {coders.stderr[-2000:]}")
        report = json.loads(coders.stdout)
    finally:
        server.terminate()
        server.wait(timeout=30)
        folder.cleanup()
        if postgres is not None:
            postgres.stop()
    results: dict[str, list[float]] = {**report["baseline"], **report["review"]}
    baseline = percentile(results[BASELINE], 0.95)
    switch = f", switch interval {args.switch_interval * 1000:g} ms" if args.switch_interval else ""
    print(f"{args.coders} concurrent coders, {references:,} references, {args.seconds:.0f} s per phase, "
          f"{'PostgreSQL' if url.startswith('postgresql') else 'SQLite'} "
          f"(server: uvicorn, one process{switch}; coders: threads in another process, no pause between requests)")
    print(f"{'':28} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8} {'p95 / baseline':>15}")
    for key, values in results.items():
        p95 = percentile(values, 0.95)
        print(f"{key:28} {len(values):9d} {percentile(values, 0.5):8.1f} {p95:8.1f} {p95 / baseline:15.2f}")
    decided = len(results.get("decision round trip", []))
    pages = len(results[BASELINE])
    baseline_cpu = report["baseline cpu"] / pages * 1000
    review_cpu = report["review cpu"] / max(1, len(results.get("queue page", []))) * 1000
    print(f"server CPU: {baseline_cpu:.2f} ms per sign-in page; {review_cpu:.2f} ms per queue page and its decision "
          f"({review_cpu / baseline_cpu:.1f} x)")
    print(f"{decided} decisions stored; aim: p95 under 100 ms")


if __name__ == "__main__":
    main()
