"""Per-item work on a process pool, results in input order, with a bounded number of items in flight.

``ordered_map`` is a thin layer over :class:`concurrent.futures.ProcessPoolExecutor`: the standard
``Executor.map`` submits the whole input at once (a corpus of a million documents would be held in
memory), so here chunks of items are submitted only while fewer than a few per worker are pending,
and results come back in the order of the input (document ids then do not depend on ``--jobs``).
With ``jobs <= 1`` the function runs in this process and nothing is started.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform says)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def resolve_jobs(jobs: int) -> int:
    """``--jobs``: a positive number of worker processes; 0 means one per available core."""
    if jobs < 0:
        raise ValueError("--jobs must be 0 (one per core) or a positive number")
    return jobs or available_cores()


def exit_with_parent(interval: float = 0.5) -> None:
    """In a worker process: exit as soon as the process that started it is gone (killed with SIGKILL,
    say), instead of lingering as an orphan; a daemon thread watches the parent's process id."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="sibkit-parent-watch", daemon=True).start()


def _start_worker(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    exit_with_parent()
    if initializer is not None:
        initializer(*initargs)


def _run_chunk(function: Callable[[T], R], chunk: list[T]) -> list[R]:
    return [function(item) for item in chunk]


def _ready() -> None:
    """A first task: every worker is started (forked) before the caller opens anything more."""


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    # fork: workers inherit the parent's modules (and a compiled codebook) without pickling or re-importing
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def ordered_map(function: Callable[[T], R], items: Iterable[T], *, jobs: int = 1, chunk_size: int = 8,
                initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = (),
                ahead: int = 4) -> Iterator[R]:
    """``function(item)`` for each item, in order; on ``jobs`` worker processes when ``jobs > 1``.

    ``initializer(*initargs)`` runs once in each worker (or once here when ``jobs <= 1``). At most
    ``ahead`` chunks per worker are in flight, so memory stays bounded however long ``items`` is.
    ``function`` must not raise for a bad item (return an outcome instead): an exception ends the map."""
    if jobs <= 1:
        if initializer is not None:
            initializer(*initargs)
        for item in items:
            yield function(item)
        return
    source = iter(items)
    with ProcessPoolExecutor(jobs, mp_context=_context(), initializer=_start_worker,
                             initargs=(initializer, initargs)) as pool:
        pool.submit(_ready).result()
        pending: deque[Future[list[R]]] = deque()
        while True:
            while len(pending) < jobs * ahead:
                chunk = list(islice(source, chunk_size))
                if not chunk:
                    break
                pending.append(pool.submit(_run_chunk, function, chunk))
            if not pending:
                return
            yield from pending.popleft().result()
