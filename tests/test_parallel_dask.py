"""`--executor dask://HOST:PORT`: import and coding on a dask.distributed cluster (a LocalCluster of two
worker processes on 127.0.0.1) store the same rows in PostgreSQL as a local run; bad executors are one
line before anything is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from test_corpus_batches import CASE_A, CASE_B, CODEBOOK, code_and_rows, database_rows, make_corpus

from sibkit.coding import code_documents
from sibkit.corpus import add_paths
from sibkit.errors import SibkitError
from sibkit.parallel import ordered_map, parse_executor
from sibkit.store import Document, open_store
from sibkit.testing import run_cli

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes and their scheduler, on loopback only (HTTP on free ports); not
    daemonic, so that import's budgeted extraction worker may start (as the README tells users)."""
    import dask

    with dask.config.set({"distributed.worker.daemon": False}):
        local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                         dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0")
    yield "dask://" + local.scheduler_address.removeprefix("tcp://")
    local.close()


def test_executor_addresses_are_read_strictly() -> None:
    assert parse_executor(None) is None and parse_executor("local") is None and parse_executor(" Local ") is None
    assert parse_executor("dask://127.0.0.1:8786") == "tcp://127.0.0.1:8786"
    assert parse_executor("dask://[::1]:8786") == "tcp://[::1]:8786"
    for bad in ("dask://host", "tcp://127.0.0.1:8786", "dask://:8786", "dask://h:99999", "dask://h:1/x",
                "threads"):
        with pytest.raises(SibkitError, match="expected 'local' or dask://HOST:PORT"):
            parse_executor(bad)


def test_a_bad_executor_is_one_line_before_the_study_is_read(tmp_path: Path) -> None:
    for command in (["code"], ["corpus", "add"]):
        ran = run_cli(*command, str(tmp_path / "no-such-study.yaml"), "--executor", "spark://x:1")
        assert ran.returncode == 2
        assert "expected 'local' or dask://HOST:PORT" in ran.stderr and "no-such-study" not in ran.stderr


def _square(value: int) -> int:
    return value * value


_seen: list[str] = []


def _note(tag: str) -> None:
    _seen.append(tag)


def _initialised_here(value: int) -> tuple[int, list[str]]:
    return value, list(_seen)


def test_ordered_map_keeps_input_order_and_runs_the_initializer_on_each_worker(cluster: str) -> None:
    address = parse_executor(cluster)
    assert list(ordered_map(_square, range(100), chunk_size=3, executor=address)) == [n * n for n in range(100)]
    results = list(ordered_map(_initialised_here, range(20), chunk_size=1, executor=address,
                               initializer=_note, initargs=("ready",)))
    assert [value for value, _ in results] == list(range(20))
    assert all(seen.count("ready") == 1 for _, seen in results)  # once per worker process, before its first chunk


@pytest.mark.postgres
def test_import_and_coding_on_dask_store_what_a_local_run_stores(tmp_path: Path, postgres, cluster: str) -> None:
    corpus = make_corpus(tmp_path, 25)
    known = {CASE_A, CASE_B}
    local, remote = postgres.new_database(), postgres.new_database()
    add_paths(open_store(local), [corpus], corpus_folder=corpus, known_cases=known, batch_size=6)
    report = add_paths(open_store(remote), [corpus], corpus_folder=corpus, known_cases=known, batch_size=6,
                       executor=parse_executor(cluster))
    assert database_rows(remote) == database_rows(local)
    assert report.count("added") == 25 + 1  # numbered documents and the shared pair's first copy
    expected = code_and_rows(local, jobs=1)
    store = open_store(remote)
    coded = code_documents(store, CODEBOOK, batch_size=7, executor=parse_executor(cluster))
    assert coded.problems == [] and coded.documents_coded == 26
    assert database_rows(remote) == expected
    again = code_documents(store, CODEBOOK, executor=parse_executor(cluster))
    assert again.documents_coded == 0 and again.references_added == 0
    store.close()


def test_daemonic_dask_workers_are_refused_in_one_line_before_any_file_is_read(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path, 3)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0") as daemonic:
        store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
        with pytest.raises(SibkitError, match=r"distributed\.worker\.daemon: false"):
            add_paths(store, [corpus], corpus_folder=corpus, known_cases={CASE_A, CASE_B},
                      executor=daemonic.scheduler_address)
        with store.session() as session:
            assert session.scalar(select(func.count()).select_from(Document)) == 0
