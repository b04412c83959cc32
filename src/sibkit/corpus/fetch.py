"""Downloading a study's candidate reading list through the guarded client (:mod:`sibkit.net`:
http(s) only, public addresses only unless allowed, size, redirect and overall time limits), with
retries and back-off, a polite per-host delay, a cache keyed by URL, and a record of every attempt."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sibkit.corpus.extraction import MAX_FILE_BYTES
from sibkit.corpus.importer import ImportOutcome, add_bytes, guarded, printable
from sibkit.net import BadUrl, Download, GuardedClient, parse_url
from sibkit.store import FetchAttempt, Store


@dataclass
class FetchSettings:
    #: overall seconds per download (connecting, redirects and the whole body)
    timeout: float = 30.0
    max_bytes: int = MAX_FILE_BYTES
    retries: int = 2
    backoff: float = 1.0
    per_host_delay: float = 1.0
    max_redirects: int = 5
    #: also fetch from loopback, private and link-local addresses (the user's own network)
    allow_private: bool = False
    #: or only from these networks (CIDR), e.g. a test server on 127.0.0.1/32
    allow_networks: tuple[str, ...] = ()


class FetchError(Exception):
    pass


class Fetcher:
    """GETs URLs politely through :class:`sibkit.net.GuardedClient`, caching bodies on disk by URL."""

    def __init__(self, cache_dir: Path, settings: FetchSettings | None = None, *,
                 client: GuardedClient | None = None) -> None:
        self.cache_dir = cache_dir
        self.settings = settings or FetchSettings()
        self._last_request: dict[str, float] = {}
        self._host_delay: dict[str, float] = {}
        self._client = client or GuardedClient(
            timeout=self.settings.timeout, max_bytes=self.settings.max_bytes,
            max_redirects=self.settings.max_redirects, allow_private=self.settings.allow_private,
            allow_networks=self.settings.allow_networks, user_agent="sibkit (impact bond research; polite fetcher)")

    def close(self) -> None:
        self._client.close()

    def _cache_path(self, url: str) -> Path:
        digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
        return self.cache_dir / digest[:2] / digest

    def get(self, url: str) -> tuple[bytes, str]:
        """(body, content type); raises FetchError with a one-line reason."""
        download = self.download(url)
        if not download.ok:
            raise FetchError(download.message or download.status)
        return download.body, download.content_type

    def download(self, url: str) -> Download:
        """The URL's :class:`~sibkit.net.Download` (from the cache when fetched before), after the polite
        delay; never raises. The timeout is the download's deadline, tries included: a quick failure
        (network error, 429, 5xx) is tried again with back-off while time is left, a time-out is not (it
        has spent the deadline)."""
        try:
            host = parse_url(url).host
        except BadUrl as exc:
            return Download(url=url, status="bad_url", message=str(exc))
        cached = self._cache_path(url)
        if cached.exists():
            meta = cached.with_suffix(".url")
            return Download(url=url, status="ok", body=cached.read_bytes(), http_status=200,
                            content_type=(cached.with_suffix(".type").read_text()
                                          if cached.with_suffix(".type").exists() else ""),
                            final_url=meta.read_text() if meta.exists() else url)
        download = Download(url=url, status="error")
        deadline: float | None = None
        tries = 0
        for attempt in range(self.settings.retries + 1):
            if attempt:
                pause = self.settings.backoff * 2 ** (attempt - 1)
                if deadline is not None and time.monotonic() + pause >= deadline:
                    break
                time.sleep(pause)
            self._wait_for(host)
            if deadline is None:  # the polite delay before the first try is not the download's time
                deadline = time.monotonic() + self.settings.timeout
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            tries += 1
            download = self._client.get(url, timeout=remaining)
            if download.ok:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.with_suffix(".tmp").write_bytes(download.body)
                cached.with_suffix(".tmp").replace(cached)
                cached.with_suffix(".type").write_text(download.content_type)
                cached.with_suffix(".url").write_text(download.final_url or url)
                return download
            if download.status == "timeout":
                download.message = f"no complete answer within {self.settings.timeout:g} s (the download's deadline)"
                return download
            if not download.retryable:
                return download
        if tries > 1:
            download.message = f"failed after {tries} tries ({download.message or download.status})"
        return download

    def delay_host(self, host: str, seconds: float) -> None:
        """Wait at least ``seconds`` between requests to ``host`` (e.g. robots.txt's Crawl-delay)."""
        self._host_delay[host] = max(seconds, self._host_delay.get(host, 0.0))

    def _wait_for(self, host: str) -> None:
        last = self._last_request.get(host)
        if last is not None:
            delay = max(self.settings.per_host_delay, self._host_delay.get(host, 0.0))
            wait = delay - (time.monotonic() - last)
            if wait > 0:
                time.sleep(wait)
        self._last_request[host] = time.monotonic()


def _name_for(url: str, content_type: str) -> str:
    try:
        path = parse_url(url).path
    except BadUrl:
        path = ""
    name = path.rsplit("/", 1)[-1] or "index"
    if "." not in name:
        if "pdf" in content_type:
            name += ".pdf"
        elif "html" in content_type:
            name += ".html"
        elif "wordprocessingml" in content_type:
            name += ".docx"
    return name


def fetch_reading_list(store: Store, items: list[dict[str, object]], cache_dir: Path,
                       settings: FetchSettings | None = None,
                       progress: Callable[[int, int], None] | None = None, *,
                       client: GuardedClient | None = None) -> list[ImportOutcome]:
    """Download and import each ``{"url", "title", "case_ids"}`` item; every attempt is recorded.

    ``client`` replaces the guarded client built from ``settings`` (tests give one with a fake
    resolver)."""
    fetcher = Fetcher(cache_dir, settings, client=client)
    outcomes: list[ImportOutcome] = []
    try:
        for done, item in enumerate(items, 1):
            url = printable(str(item.get("url") or ""))
            cases = list(item.get("case_ids") or [])  # type: ignore[call-overload]
            try:
                body, content_type = fetcher.get(url)
            except FetchError as exc:
                outcome = ImportOutcome(url, "failed", str(exc))
            except Exception as exc:  # one item's surprise must not end the batch
                outcome = ImportOutcome(url, "failed", f"{type(exc).__name__}: {exc}")
            else:
                outcome = guarded(url, partial(
                    add_bytes, store, body, origin=url, name=_name_for(url, content_type), case_ids=cases,
                    title=str(item.get("title") or ""), doc_type=str(item.get("type") or "other"),
                    max_bytes=fetcher.settings.max_bytes))
            try:
                with store.session() as session:
                    session.add(FetchAttempt(url=url[:4000], case_id=cases[0] if cases else None,
                                             status=outcome.status, message=outcome.message,
                                             document_id=outcome.document_id))
            except Exception as exc:
                outcome = ImportOutcome(url, "failed", f"cannot record the attempt ({type(exc).__name__}: {exc})")
            outcomes.append(outcome)
            if progress:
                progress(done, len(items))
    finally:
        fetcher.close()
    return outcomes
