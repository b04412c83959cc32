"""The review workbench under 20 concurrent coders: the queue page and a decision round trip.

    python benchmarks/bench_review.py [--references 10000] [--full] [--coders 20] [--seconds 8]

Builds a study database (SQLite file, or --database a PostgreSQL URL) with made-up documents and
--references coded references (--full: 100,000), one account per coder (team mode: every request
checks its session), and serves the workbench with uvicorn in a separate process. Each coder, in its
own thread, then loops: open its queue page (the next unreviewed hit in context, with progress) and
post a decision on it. Printed: p50 and p95 in milliseconds of the queue page and of the decision
(the POST and its redirect), beside the baseline measured the same way in the same run: the sign-in
page (the smallest page the workbench renders, no database). Aim: p95 under 100 ms.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

PASSWORD = "benchmark password"


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


def serve(url: str, port: int) -> None:
    """Run in the server process: the workbench alone over the study database."""
    import uvicorn

    from sibkit.store import open_store
    from sibkit.workbench.routes import Workbench, standalone_app
    from sibkit.workbench.sample import THEMES

    app = standalone_app(Workbench(open_store(url, migrate=False), list(THEMES), title="benchmark"))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1] if len(values) > 1 \
        else (values[0] if values else float("nan"))


def signed_in(base: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    page = client.get("/review/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = client.post("/review/login", data={"csrf": token, "name": name, "password": PASSWORD})
    if answer.status_code != 303:
        raise SystemExit(f"{name} could not sign in: {answer.status_code}")
    return client


def load(clients: list[httpx.Client], seconds: float, work) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """Run ``work(client, times)`` in a loop on every client at once for ``seconds``."""
    stop = time.monotonic() + seconds
    results: dict[str, list[float]] = {}
    lock = threading.Lock()

    def run(client: httpx.Client) -> None:
        times: dict[str, list[float]] = {}
        while time.monotonic() < stop:
            work(client, times)
        with lock:
            for key, values in times.items():
                results.setdefault(key, []).extend(values)

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def timed(times: dict[str, list[float]], key: str, call):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    answer = call()
    times.setdefault(key, []).append((time.perf_counter() - start) * 1000)
    return answer


def baseline_work(client: httpx.Client, times: dict[str, list[float]]) -> None:
    timed(times, "sign-in page (baseline)", lambda: client.get("/review/login")).raise_for_status()


def review_work(client: httpx.Client, times: dict[str, list[float]]) -> None:
    page = timed(times, "queue page", lambda: client.get("/review/queue"))
    page.raise_for_status()
    found = re.search(r'data-reference="(\d+)"', page.text)
    if found is None:
        return
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    form = {"csrf": token, "reference_id": found.group(1), "decision": "accept", "next": "/review/queue"}
    answer = timed(times, "decision round trip", lambda: client.post("/review/decide", data=form))
    if answer.status_code != 303:
        raise SystemExit(f"a decision failed: {answer.status_code} {answer.text[:200]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--references", type=int, default=10_000)
    parser.add_argument("--full", action="store_true", help="100,000 references")
    parser.add_argument("--coders", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a new SQLite file)")
    parser.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL server (sibkit.testing)")
    parser.add_argument("--serve", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
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
    server = subprocess.Popen([sys.executable, __file__, "--serve", url, str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/review/login", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the workbench server did not start") from None
                time.sleep(0.2)
        clients = [signed_in(base, f"coder{number}") for number in range(args.coders)]
        results = load(clients, args.seconds, baseline_work)
        results.update(load(clients, args.seconds, review_work))
        for client in clients:
            client.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        folder.cleanup()
        if postgres is not None:
            postgres.stop()
    baseline = percentile(results["sign-in page (baseline)"], 0.95)
    print(f"{args.coders} concurrent coders, {references:,} references, {args.seconds:.0f} s per phase, "
          f"{'PostgreSQL' if url.startswith('postgresql') else 'SQLite'} "
          f"(server: uvicorn, one process; clients: threads in this process)")
    print(f"{'':28} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8} {'p95 / baseline':>15}")
    for key, values in results.items():
        p95 = percentile(values, 0.95)
        print(f"{key:28} {len(values):9d} {percentile(values, 0.5):8.1f} {p95:8.1f} {p95 / baseline:15.2f}")
    decided = len(results.get("decision round trip", []))
    print(f"{decided} decisions stored; aim: p95 under 100 ms")


if __name__ == "__main__":
    main()
