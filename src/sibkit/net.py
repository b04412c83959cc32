"""The one guarded HTTP client every download in sibkit goes through.

Reading-list URLs come from a third-party dataset, so a URL is hostile until proven otherwise:

- only ``http`` and ``https``; a URL that does not parse (bad port, bad IDNA label, control
  characters, over :data:`MAX_URL_LENGTH` characters) becomes the status ``bad_url``;
- the host is resolved once, *every* address it resolves to must be public (not loopback,
  private, link-local, site-local, shared, multicast, reserved, documentation or unspecified, IPv4 and
  IPv6, including IPv4 addresses embedded in IPv6 ones), and the connection goes to the address that was checked,
  so a DNS answer that changes between the check and the connection (rebinding) cannot slip in;
- redirects are followed by hand, at most ``max_redirects``, each hop checked the same way;
- one overall deadline per download covers resolving, connecting, TLS, headers and a body that
  trickles in one byte at a time; bodies over ``max_bytes`` are cut off (also after decoding
  gzip);
- nothing raises for a problem with the URL, the network or the server: :meth:`GuardedClient.get`
  returns a :class:`Download` whose ``status`` says what happened.

``allow_private=True`` (the CLI's ``--allow-private``) lifts the address check for a user who
really means to fetch from their own network; tests that serve from 127.0.0.1 pass it too.
``allow_networks=["127.0.0.1/32"]`` trusts just those networks (a test server, one intranet host).
``resolver`` replaces DNS (tests map names to private addresses to see them refused before any
packet is sent).

Example::

    with GuardedClient(timeout=30, max_bytes=10_000_000) as client:
        download = client.get("https://example.org/report.pdf")
        if download.ok:
            save(download.body)
        else:
            print(download.line())
"""

from __future__ import annotations

import contextvars
import ipaddress
import socket
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

#: longest URL accepted (browsers and servers rarely take more)
MAX_URL_LENGTH = 8192
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
RETRYABLE_HTTP = {429, 500, 502, 503, 504}
DEFAULT_USER_AGENT = "sibkit (impact bond research toolkit)"

#: ``resolver(host, port)`` -> the IP addresses (as strings) the host resolves to
Resolver = Callable[[str, int], Sequence[str]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: not public, though Python 3.11's ``ipaddress`` calls them global: IPv6 site-local addresses (fec0::/10,
#: deprecated by RFC 3879 but still routed inside some networks) and the IPv6 documentation prefix (3fff::/20,
#: RFC 9637)
_NOT_GLOBAL = (ipaddress.ip_network("fec0::/10"), ipaddress.ip_network("3fff::/20"))
_deadline: contextvars.ContextVar[float] = contextvars.ContextVar("sibkit_net_deadline", default=float("inf"))


class BadUrl(ValueError):
    """A URL that cannot be fetched (does not parse, not http(s), too long)."""


class RefusedAddress(Exception):
    """The host resolves to an address the guard does not connect to."""


def parse_url(url: str) -> httpx.URL:
    """The URL parsed and checked (http or https, a host, no control characters); raises :class:`BadUrl`."""
    if not isinstance(url, str):
        raise BadUrl("not a URL")
    if len(url) > MAX_URL_LENGTH:
        raise BadUrl(f"URL of {len(url):,} characters, over the {MAX_URL_LENGTH:,} character limit")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise BadUrl("control character in the URL")
    try:
        parsed = httpx.URL(url.strip())
        host = parsed.host  # decodes IDNA; may raise
        port = parsed.port
    except Exception as exc:  # httpx.InvalidURL, UnicodeError, ValueError from idna
        raise BadUrl(f"URL does not parse ({_short(exc)})") from None
    if parsed.scheme not in ("http", "https"):
        raise BadUrl(f"not an http(s) URL (scheme {parsed.scheme or 'missing'!r})")
    if not host:
        raise BadUrl("URL has no host")
    if port is not None and not 0 < port < 65536:
        raise BadUrl(f"port {port} out of range")
    return parsed


def is_public_address(address: str | Address) -> bool:
    """True for a globally routable unicast address (IPv4-in-IPv6 forms judged by the IPv4 inside)."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded)
        if any(ip in network for network in _NOT_GLOBAL):
            return False
    return bool(ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_private or ip.is_loopback
                                      or ip.is_link_local or ip.is_unspecified))


def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the operating system's resolver (an IP literal resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        if address not in seen:
            seen.append(address)
    return seen


@dataclass
class Download:
    """What one download gave. ``status`` is one of ``ok``, ``bad_url``, ``refused``, ``timeout``,
    ``too_large``, ``too_many_redirects``, ``http_error``, ``network_error``, ``error``."""

    url: str
    status: str
    message: str = ""
    body: bytes = b""
    content_type: str = ""
    http_status: int | None = None
    final_url: str = ""
    redirects: list[str] = field(default_factory=list)
    #: a server answered (at least a status line); False when resolving or connecting failed
    connected: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def retryable(self) -> bool:
        """A problem that may go away on a later try (time-out, network, HTTP 429 / 5xx)."""
        return self.status in ("timeout", "network_error") or (
            self.status == "http_error" and self.http_status in RETRYABLE_HTTP)

    def line(self) -> str:
        """One line naming the URL and what happened."""
        text = f"{_shorten(self.url)}: {self.status}"
        return f"{text} ({self.message})" if self.message else text


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write stops at the download's overall deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    @staticmethod
    def _budget(timeout: float | None, error: type[Exception]) -> float:
        remaining = _deadline.get() - time.monotonic()
        if remaining <= 0:
            raise error("download deadline passed")
        return remaining if timeout is None else min(timeout, remaining)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._budget(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._budget(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        budget = self._budget(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, budget))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves each host once, checks every address, and connects to a checked address."""

    def __init__(self, resolver: Resolver, allow_private: bool, allow_networks: Sequence[str]) -> None:
        self.resolver = resolver
        self.allow_private = allow_private
        self.allow_networks = [ipaddress.ip_network(n, strict=False) for n in allow_networks]

    def checked_addresses(self, host: str, port: int) -> list[str]:
        try:
            addresses = [str(a) for a in self.resolver(host, port)]
        except (OSError, UnicodeError, ValueError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host} ({_short(exc)})") from None
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host} (no addresses)")
        for address in addresses:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                raise RefusedAddress(f"{host} resolved to {address!r}, not an IP address") from None
            trusted = any(ip.version == n.version and ip in n for n in self.allow_networks)
            if not (self.allow_private or trusted or is_public_address(ip)):
                raise RefusedAddress(f"{host} resolves to {ip}, a non-public address "
                                     "(use --allow-private to fetch from your own network)")
        return addresses

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        addresses = self.checked_addresses(host, port)
        last: Exception | None = None
        for address in addresses:
            budget = _DeadlineStream._budget(timeout, httpcore.ConnectTimeout)
            try:
                stream = super().connect_tcp(address, port, timeout=budget, local_address=local_address,
                                             socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
                continue
            return _DeadlineStream(stream)
        assert last is not None
        raise last

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise RefusedAddress("unix sockets are not fetched")


class GuardedClient:
    """GETs http(s) URLs within an overall deadline, a size limit and a redirect limit, refusing
    non-public addresses unless ``allow_private``. Use as a context manager or call :meth:`close`."""

    def __init__(self, *, timeout: float = 30.0, max_bytes: int = 100 * 1024 * 1024, max_redirects: int = 5,
                 allow_private: bool = False, allow_networks: Sequence[str] = (), resolver: Resolver | None = None,
                 user_agent: str = DEFAULT_USER_AGENT, connect_timeout: float | None = None) -> None:
        self.timeout = timeout
        self.connect_timeout = min(connect_timeout or timeout, timeout)
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.allow_private = allow_private
        self.user_agent = user_agent
        self._backend = _GuardedBackend(resolver or system_resolver, allow_private, allow_networks)
        self._pool = httpcore.ConnectionPool(network_backend=self._backend, max_connections=10,
                                             keepalive_expiry=5.0, retries=0)

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> GuardedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, *, headers: dict[str, str] | None = None, timeout: float | None = None) -> Download:
        """Download ``url`` within ``timeout`` seconds (default: the client's); every problem is a status on
        the result, never an exception."""
        token = _deadline.set(time.monotonic() + (self.timeout if timeout is None else max(0.0, timeout)))
        result = Download(url=url, status="error")
        try:
            self._get(url, headers or {}, result)
        except BadUrl as exc:
            result.status, result.message = "bad_url", str(exc)
        except RefusedAddress as exc:
            result.status, result.message = "refused", str(exc)
        except httpcore.ConnectTimeout:
            result.status = "timeout"
            result.message = f"ConnectTimeout: no connection within {self.connect_timeout:g} s"
        except httpcore.TimeoutException:
            result.status, result.message = "timeout", f"no complete answer within {self.timeout:g} s"
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.ProxyError,
                httpcore.UnsupportedProtocol, OSError) as exc:
            result.status, result.message = "network_error", f"{type(exc).__name__}: {_short(exc)}"
        except Exception as exc:  # a bug or an unforeseen library error must still not end a batch
            result.status, result.message = "error", f"{type(exc).__name__}: {_short(exc)}"
        finally:
            _deadline.reset(token)
        if result.status != "ok":
            result.body = b""
        return result

    def _get(self, url: str, extra_headers: dict[str, str], result: Download) -> None:
        current = parse_url(url)
        while True:
            result.final_url = str(current)
            with self._pool.stream("GET", _core_url(current), headers=self._headers(current, extra_headers),
                                   extensions={"timeout": {"connect": self.connect_timeout, "read": self.timeout,
                                                           "write": self.timeout, "pool": self.timeout}}
                                   ) as response:
                result.connected = True
                status = response.status
                response_headers = httpx.Headers(response.headers)
                if status in REDIRECT_STATUSES and "location" in response_headers:
                    if len(result.redirects) >= self.max_redirects:
                        result.status = "too_many_redirects"
                        result.message = f"more than {self.max_redirects} redirects"
                        result.http_status = status
                        return
                    try:
                        target = current.join(response_headers["location"])
                    except Exception as exc:
                        raise BadUrl(f"redirect to a URL that does not parse ({_short(exc)})") from None
                    current = parse_url(str(target))
                    result.redirects.append(str(current))
                    continue
                result.http_status = status
                result.content_type = response_headers.get("content-type", "")
                if not 200 <= status < 300:
                    result.status, result.message = "http_error", f"HTTP {status}"
                    return
                declared = response_headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    result.status = "too_large"
                    result.message = f"{int(declared):,} bytes, over the {self.max_bytes:,} byte limit"
                    return
                body = self._read_body(response, response_headers.get("content-encoding", "").strip().lower())
                if body is None:
                    result.status, result.message = "too_large", f"over the {self.max_bytes:,} byte limit"
                    return
                result.status, result.body = "ok", body
                return

    def _headers(self, url: httpx.URL, extra: dict[str, str]) -> list[tuple[bytes, bytes]]:
        host = url.netloc.decode("ascii")
        headers = {"Host": host, "User-Agent": self.user_agent, "Accept": "*/*",
                   "Accept-Encoding": "gzip, deflate, identity", **extra}
        return [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in headers.items()]

    def _read_body(self, response: httpcore.Response, encoding: str) -> bytes | None:
        """The body, decoded from gzip / deflate within the size limit; None when over it."""
        decoder = zlib.decompressobj(47) if encoding in ("gzip", "x-gzip", "deflate") else None
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_stream():
            if _deadline.get() < time.monotonic():
                raise httpcore.ReadTimeout("download deadline passed")
            if decoder is not None:
                chunk = decoder.decompress(chunk, self.max_bytes - size + 1)
                if decoder.unconsumed_tail:
                    return None
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
        if decoder is not None:
            chunks.append(decoder.flush())
            if size + len(chunks[-1]) > self.max_bytes:
                return None
        return b"".join(chunks)


def _core_url(url: httpx.URL) -> httpcore.URL:
    return httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return _shorten(text.splitlines()[0] if text.strip() else type(exc).__name__)


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
