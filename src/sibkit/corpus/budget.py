"""Text extraction under a time and memory budget per document.

A damaged or hostile file can make a parser run for minutes or eat gigabytes (an HTML page of
90 MB, a DOCX with two million paragraphs). :class:`ExtractionWorker` runs
:func:`sibkit.corpus.extraction.extract` in a child process whose address space is capped
(``RLIMIT_AS``: its size at start plus the memory budget) and which is killed when a document
takes longer than the time budget; the document then gets the status ``failed`` with a message
saying which limit it hit, and the next document goes to a fresh worker. The worker is reused
between documents, so the cost of starting it is paid once per batch, not per file.

On a platform without ``fork`` or ``resource`` (Windows) extraction runs in-process, without the
budget.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from sibkit.corpus.extraction import MAX_FILE_BYTES, Extracted, extract

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

DEFAULT_TIME_LIMIT = 120.0
DEFAULT_MEMORY_LIMIT = 2 * 1024 * 1024 * 1024
#: what one import's parsing may need (``SIBKIT_MEMORY_MB``): the extraction worker gets it, a REFI-QDA
#: project file may be a sixteenth of it (parsing XML takes about twelve times the file), a batch of
#: documents waiting for its transaction a sixteenth of it in text
MEMORY_ENV = "SIBKIT_MEMORY_MB"


def memory_budget() -> int:
    """The memory budget in bytes: ``SIBKIT_MEMORY_MB`` (default 2048)."""
    megabytes = os.environ.get(MEMORY_ENV)
    try:
        return max(16, int(float(megabytes))) * 1024 * 1024 if megabytes else DEFAULT_MEMORY_LIMIT
    except ValueError:
        return DEFAULT_MEMORY_LIMIT


@dataclass(frozen=True)
class Budget:
    """Seconds and bytes (beyond what the worker holds at start) one document may use."""

    seconds: float = DEFAULT_TIME_LIMIT
    memory_bytes: int = DEFAULT_MEMORY_LIMIT

    @classmethod
    def from_environment(cls) -> Budget:
        """``SIBKIT_EXTRACT_SECONDS`` / ``SIBKIT_EXTRACT_MEMORY_MB`` override the defaults (the memory: the
        budget of ``SIBKIT_MEMORY_MB``)."""
        seconds = float(os.environ.get("SIBKIT_EXTRACT_SECONDS") or DEFAULT_TIME_LIMIT)
        megabytes = os.environ.get("SIBKIT_EXTRACT_MEMORY_MB")
        memory = int(float(megabytes) * 1024 * 1024) if megabytes else memory_budget()
        return cls(seconds, memory)


def _address_space() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _serve(connection: Connection, memory_bytes: int) -> None:
    """The worker's loop: receive (data, name, max_bytes), send back an Extracted."""
    from sibkit.parallel import exit_with_parent

    exit_with_parent()  # a killed import leaves no worker behind
    if resource is not None:
        try:
            limit = _address_space() + memory_bytes
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (OSError, ValueError):
            pass
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        data, name, max_bytes = request
        try:
            result = extract(data, name, max_bytes=max_bytes)
        except MemoryError:
            result = Extracted(status="failed", message="over the memory budget while extracting the text")
        del data
        try:
            connection.send(result)
        except MemoryError:
            connection.send(Extracted(status="failed", message="over the memory budget (text too large)"))


class ExtractionWorker:
    """A reusable child process that extracts one document at a time within a :class:`Budget`."""

    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget or Budget.from_environment()
        self._process: Any = None
        self._connection: Connection | None = None
        self.available = resource is not None and "fork" in multiprocessing.get_all_start_methods()

    def _start(self) -> None:
        context = multiprocessing.get_context("fork")
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child, self.budget.memory_bytes), daemon=True,
                                  name="sibkit-extract")
        process.start()
        child.close()
        self._process, self._connection = process, parent

    def _stop(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(5)
        if self._connection is not None:
            self._connection.close()
        self._process = self._connection = None

    def close(self) -> None:
        if self._connection is not None and self._process is not None and self._process.is_alive():
            try:
                self._connection.send(None)
                self._process.join(2)
            except OSError:
                pass
        self._stop()

    def extract(self, data: bytes, name: str = "", *, max_bytes: int = MAX_FILE_BYTES) -> Extracted:
        """``extract(data, name)`` within the budget; never raises."""
        if len(data) > max_bytes:
            return extract(data, name, max_bytes=max_bytes)  # refused at once, nothing parsed
        if not self.available:
            return extract(data, name, max_bytes=max_bytes)
        if self._process is None or not self._process.is_alive():
            self._stop()
            self._start()
        assert self._connection is not None
        started = time.monotonic()
        try:
            self._connection.send((data, name, max_bytes))
            if self._connection.poll(self.budget.seconds):
                result = self._connection.recv()
                if isinstance(result, Extracted):
                    if result.status == "failed" and "memory budget" in result.message:
                        self._stop()  # a worker that hit MemoryError is not trusted with the next file
                    return result
        except (EOFError, OSError, MemoryError):
            pass
        elapsed = time.monotonic() - started
        alive = self._process is not None and self._process.is_alive()
        self._stop()
        if alive and elapsed >= self.budget.seconds:
            return Extracted(status="failed", message=f"extraction took over {self.budget.seconds:g} s "
                                                      "(the time budget per document); file skipped")
        megabytes = self.budget.memory_bytes // (1024 * 1024)
        return Extracted(status="failed", message=f"extraction stopped (over the {megabytes:,} MB memory budget "
                                                  "or the parser crashed); file skipped")


_shared: ExtractionWorker | None = None


def extract_within_budget(data: bytes, name: str = "", *, max_bytes: int = MAX_FILE_BYTES) -> Extracted:
    """Extract with the process-wide worker (started on first use, stopped at exit)."""
    global _shared
    if _shared is None:
        _shared = ExtractionWorker()
        atexit.register(_shared.close)
    return _shared.extract(data, name, max_bytes=max_bytes)


def current_budget() -> Budget | None:
    """The budget the process-wide worker was given (None: not started, the defaults apply)."""
    return _shared.budget if _shared is not None else None


def close_worker() -> None:
    """Stop the process-wide worker (a later extraction starts a new one)."""
    global _shared
    if _shared is not None:
        _shared.close()
        _shared = None


def set_budget(budget: Budget) -> None:
    """Change the process-wide budget (the CLI's options, the hostile-input script)."""
    global _shared
    if _shared is not None:
        _shared.close()
    _shared = ExtractionWorker(budget)
    atexit.register(_shared.close)
