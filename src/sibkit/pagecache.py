"""The page cache both web layers use: an ASGI middleware that adds security headers to every answer,
refuses writes outside the live prefixes (the review workbench, the study's pages: ``Cache-Control: no-store``
there) and keeps finished pages by URL.

``sibkit.web.app`` wraps the dashboard in it and ``sibkit.workbench.routes`` the standalone workbench;
it lives here so that neither imports the other.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import MutableMapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


Cached = tuple[int, list[tuple[bytes, bytes]], bytes]


def _encoding(scope: Scope) -> str:
    """What a response to this request may be compressed with (part of the cache key: a page kept
    gzipped is never given to a client that did not ask for gzip)."""
    for name, value in scope.get("headers", []):
        if name == b"accept-encoding" and b"gzip" in value:
            return " gzip"
    return ""


class ByteLRU:
    """Finished responses by URL, bounded by bytes (body, headers and key together): storing one
    evicts the least recently used until the total fits; an entry over an eighth of the bound is not kept."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.entries: OrderedDict[str, tuple[Cached, int]] = OrderedDict()

    @staticmethod
    def cost(key: str, value: Cached) -> int:
        return len(key) + len(value[2]) + sum(len(name) + len(text) for name, text in value[1])

    def get(self, key: str) -> Cached | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        self.entries.move_to_end(key)
        return entry[0]

    def put(self, key: str, value: Cached) -> None:
        cost = self.cost(key, value)
        if key in self.entries or cost > self.max_bytes // 8:
            return
        self.entries[key] = (value, cost)
        self.bytes += cost
        while self.bytes > self.max_bytes:
            self.bytes -= self.entries.popitem(last=False)[1][1]

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, key: str) -> bool:
        return key in self.entries


class PageCache:
    """ASGI middleware: security headers on every response, read-only (GET and HEAD) except under
    ``live_prefixes`` (pages that change, passed through uncached), and finished
    responses cached by URL (the dataset never changes while the app runs), served without
    running the route again, in a ``ByteLRU`` of ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int = 64 * 2**20, live_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.live_prefixes = live_prefixes
        self.cache = ByteLRU(max_bytes)
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        self.live_headers = [*self.headers, (b"cache-control", b"no-store")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if any(scope["path"] == p or scope["path"].startswith(p + "/") for p in self.live_prefixes):
            # pages that change, or that only a signed-in coder may read: any method, never cached here, and
            # never kept by a browser or a proxy either (unless the route says otherwise: the workbench's assets)
            started_live: list[bool] = []
            live_send = self._with_headers(send, self.live_headers)

            async def noting(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    started_live.append(True)
                await live_send(message)

            try:
                await self.app(scope, receive, noting)
            except Exception:
                log.exception("error answering %s", scope["path"])
                if started_live:
                    raise
                await self._server_error(send, self.live_headers)
            return
        if scope["method"] not in ("GET", "HEAD"):
            body = b"sibkit's web app is read-only"
            await send({"type": "http.response.start", "status": 405,
                        "headers": [*self.headers, (b"allow", b"GET, HEAD"),
                                    (b"content-type", b"text/plain; charset=utf-8"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        key = scope["path"] + "?" + scope.get("query_string", b"").decode("latin-1") + _encoding(scope)
        hit = self.cache.get(key)
        if hit is not None:
            status, headers, body = hit
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
            return
        started: dict[str, Any] = {}
        chunks: list[bytes] = []
        send_with_headers = self._with_headers(send)

        async def capture(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.update(status=message["status"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send_with_headers(message)
            if message["type"] == "http.response.start":
                started.update(headers=message["headers"])

        try:
            await self.app(scope, receive, capture)
        except Exception:
            log.exception("error answering %s", scope["path"])
            if started:
                raise
            await self._server_error(send, self.headers)
            return
        if started.get("status") == 200 and scope["path"] != "/healthz" and scope["method"] == "GET":
            self.cache.put(key, (200, started["headers"], b"".join(chunks)))

    @staticmethod
    async def _server_error(send: Send, headers: list[tuple[bytes, bytes]]) -> None:
        """A 500 page that says nothing of the error (it is logged) and carries ``headers``."""
        body = (b"<!doctype html><html lang=en><meta charset=utf-8><title>Server error</title>"
                b"<h1>Something went wrong</h1><p>The error was logged. <a href=/>Back to the dashboard</a></p>")
        await send({"type": "http.response.start", "status": 500,
                    "headers": [*headers, (b"content-type", b"text/html; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def _with_headers(self, send: Send, headers: list[tuple[bytes, bytes]] | None = None) -> Send:
        """``send`` adding the security headers (or ``headers``) a response does not set itself."""
        added = self.headers if headers is None else headers

        async def wrapped(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in added if h[0] not in names)]
            await send(message)

        return wrapped
