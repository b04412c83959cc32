"""Serving at scale: the page cache's byte bound and LRU order, and `sibkit serve --workers`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from sibkit.pagecache import ByteLRU, PageCache
from sibkit.web import create_app
from sibkit.web.server import BackgroundServer, free_port

operations = st.lists(st.tuples(st.sampled_from(["put", "get"]), st.integers(0, 12), st.integers(0, 400)),
                      max_size=80)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2000), operations)
def test_the_cache_never_exceeds_its_bytes_and_evicts_the_least_recently_used(bound: int, ops) -> None:
    cache = ByteLRU(bound)
    model: list[tuple[str, int, bytes]] = []  # (key, cost, body), least recently used first
    for action, number, size in ops:
        key = f"/page/{number}"
        value = (200, [(b"content-type", b"text/html")], b"x" * size)
        cost = len(key) + size + len(b"content-type") + len(b"text/html")
        known = [k for k, _, _ in model]
        if action == "get":
            got = cache.get(key)
            if key in known:
                entry = model.pop(known.index(key))
                assert got is not None and got[2] == entry[2]  # the body first stored under the key
                model.append(entry)
            else:
                assert got is None
        else:
            cache.put(key, value)
            if key not in known and cost <= bound // 8:
                model.append((key, cost, value[2]))
                while sum(c for _, c, _ in model) > bound:
                    model.pop(0)  # the least recently used goes first
        assert cache.bytes <= bound
        assert cache.bytes == sum(c for _, c, _ in model)
        assert list(cache.entries) == [k for k, _, _ in model]


def page_cache(app) -> PageCache:
    layer = app.middleware_stack
    while not isinstance(layer, PageCache):
        layer = layer.app
    return layer


def test_the_app_keeps_pages_within_the_bound_and_the_recent_ones(dataset) -> None:
    bound = 1_500_000  # about 20 dashboards of ~75 kB; a page over an eighth of the bound is not kept
    app = create_app(dataset, cache_bytes=bound)
    urls = [f"/?country=GB&live_from={year}" for year in range(2000, 2040)]
    plain = {"Accept-Encoding": "identity"}  # uncompressed pages: the bound is met by evicting
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url, timeout=60, headers=plain) as client:
        first = client.get(urls[-1]).text
        for url in urls:
            assert client.get(url).status_code == 200
            assert page_cache(app).cache.bytes <= bound
        cache = page_cache(app).cache
        kept = list(cache.entries)
        assert 5 < len(kept) < len(urls)
        assert kept == ["?".join(url.split("?", 1)) for url in urls[-len(kept):]]  # the most recent, in order
        assert urls[0] not in cache
        assert client.get(urls[-1]).text == first  # served from the cache, the same page


def test_serve_with_two_workers_answers_and_refuses_a_study(indigo_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "sibkit", "serve", "--data", str(indigo_dir), "--port", str(port),
                               "--workers", "2", "--cache-mb", "8"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.5)
        assert health.json()["projects"] == 319
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(6):  # whichever worker answers has the data loaded
                page = client.get("/?country=GB")
                assert page.status_code == 200 and 'id="figure-projects"' in page.text
                assert client.get("/projects/INDIGO-POJ-0168").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    study = tmp_path / "study.yaml"
    study.write_text("name: x\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "sibkit", "serve", str(study), "--workers", "2"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "--workers" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_project_tables_read_once_equal_the_dataframe_slices(dataset) -> None:
    from sibkit.web.views import PROJECT_TABLES, Views

    views = Views(dataset)
    for project_id in dataset.projects["id"].iloc[::4]:  # every fourth project (pandas' slices are slow)
        tables = views.project(project_id)["tables"]
        for table in PROJECT_TABLES:
            frame = dataset.rows_for(table, project_id)
            filled = [c for c in frame.columns if c != "project_id" and frame[c].notna().any()]
            got = tables[table]
            assert got.columns == filled, (project_id, table)
            expected = frame[filled].to_dict("records")
            assert len(got.to_dict()) == len(expected)
            for mine, theirs in zip(got.to_dict(), expected, strict=True):
                assert mine.keys() == theirs.keys()
                for key, value in theirs.items():
                    same = mine[key] is value or mine[key] == value or (value != value and mine[key] != mine[key])
                    assert same, (project_id, table, key, mine[key], value)
            assert list(views.project_frame(table, project_id).columns) == filled


def test_serve_on_a_port_in_use_says_so_in_one_line_and_never_claims_to_serve(indigo_dir: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for extra in ([], ["--workers", "2"]):
            done = subprocess.run([sys.executable, "-m", "sibkit", "serve", "--data", str(indigo_dir), "--port",
                                   str(port), *extra], capture_output=True, text=True, timeout=120)
            assert done.returncode == 2, (extra, done.stdout, done.stderr)
            assert "serving" not in done.stdout, extra
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and f"port {port}" in lines[0] and "in use" in lines[0], (extra, done.stderr)


def test_serve_without_a_study_uses_a_process_per_core_by_default(indigo_dir: Path, tmp_path: Path) -> None:
    import os

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "sibkit", "serve", "--data", str(indigo_dir), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        announced = server.stdout.readline()  # type: ignore[union-attr]
    finally:
        server.terminate()
        server.wait(timeout=30)
    cores = min(os.cpu_count() or 1, 8)
    expected = f"with {cores} processes" if cores > 1 else "/ (Ctrl-C to stop)"
    assert f"http://127.0.0.1:{port}/" in announced and expected in announced
    bad = subprocess.run([sys.executable, "-m", "sibkit", "serve", "--data", str(tmp_path / "absent"), "--port",
                          str(free_port())], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
