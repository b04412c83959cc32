"""Many processes at once on one study: creating the database, importing review files, adding the
same corpus folder; on SQLite (and the database creation also on PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sibkit.store import Document, DocumentCase, ReviewDecision, head_revision, open_store, with_retry

ROOT = Path(__file__).resolve().parents[1]


def run_many(script: str, arguments: list[list[str]], timeout: float = 240) -> list[subprocess.CompletedProcess]:
    """Start one Python process per argument list at the same moment and wait for them all."""
    code = textwrap.dedent(script)
    processes = [subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for args in arguments]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def test_eight_processes_create_one_new_sqlite_study(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    results = run_many("""
        import sys
        from sibkit.store import open_store
        store = open_store(sys.argv[1])
        print(store.revision())
    """, [[url]] * 8)
    assert [r.returncode for r in results] == [0] * 8, [r.stderr[-500:] for r in results]
    assert {r.stdout.strip() for r in results} == {head_revision()}


@pytest.mark.postgres
def test_processes_create_one_new_postgres_study(postgres) -> None:
    url = postgres.new_database()
    results = run_many("""
        import sys
        from sibkit.store import open_store
        print(open_store(sys.argv[1]).revision())
    """, [[url]] * 4)
    assert [r.returncode for r in results] == [0] * 4, [r.stderr[-500:] for r in results]
    assert {r.stdout.strip() for r in results} == {head_revision()}


def test_concurrent_review_imports_all_land(tmp_path: Path) -> None:
    from test_hostile_review import THEMES, coded_store

    from sibkit.coding import export_rows, write_review_file

    store = coded_store(tmp_path / "study.sqlite")
    rows = export_rows(store).assign(decision="accept")
    path = tmp_path / "review.csv"
    write_review_file(rows, path)
    results = run_many("""
        import sys
        from pathlib import Path
        from sibkit.coding import import_decisions
        from sibkit.store import open_store
        store = open_store(sys.argv[1])
        result = import_decisions(store, Path(sys.argv[2]), sys.argv[3], set(sys.argv[4].split(",")))
        print(result.decisions, len(result.problems))
    """, [[f"sqlite:///{tmp_path / 'study.sqlite'}", str(path), f"coder{i}", ",".join(THEMES)] for i in range(4)])
    assert [r.returncode for r in results] == [0] * 4, [r.stderr[-500:] for r in results]
    assert [r.stdout.split() for r in results] == [[str(len(rows)), "0"]] * 4
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(ReviewDecision)) == 4 * len(rows)


def test_concurrent_corpus_adds_of_one_folder_are_idempotent(tmp_path: Path) -> None:
    folder = tmp_path / "corpus" / "CASE"
    folder.mkdir(parents=True)
    for index in range(30):
        (folder / f"note-{index}.txt").write_text(f"Note {index} on relational working.", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'study.sqlite'}"
    results = run_many("""
        import sys
        from pathlib import Path
        from sibkit.corpus.importer import add_paths
        from sibkit.store import open_store
        corpus = Path(sys.argv[2])
        report = add_paths(open_store(sys.argv[1]), [corpus], corpus_folder=corpus, known_cases={"CASE"})
        print(sorted({o.status for o in report.outcomes}))
    """, [[url, str(tmp_path / "corpus")]] * 3)
    assert [r.returncode for r in results] == [0] * 3, [r.stderr[-500:] for r in results]
    for result in results:
        assert set(eval(result.stdout)) <= {"added", "unchanged"}
    store = open_store(url)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 30
        assert session.scalar(select(func.count()).select_from(DocumentCase)) == 30


def test_a_writer_gives_up_on_a_lock_within_its_deadline_and_says_so(tmp_path: Path) -> None:
    import sqlite3
    import time

    from sibkit.errors import SibkitError

    url = f"sqlite:///{tmp_path / 'study.sqlite'}"
    store = open_store(url, busy_timeout=0.1)
    holder = sqlite3.connect(tmp_path / "study.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    attempts = []

    def write() -> None:
        attempts.append(1)
        with store.session(write=True) as session:
            session.add(Document(sha256="b" * 64, text="x"))

    try:
        started = time.monotonic()
        with pytest.raises(SibkitError, match="stayed locked by another process"):
            with_retry(write, deadline=1.0, what="test write")
        assert time.monotonic() - started < 10 and len(attempts) >= 3  # retried, with back-off, then gave up
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    write()
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 1


def test_eight_concurrent_imports_on_sqlite_wait_their_turn_and_all_land(tmp_path: Path) -> None:
    """Writers queue for the study (a lock file beside it) instead of polling SQLite's lock against a deadline.
    A ninth process keeps the write lock for one second at a time, for six seconds; with the polling cut to
    one second (instead of two minutes), eight imports started meanwhile all wait, finish and store
    everything."""
    for worker in range(8):
        folder = tmp_path / f"corpus-{worker}"
        folder.mkdir()
        for index in range(10):
            text = f"Worker {worker} document {index} on partnership working. " * 200
            (folder / f"doc-{index}.txt").write_text(text, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'study.sqlite'}"
    open_store(url).close()
    neighbour = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        from sibkit.store import open_store
        store = open_store(sys.argv[1], busy_timeout=0.05)
        end = time.monotonic() + 6
        while time.monotonic() < end:
            with store.session(write=True):  # holds the study's write lock
                time.sleep(1.0)
    """), url])
    try:
        results = run_many("""
            import sys
            from pathlib import Path
            import sibkit.store
            sibkit.store.with_retry.__kwdefaults__["deadline"] = 1.0  # a short poll: giving up would show
            from sibkit.corpus.importer import add_paths
            from sibkit.store import open_store
            report = add_paths(open_store(sys.argv[1], busy_timeout=0.05), [Path(sys.argv[2])], batch_size=2)
            print(report.count("added"), len(report.problems), [p.line()[:200] for p in report.problems][:2])
        """, [[url, str(tmp_path / f"corpus-{worker}")] for worker in range(8)])
    finally:
        neighbour.wait(timeout=60)
    assert [r.returncode for r in results] == [0] * 8, [r.stderr[-500:] for r in results]
    assert [r.stdout.split()[:2] for r in results] == [["10", "0"]] * 8, [r.stdout for r in results]
    store = open_store(url)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 8 * 10
    store.close()
