"""Client for the INDIGO JSON API, with retries, a timeout, size limits and an on-disk cache.

``GET <base>/app/api1/<model>`` lists ``{"<model>s": [{"id": ..., "public": bool}, ...]}`` and
``GET <base>/app/api1/<model>/<id>`` returns ``{"<model>": {"id": ..., "data": {...}}}``
(see INDIGO's README). Non-public records are skipped. Requests go through the guarded client
(:mod:`sibkit.net`): public addresses only unless ``allow_private``, an overall deadline per
request, a redirect and a size limit.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from sibkit.errors import DataSourceError
from sibkit.net import GuardedClient

#: GO Lab's public INDIGO data store
DEFAULT_API = "https://golab-indigo-data-store.herokuapp.com"
MODELS = ("project", "organisation", "fund")
MAX_RESPONSE_BYTES = 20 * 1024 * 1024
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]+")


class ApiClient:
    """Fetches INDIGO records; every successful response is cached on disk by URL."""

    def __init__(self, base_url: str, cache_dir: Path | None, *, timeout: float = 30.0, connect_timeout: float = 5.0,
                 retries: int = 4, backoff: float = 0.5, refresh: bool = False, progress: bool = True,
                 allow_private: bool = False) -> None:
        self.base_url = base_url.rstrip("/")
        self.cache_dir = cache_dir
        self.retries = retries
        self.backoff = backoff
        self.refresh = refresh
        self.progress = progress
        self.requests_made = 0
        self.connect_timeout = connect_timeout
        self._connected = False
        self._client = GuardedClient(timeout=timeout, connect_timeout=connect_timeout, max_bytes=MAX_RESPONSE_BYTES,
                                     allow_private=allow_private)

    def close(self) -> None:
        self._client.close()

    def _cache_path(self, url: str) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(url.encode()).hexdigest()
        return self.cache_dir / "api" / digest[:2] / f"{digest}.json"

    def get_json(self, path: str) -> Any:
        """GET ``base + path`` as JSON, from the cache when present."""
        url = f"{self.base_url}{path}"
        cache = self._cache_path(url)
        if cache is not None and cache.exists() and not self.refresh:
            return json.loads(cache.read_text(encoding="utf-8"))
        body = self._fetch(url)
        try:
            payload = json.loads(body)
        except ValueError:
            raise DataSourceError(f"{url}: response is not JSON") from None
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp")
            tmp.write_bytes(body)
            tmp.replace(cache)
        return payload

    def _fetch(self, url: str) -> bytes:
        last_error = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            self.requests_made += 1
            download = self._client.get(url)
            self._connected = self._connected or download.connected
            if download.ok:
                return download.body
            if download.status in ("network_error", "timeout") and not self._connected:
                # the server was never reached: retrying only makes the user wait
                raise DataSourceError(f"{url}: cannot connect within {self.connect_timeout:g} s "
                                      f"({download.message}); check the address and your connection")
            last_error = f"{download.status}: {download.message}" if download.message else download.status
            if not download.retryable:
                raise DataSourceError(download.line())
        raise DataSourceError(f"{url}: failed after {self.retries + 1} tries ({last_error}); "
                              "check the address and your connection")

    def list_ids(self, model: str) -> list[str]:
        payload = self.get_json(f"/app/api1/{model}")
        items = payload.get(f"{model}s") if isinstance(payload, dict) else None
        if not isinstance(items, list):
            raise DataSourceError(f"{self.base_url}/app/api1/{model}: no '{model}s' list in the response")
        ids = []
        for item in items:
            if not isinstance(item, dict) or not item.get("public", False):
                continue
            record_id = str(item.get("id", ""))
            if _SAFE_ID.fullmatch(record_id):
                ids.append(record_id)
        return ids

    def fetch_all(self) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        """Every public project, organisation and fund as ``(id, data)`` pairs."""
        ids = {model: self.list_ids(model) for model in MODELS}
        records: dict[str, list[tuple[str, dict[str, Any]]]] = {model: [] for model in MODELS}
        with _progress(self.progress) as progress:
            task = progress.add_task("INDIGO records", total=sum(len(v) for v in ids.values()))
            for model in MODELS:
                for record_id in ids[model]:
                    payload = self.get_json(f"/app/api1/{model}/{record_id}")
                    record = payload.get(model) if isinstance(payload, dict) else None
                    data = record.get("data") if isinstance(record, dict) else None
                    records[model].append((record_id, data if isinstance(data, dict) else {}))
                    progress.advance(task)
        return records


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress]:
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), transient=True, disable=not enabled)
    with progress:
        yield progress
