"""Helpers for tests and benchmarks: a tiny local HTTP server (127.0.0.1 only, nothing leaves the
machine) and a throw-away PostgreSQL server (initdb in a temp folder, a free local port, trust
authentication on 127.0.0.1 only, removed afterwards)."""

from __future__ import annotations

import contextlib
import glob
import io
import json
import os
import pwd
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)
    #: seconds to wait before each byte of the body (a server that trickles its answer)
    byte_delay: float = 0.0


def json_response(payload: object) -> Response:
    return Response(200, json.dumps(payload).encode(), "application/json")


class _QuietServer(ThreadingHTTPServer):
    def server_bind(self) -> None:
        """HTTPServer's, without its ``socket.getfqdn(host)``: for an address /etc/hosts does not name
        (127.0.0.2) that is a reverse DNS query, a packet leaving the machine."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up early (a size limit, a time-out) is expected, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class LocalServer:
    """Serves ``routes`` (URL path -> Response, or a callable returning one) on a free local port.

    ``requests`` lists every path asked for; ``fail_once`` paths answer 503 the first time.
    Use as a context manager, or call ``close()``.
    """

    def __init__(self, routes: dict[str, Response | Callable[[], Response]],
                 fail_once: set[str] | None = None, host: str = "127.0.0.1") -> None:
        if not host.startswith("127."):
            raise ValueError("LocalServer only listens on loopback addresses (127.x.y.z)")
        self.routes = routes
        self.fail_once = set(fail_once or ())
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                if self.path in server.fail_once:
                    server.fail_once.discard(self.path)
                    response = Response(503, b"busy", "text/plain")
                else:
                    route = server.routes.get(self.path)
                    response = route() if callable(route) else route
                    response = response or Response(404, b"not found", "text/plain")
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if response.byte_delay <= 0:
                    self.wfile.write(response.body)
                    return
                for index in range(len(response.body)):
                    time.sleep(response.byte_delay)
                    try:
                        self.wfile.write(response.body[index:index + 1])
                        self.wfile.flush()
                    except OSError:
                        return

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = _QuietServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def api_routes(records: dict[str, list[tuple[str, dict]]]) -> dict[str, Response | Callable[[], Response]]:
    """Routes in the INDIGO API's shape for ``{"project": [(id, data), ...], ...}``."""
    routes: dict[str, Response | Callable[[], Response]] = {}
    for model, items in records.items():
        routes[f"/app/api1/{model}"] = json_response({f"{model}s": [{"id": rid, "public": True} for rid, _ in items]})
        for rid, data in items:
            routes[f"/app/api1/{model}/{rid}"] = json_response({model: {"id": rid, "data": data}})
    return routes



def postgres_bin() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        bindir = postgres_bin()
        if bindir is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb) found; install Debian's postgresql")
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="sibkit-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self.user = pwd.getpwnam("postgres")
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        self._run(["initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                   "--locale=C.UTF-8"])
        self._run(["pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60", "-o",
                   f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"])
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._databases = 0

    def _run(self, command: list[str]) -> None:
        command = [str(self.bindir / command[0]), *command[1:]]
        if self.user is not None:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout.strip()}")

    def new_database(self) -> str:
        """A fresh, empty database on this server, as a SQLAlchemy URL."""
        import psycopg

        self._databases += 1
        name = f"sibkit_test_{self._databases}_{int(time.time() * 1000) % 100000}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Ran:
    """What a command line run gave: exit status, standard output, standard error."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> Ran:
    """The ``sibkit`` command line run in this process, as a user runs it (faster than a subprocess)."""
    from sibkit.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = sys.argv
    sys.argv = ["sibkit", *args]
    code: int | str | None = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as stop:
        code = stop.code
    finally:
        sys.argv = saved
    return Ran(code if isinstance(code, int) else (0 if code is None else 1), out.getvalue(), err.getvalue())


def make_zip(path: Path, members: dict[str, bytes | str]) -> Path:
    """A ZIP archive of ``members`` (name -> bytes, or text written as UTF-8), e.g. a hand-made .qdpx."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data.encode("utf-8") if isinstance(data, str) else data)
    return path
