"""The front door of sibkit's web apps (the dashboard and the review workbench): the ``Host`` check and HEAD.

DNS rebinding: a page on ``evil.example`` can make the visitor's browser resolve that name to 127.0.0.1
and then read and post to a server on this machine *as the same origin* (so neither CORS nor the CSRF
checks see another site). The one thing the browser cannot hide is the name it used: the ``Host``
header says ``evil.example``. So every request must name this server as it was started: a loopback
name or address (``localhost``, ``127.x.y.z``, ``[::1]``), the ``--host`` it listens on, or a name given
with ``--allow-host``. A server listening on every address (``--host 0.0.0.0``) is also reached by its
IP addresses and this machine's own names; a bare IP address is never a rebinding (the attacker's page
would have that address as its origin, not its own name). Anything else gets a plain 421 page
("Misdirected Request") with the security headers, and a request without a Host header a 400.

HEAD is answered as GET without the body (the same status and headers), for every page.

A request body is read here, whole, before the app sees it: one declared or streamed over ``MAX_BODY`` gets
a 413 (Starlette bounds each form field, not their sum, so a thousand fields of a megabyte each were once held
in memory before any check), one that has not arrived within ``BODY_SECONDS`` a 408, and one that would take the
bodies held at once over ``MAX_BUFFERED`` a 503.
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import socket
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
WILDCARDS = frozenset({"", "0.0.0.0", "::", "[::]"})
#: the largest request body read (the longest form, a span coded by hand, is well under 3 MiB form-encoded)
MAX_BODY = 4 * 2**20
#: seconds a request body may take to arrive, all of it (a body that trickles in is given up: 408)
BODY_SECONDS = 30.0
#: bytes of request bodies held at once, all requests together (beyond it a 503): each body is bounded, and
#: so are many connections each sending one just under the bound and then holding it
MAX_BUFFERED = 64 * 2**20


@dataclass(frozen=True)
class AllowedHosts:
    """The names (lower case, no port, no trailing dot) a server answers to, and whether any IP address of
    this machine is one of them (a server listening on every address)."""

    names: frozenset[str]
    any_address: bool = False

    def describe(self) -> str:
        shown = sorted(n for n in self.names if n not in LOOPBACK_NAMES - {"localhost"})
        return ", ".join(shown) + (" and this machine's addresses" if self.any_address else "")


def _normal(name: str) -> str:
    name = name.strip().lower().rstrip(".")
    return name[1:-1] if name.startswith("[") and name.endswith("]") else name


def allowed_hosts(bind: str = "127.0.0.1", extra: Iterable[str] = ()) -> AllowedHosts:
    """The names a server listening on ``bind`` answers to (loopback always), plus ``extra`` (``--allow-host``)."""
    names = set(LOOPBACK_NAMES) | {"127.0.0.1", "::1"} | {_normal(n) for n in extra if _normal(n)}
    wildcard = bind.strip() in WILDCARDS
    if not wildcard:
        names.add(_normal(bind))
    else:
        # every address: this machine's own name too, from gethostname() alone (getfqdn() may ask a name
        # server); a longer name the machine is reached by goes in with --allow-host
        name = socket.gethostname()
        if name:
            names.add(_normal(name))
    return AllowedHosts(frozenset(names), any_address=wildcard)


def host_name(header: str) -> str:
    """The name of a ``Host`` header without its port (``[::1]:8000`` -> ``::1``), lower case."""
    header = header.strip()
    if header.startswith("["):
        end = header.find("]")
        return _normal(header[: end + 1]) if end > 0 else _normal(header)
    if header.count(":") == 1:
        header = header.split(":", 1)[0]
    return _normal(header)


def host_allowed(header: str, allowed: AllowedHosts) -> bool:
    """Whether a request with this ``Host`` header is for this server."""
    name = host_name(header)
    if not name:
        return False
    if name in allowed.names:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or allowed.any_address


def _page(status: int, title: str, message: str) -> bytes:
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></html>").encode()


class Guard:
    """ASGI middleware in front of an app: refuses requests for other host names (421), answers HEAD as GET
    without the body. ``headers`` (name, value) are added to its own answers (the security headers)."""

    def __init__(self, app: ASGIApp, allowed: AllowedHosts | None = None,
                 headers: Sequence[tuple[str, str]] = (), max_body: int | None = None,
                 body_seconds: float | None = None) -> None:
        self.app = app
        self.allowed = allowed or allowed_hosts()
        self.max_body = MAX_BODY if max_body is None else max_body
        self.body_seconds = BODY_SECONDS if body_seconds is None else body_seconds
        self.max_buffered = MAX_BUFFERED
        self.buffered = 0  # bytes of request bodies held now (read, or waiting for the app to finish)
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "")
        if not host.strip():
            await self._refuse(send, 400, "No Host header", "The request did not say which server it is for.")
            return
        if not host_allowed(host, self.allowed):
            await self._refuse(send, 421, "Not this server",
                               f"This server answers to {self.allowed.describe()}; the address used, "
                               f"{host_name(host)[:200]}, is not one of them, so the request was refused (a page on "
                               "another site may have tried to reach this machine). If you reached sibkit by that "
                               "name on purpose, start it with --allow-host NAME.")
            return
        if scope["type"] == "http" and scope["method"] == "HEAD":
            await self.app({**scope, "method": "GET"}, receive, _without_body(send))
            return
        if scope["type"] == "http" and any(k in (b"content-length", b"transfer-encoding")
                                           for k, _ in scope.get("headers", [])):
            held = [0]  # bytes of this body counted in self.buffered, given back when the request ends
            try:
                body = await self._body(scope, receive, send, held)
                if body is not None:
                    await self.app(scope, _replay(body, receive), send)
            finally:
                self.buffered -= held[0]
            return
        await self.app(scope, receive, send)

    async def _body(self, scope: Scope, receive: Receive, send: Send, held: list[int]) -> bytes | None:
        """The whole request body within the size and time limits and the budget of bodies held at once (its
        bytes counted in ``held[0]``), else None (answered with 400, 408, 413 or 503, or the client has gone)."""
        declared = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        if declared is not None and not declared.strip().isdigit():
            await self._refuse(send, 400, "Bad request", "The request's Content-Length is not a number.")
            return None
        too_large = (413, "Request too large", f"This server reads request bodies of at most {self.max_body:,} "
                                               "bytes; the request was refused.")
        if declared is not None and int(declared) > self.max_body:
            await self._refuse(send, *too_large)
            return None
        chunks: list[bytes] = []
        size = 0
        deadline = asyncio.get_running_loop().time() + self.body_seconds
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                await self._refuse(send, 408, "Request timed out", f"The request's body did not arrive within "
                                                                   f"{self.body_seconds:g} seconds.")
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._refuse(send, *too_large)
                return None
            if self.buffered + len(chunk) > self.max_buffered:
                await self._refuse(send, 503, "Busy", "The server is reading too many requests at once; try again "
                                                      "in a moment.")
                return None
            self.buffered += len(chunk)
            held[0] += len(chunk)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(self, send: Send, status: int, title: str, message: str) -> None:
        body = _page(status, title, message)
        close = [(b"connection", b"close")] if status in (400, 408, 413, 503) else []  # a body may be left unread
        await send({"type": "http.response.start", "status": status,
                    "headers": [*self.headers, (b"content-type", b"text/html; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()), *close]})
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` giving the body already read as one message, then the client's own (a disconnect)."""
    given = False

    async def replayed() -> MutableMapping[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _without_body(send: Send) -> Send:
    """``send`` passing the status and headers of a GET answer but none of its body (HEAD)."""

    async def wrapped(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return wrapped
