"""Per-item work on a process pool, results in input order, with a bounded number of items in flight.

``ordered_map`` is a thin layer over :class:`concurrent.futures.ProcessPoolExecutor`: the standard
``Executor.map`` submits the whole input at once (a corpus of a million documents would be held in
memory), so here chunks of items are submitted only while fewer than a few per worker are pending,
and results come back in the order of the input (document ids then do not depend on ``--jobs``).
With ``jobs <= 1`` the function runs in this process and nothing is started.

``executor="dask://HOST:PORT"`` runs the same chunks on a dask.distributed cluster instead (the
``dask`` extra): the caller stays the one writer, the workers need sibkit installed and the inputs
the function reads (files on shared storage, the study database). Each worker process runs the
initializer once per map before its first chunk.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sibkit.errors import SibkitError

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


def parse_executor(text: str | None) -> str | None:
    """``--executor``: ``local`` (or nothing) for this machine's processes, or ``dask://HOST:PORT`` for a
    dask.distributed scheduler; returns the scheduler's address (``tcp://HOST:PORT``) or None."""
    if text is None or text.strip().lower() in ("", "local"):
        return None
    parts = urlsplit(text.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "dask" or not parts.hostname or port is None or parts.path not in ("", "/") \
            or parts.query or parts.username:
        raise SibkitError(f"--executor {text!r}: expected 'local' or dask://HOST:PORT (a dask.distributed "
                          "scheduler's address)")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"tcp://{host}:{port}"


def ordered_map(function: Callable[[T], R], items: Iterable[T], *, jobs: int = 1, chunk_size: int = 8,
                initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = (),
                ahead: int = 4, executor: str | None = None, children: bool = False) -> Iterator[R]:
    """``function(item)`` for each item, in order; on ``jobs`` worker processes when ``jobs > 1``.

    ``initializer(*initargs)`` runs once in each worker (or once here when ``jobs <= 1``). At most
    ``ahead`` chunks per worker are in flight, so memory stays bounded however long ``items`` is.
    ``function`` must not raise for a bad item (return an outcome instead): an exception ends the map.
    ``executor``: a dask.distributed scheduler's address (see :func:`parse_executor`) to run on instead;
    ``children``: the function starts processes of its own (dask workers must then not be daemonic)."""
    if executor is not None:
        yield from _dask_map(function, items, executor, chunk_size=chunk_size, initializer=initializer,
                             initargs=initargs, ahead=ahead, children=children)
        return
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


#: in a dask worker process: the maps whose initializer has run here
_initialised: set[str] = set()


def _run_chunk_initialised(function: Callable[[T], R], chunk: list[T], token: str,
                           initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> list[R]:
    """On a dask worker: the map's initializer once per worker process, then the chunk."""
    if token not in _initialised:
        if initializer is not None:
            initializer(*initargs)
        _initialised.add(token)
    return _run_chunk(function, chunk)


def _daemonic() -> bool:
    return bool(multiprocessing.current_process().daemon)


def _dask_map(function: Callable[[T], R], items: Iterable[T], address: str, *, chunk_size: int,
              initializer: Callable[..., None] | None, initargs: tuple[Any, ...], ahead: int,
              children: bool) -> Iterator[R]:
    """:func:`ordered_map` on a dask.distributed cluster: chunks submitted while fewer than ``ahead``
    per worker are pending, results yielded in input order."""
    from sibkit.optional import require

    distributed = require("distributed", "dask", "--executor dask://...")
    try:
        client = distributed.Client(address, set_as_default=False, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise SibkitError(f"--executor: no dask scheduler answered at {address} ({exc})") from None
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        if children and any(client.run(_daemonic).values()):
            raise SibkitError(f"--executor: the dask workers at {address} run as daemonic processes, which may not "
                              "start sibkit's extraction worker; start them with the dask setting "
                              "distributed.worker.daemon: false (DASK_DISTRIBUTED__WORKER__DAEMON=False)")
        token = uuid.uuid4().hex
        shared = client.scatter(initargs, broadcast=True) if initargs else ()
        source = iter(items)
        pending: deque[Any] = deque()
        while True:
            while len(pending) < workers * ahead:
                chunk = list(islice(source, chunk_size))
                if not chunk:
                    break
                pending.append(client.submit(_run_chunk_initialised, function, chunk, token, initializer, shared,
                                             pure=False))
            if not pending:
                return
            yield from pending.popleft().result()
    finally:
        client.close()
