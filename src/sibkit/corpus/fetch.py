"""Downloading a study's candidate reading list: http(s) only, size and time limits, retries with
back-off, a polite per-host delay, a cache keyed by URL, and a record of every attempt."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from sibkit.corpus.extraction import MAX_FILE_BYTES
from sibkit.corpus.importer import ImportOutcome, add_bytes
from sibkit.store import FetchAttempt, Store

RETRY_STATUSES = {429, 500, 502, 503, 504}


@dataclass
class FetchSettings:
    timeout: float = 30.0
    max_bytes: int = MAX_FILE_BYTES
    retries: int = 2
    backoff: float = 1.0
    per_host_delay: float = 1.0


class FetchError(Exception):
    pass


class Fetcher:
    """GETs URLs politely, caching bodies on disk by URL."""

    def __init__(self, cache_dir: Path, settings: FetchSettings | None = None) -> None:
        self.cache_dir = cache_dir
        self.settings = settings or FetchSettings()
        self._last_request: dict[str, float] = {}
        self._client = httpx.Client(timeout=self.settings.timeout, follow_redirects=True, max_redirects=5,
                                    headers={"User-Agent": "sibkit (impact bond research; polite fetcher)"})

    def close(self) -> None:
        self._client.close()

    def _cache_path(self, url: str) -> Path:
        digest = hashlib.sha256(url.encode()).hexdigest()
        return self.cache_dir / digest[:2] / digest

    def get(self, url: str) -> tuple[bytes, str]:
        """(body, content type); raises FetchError with a one-line reason."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("not an http(s) URL")
        cached = self._cache_path(url)
        if cached.exists():
            return cached.read_bytes(), (cached.with_suffix(".type").read_text()
                                         if cached.with_suffix(".type").exists() else "")
        last_error = ""
        for attempt in range(self.settings.retries + 1):
            if attempt:
                time.sleep(self.settings.backoff * 2 ** (attempt - 1))
            self._wait_for(parts.hostname)
            try:
                with self._client.stream("GET", url) as response:
                    if response.status_code in RETRY_STATUSES:
                        last_error = f"HTTP {response.status_code}"
                        continue
                    if response.status_code != 200:
                        raise FetchError(f"HTTP {response.status_code}")
                    declared = int(response.headers.get("Content-Length") or 0)
                    if declared > self.settings.max_bytes:
                        raise FetchError(f"{declared:,} bytes, over the {self.settings.max_bytes:,} byte limit")
                    chunks, size = [], 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > self.settings.max_bytes:
                            raise FetchError(f"over the {self.settings.max_bytes:,} byte limit")
                        chunks.append(chunk)
                    body = b"".join(chunks)
                    content_type = response.headers.get("Content-Type", "")
            except httpx.TimeoutException:
                last_error = f"timed out after {self.settings.timeout:g} s"
                continue
            except httpx.TransportError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                continue
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.with_suffix(".tmp").write_bytes(body)
            cached.with_suffix(".tmp").replace(cached)
            cached.with_suffix(".type").write_text(content_type)
            return body, content_type
        raise FetchError(f"failed after {self.settings.retries + 1} tries ({last_error})")

    def _wait_for(self, host: str) -> None:
        last = self._last_request.get(host)
        if last is not None:
            wait = self.settings.per_host_delay - (time.monotonic() - last)
            if wait > 0:
                time.sleep(wait)
        self._last_request[host] = time.monotonic()


def _name_for(url: str, content_type: str) -> str:
    path = urlsplit(url).path
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
                       progress: Callable[[int, int], None] | None = None) -> list[ImportOutcome]:
    """Download and import each ``{"url", "title", "case_ids"}`` item; every attempt is recorded."""
    fetcher = Fetcher(cache_dir, settings)
    outcomes: list[ImportOutcome] = []
    try:
        for done, item in enumerate(items, 1):
            url = str(item["url"])
            cases = list(item.get("case_ids") or [])  # type: ignore[call-overload]
            try:
                body, content_type = fetcher.get(url)
            except FetchError as exc:
                outcome = ImportOutcome(url, "failed", str(exc))
            else:
                outcome = add_bytes(store, body, origin=url, name=_name_for(url, content_type), case_ids=cases,
                                    title=str(item.get("title") or ""), doc_type=str(item.get("type") or "other"),
                                    max_bytes=fetcher.settings.max_bytes)
            with store.session() as session:
                session.add(FetchAttempt(url=url, case_id=cases[0] if cases else None, status=outcome.status,
                                         message=outcome.message, document_id=outcome.document_id))
            outcomes.append(outcome)
            if progress:
                progress(done, len(items))
    finally:
        fetcher.close()
    return outcomes
