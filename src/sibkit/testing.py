"""A tiny local HTTP server for tests and benchmarks (127.0.0.1 only, nothing leaves the machine)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(payload: object) -> Response:
    return Response(200, json.dumps(payload).encode(), "application/json")


class LocalServer:
    """Serves ``routes`` (URL path -> Response, or a callable returning one) on a free local port.

    ``requests`` lists every path asked for; ``fail_once`` paths answer 503 the first time.
    Use as a context manager, or call ``close()``.
    """

    def __init__(self, routes: dict[str, Response | Callable[[], Response]],
                 fail_once: set[str] | None = None) -> None:
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
                self.wfile.write(response.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
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
