"""A study's database (SQLAlchemy 2, Alembic migrations): SQLite by default, PostgreSQL for teams."""

from __future__ import annotations

import functools
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from sibkit.errors import SibkitError
from sibkit.store.among import among
from sibkit.store.models import (
    DOCUMENT_TYPES,
    AuditMark,
    AuditSample,
    AuditSentence,
    Base,
    CodingState,
    Document,
    DocumentCase,
    FetchAttempt,
    Memo,
    ReaderScore,
    Reference,
    ReviewDecision,
    ReviewStanding,
    SentenceEmbeddings,
    Suggestion,
    User,
    WebSession,
    WorkbenchSetting,
)

MIGRATIONS = Path(__file__).parent / "migrations"
T = TypeVar("T")


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


#: how long a writer keeps retrying a locked SQLite database before it gives up (seconds)
LOCK_DEADLINE = 120.0


def _postgres_settings(dbapi_connection: Any, _record: Any) -> None:
    """Documents' texts (tens of kB each) compressed with LZ4 rather than the slower default pglz when
    the server has it (PostgreSQL 14 and later, built with LZ4); elsewhere nothing changes."""
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET default_toast_compression = 'lz4'")
        dbapi_connection.commit()
    except Exception:  # an older server or one built without LZ4
        dbapi_connection.rollback()


def _sqlite_pragmas(dbapi_connection, _record, busy_timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    # sibkit emits BEGIN itself (see _sqlite_begin), so that DDL is transactional and writers can
    # take the write lock up front (BEGIN IMMEDIATE) instead of failing to upgrade a read lock
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    for attempt in range(50):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except Exception as exc:  # another process is creating the file at this moment
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.05 + random.random() * 0.1)
    # WAL with synchronous=NORMAL: every commit is atomic and survives a crash of the program; only a
    # power cut can lose the last commits (never corrupt the file). FULL syncs the disk on each commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection) -> None:  # type: ignore[no-untyped-def]
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":  # each statement its own transaction
        return
    connection.exec_driver_sql(f"BEGIN {options.get('sqlite_begin', '')}".strip())


def is_locked_error(exc: BaseException) -> bool:
    """SQLite's "database is locked" / "busy" (another process holds the write lock)."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    return isinstance(exc, OperationalError) and ("locked" in text or "busy" in text)


_turns_lock = threading.Lock()
_turns: dict[str, threading.RLock] = {}  # one per lock file in this process, shared by every Store of that file
_held = threading.local()  # lock files whose turn this thread holds (a nested write transaction keeps it)


class WriterQueue:
    """The turn of writers to one SQLite study, across threads and processes: an exclusive ``flock`` on a
    lock file beside the database (``study.sqlite-writers``), held for each write transaction.

    SQLite itself makes a waiting writer poll with growing sleeps, against a deadline: with many busy
    processes some lose every time and give up. Waiting on the lock file instead, a writer sleeps until
    the writer before it has committed, however long that takes, and then finds SQLite's lock free. (A
    program that writes to the file without this lock is still polled for, up to ``LOCK_DEADLINE``.)
    Threads of one process take turns on a lock of their own first (``flock`` does not exclude them), and a
    thread that holds the turn keeps it for a write transaction opened inside its own."""

    def __init__(self, database: Path) -> None:
        self.path = str(database.with_name(database.name + "-writers"))
        with _turns_lock:
            self.threads = _turns.setdefault(self.path, threading.RLock())

    @contextmanager
    def turn(self) -> Iterator[None]:
        import fcntl

        held: set[str] = _held.__dict__.setdefault("paths", set())
        if self.path in held:  # this thread already has the turn
            yield
            return
        with self.threads:
            try:  # opened for each turn: a forked worker never shares (and releases) its parent's lock
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            except OSError:  # a read-only folder: nobody can write anyway, SQLite will say so
                fd = None
            try:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)  # sleeps until the writer before has finished
                held.add(self.path)
                yield
            finally:
                held.discard(self.path)
                if fd is not None:
                    os.close(fd)  # releases the lock


def _writer_queue(engine: Engine) -> WriterQueue | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    try:
        import fcntl  # noqa: F401  (POSIX only)
    except ImportError:  # Windows: SQLite's own polling
        return None
    return WriterQueue(Path(database))


def with_retry(work: Callable[[], T], *, deadline: float = LOCK_DEADLINE, what: str = "write") -> T:
    """Run ``work`` (one whole transaction) again, with growing random back-off, while SQLite says the
    database is locked; after ``deadline`` seconds give up with a :class:`SibkitError` saying so."""
    started = time.monotonic()
    pause = 0.05
    while True:
        try:
            return work()
        except OperationalError as exc:
            if not is_locked_error(exc):
                raise
            waited = time.monotonic() - started
            if waited + pause > deadline:
                raise SibkitError(f"the study database stayed locked by another process for {waited:.0f} s; "
                                  f"gave up the {what} (nothing of it was stored); try again") from None
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 2.0)


class Store:
    """One study database. ``session()`` commits on success and rolls back on any error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.writers = _writer_queue(engine)

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A transaction; ``write=True`` on SQLite waits for its turn among the study's writers
        (:class:`WriterQueue`), then takes SQLite's write lock at the start (BEGIN IMMEDIATE), so it never
        fails half-way."""
        if write and self.writers is not None:
            with self.writers.turn(), self._transaction(write=True) as session:
                yield session
            return
        with self._transaction(write=write) as session:
            yield session

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Session]:
        session = self._sessions()
        try:
            if write and self.engine.dialect.name == "sqlite":
                session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def close(self) -> None:
        self.engine.dispose()


def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head() or ""


def open_store(url: str, *, migrate: bool = True, busy_timeout: float = 10.0) -> Store:
    """Open (and bring up to date) the database at a SQLAlchemy URL; SQLite in WAL mode, each
    statement waiting up to ``busy_timeout`` seconds for another process's lock."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        engine = create_engine(url, future=True)
    except Exception as exc:  # bad URL or missing driver
        raise SibkitError(f"cannot open the study database {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, busy_timeout=busy_timeout))
        event.listen(engine, "begin", _sqlite_begin)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgres_settings)
    store = Store(engine)
    if migrate:
        try:
            with_retry(lambda: _migrate(engine, store.writers), what="database creation")
        except OperationalError as exc:
            raise SibkitError(f"cannot open the study database {engine.url!r}: {exc.orig}") from None
    return store


def _migrate(engine: Engine, writers: WriterQueue | None = None) -> None:
    """Bring the schema to head under a lock, so that many processes opening a new study at once
    create it once: SQLite's write lock (BEGIN IMMEDIATE; DDL is transactional; after the turn among its
    writers), PostgreSQL's transaction-level advisory lock."""
    if writers is not None:
        with writers.turn():
            _migrate(engine)
        return
    with engine.connect() as plain:
        connection = plain.execution_options(sqlite_begin="IMMEDIATE")
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(5121100)")
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")


__all__ = ["DOCUMENT_TYPES", "AuditMark", "AuditSample", "AuditSentence", "Base", "CodingState", "Document",
           "DocumentCase", "FetchAttempt", "Memo", "ReaderScore", "Reference", "ReviewDecision", "ReviewStanding",
           "SentenceEmbeddings", "Store", "Suggestion", "User", "WebSession", "WorkbenchSetting", "among",
           "head_revision", "is_locked_error", "open_store", "with_retry"]
