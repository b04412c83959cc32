"""Gathering a study's reading list from the web: each listed URL is downloaded through the guarded
client (:mod:`sibkit.net`), and what comes back decides what happens next.

- A document (PDF, DOCX, ...) is stored once by content hash; the same bytes under a second URL are
  linked to the existing document (``linked``), not stored twice.
- A landing page (an HTML page linking PDF/DOCX files on the same site or the publisher's asset
  host, e.g. GOV.UK's ``assets.publishing.service.gov.uk``) is followed to those attachments; each
  is recorded with ``relation = "attachment"`` and the page as ``source_url``. A page without
  attachments is stored as a document itself (a case study page, an article).
- A login wall (HTTP 401/403, a redirect to a login address, a page asking for a password, or a
  host the study lists under ``login_hosts``) is marked ``not_public``; the login page is not stored.
- When the live URL fails and INDIGO gives an archive copy, the copy is fetched instead
  (``relation = "archive"``, ``source_url`` = the live URL).
- robots.txt is respected per host (``disallowed``; its Crawl-delay slows that host down), with a
  polite delay between requests to one host, retries with back-off, size and time limits.
- Resumable: a listed URL whose outcome is already recorded is not fetched again; downloads are
  cached on disk by URL, so an interrupted page is re-read from the cache.

Every attempt is a ``FetchAttempt`` row (url, case, status, message, document, relation, source_url).
"""

from __future__ import annotations

import urllib.robotparser
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pandas as pd
from sqlalchemy import select

from sibkit.corpus.fetch import Fetcher, FetchSettings, _name_for
from sibkit.corpus.importer import ImportOutcome, add_bytes, guarded, printable
from sibkit.kinds import infer_kind
from sibkit.kinds import label as kind_label
from sibkit.net import Download
from sibkit.store import DOCUMENT_TYPES, FetchAttempt, Store
from sibkit.study.model import FetchPolicy

#: publisher sites whose files live on another host (matched against the landing host or a parent domain)
DEFAULT_ASSET_HOSTS = {"www.gov.uk": ["assets.publishing.service.gov.uk"]}
ATTACHMENT_SUFFIXES = (".pdf", ".docx", ".doc")
LOGIN_WORDS = ("login", "log-in", "signin", "sign-in", "sign_in", "logon", "sso", "auth")
#: outcomes after which a listed URL is not fetched again
SETTLED = ("added", "linked", "unchanged", "not_public", "disallowed", "landing", "empty", "unsupported",
           "too_large")
USER_AGENT = "sibkit"


@dataclass
class Item:
    """One listed URL of the reading list, with every case it serves."""

    url: str
    title: str = ""
    case_ids: list[str] = field(default_factory=list)
    archive_url: str | None = None
    kind: str = "other"  # a sibkit.kinds id


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _parents(host: str) -> list[str]:
    """``www.example.org`` -> [www.example.org, example.org] (never a bare top-level label)."""
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)] or [host]


def _site(host: str) -> str:
    return host.removeprefix("www.")


def attachment_hosts(landing_url: str, asset_hosts: dict[str, list[str]]) -> set[str]:
    """Hosts whose files count as attachments of a page on ``landing_url``'s host."""
    host = _host(landing_url)
    hosts = {host, _site(host), "www." + _site(host)}
    mapping = {**DEFAULT_ASSET_HOSTS, **{k.lower(): [h.lower() for h in v] for k, v in asset_hosts.items()}}
    for parent in _parents(host):
        hosts.update(mapping.get(parent, []))
    return hosts


def _on_site(url: str, hosts: set[str], landing_host: str) -> bool:
    host = _host(url)
    return host in hosts or host.endswith("." + _site(landing_host))


class _Links(HTMLParser):
    """``<a href>`` targets with their link text, and whether the page asks for a password."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.password = False
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "a" and values.get("href"):
            self._href, self._text = values["href"], []
        elif tag == "input" and values.get("type", "").lower() == "password":
            self.password = True

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._text).split())))
            self._href = None


def read_page(body: bytes, base_url: str) -> _Links:
    parser = _Links()
    try:
        parser.feed(body[:5_000_000].decode("utf-8", "replace"))
        parser.close()
    except Exception:  # a malformed page yields the links read so far
        pass
    parser.links = [(urljoin(base_url, href), text) for href, text in parser.links]
    return parser


def attachments(page: _Links, landing_url: str, policy: FetchPolicy) -> list[tuple[str, str]]:
    """(URL, link text) of the PDF/DOCX files the page links on its own site or asset host, in page order."""
    hosts = attachment_hosts(landing_url, policy.asset_hosts)
    found: dict[str, str] = {}
    for url, text in page.links:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.path.lower().endswith(ATTACHMENT_SUFFIXES):
            continue
        if _on_site(url, hosts, _host(landing_url)):
            found.setdefault(url.split("#", 1)[0], text)
    return list(found.items())[: policy.max_attachments]


def _is_html(download: Download) -> bool:
    return "html" in download.content_type.lower() or download.body[:512].lstrip().lower().startswith(
        (b"<!doctype html", b"<html"))


def login_wall(download: Download, page: _Links | None, login_hosts: Sequence[str]) -> str | None:
    """Why the download is a login wall, or None."""
    final = download.final_url or download.url
    if _host(download.url) in login_hosts or _host(final) in login_hosts:
        return "a login-only site (corpus.fetch.login_hosts)"
    if download.http_status in (401, 403):
        return f"HTTP {download.http_status}: the site asks for a login"
    path = urlsplit(final).path.lower() + "?" + urlsplit(final).query.lower()
    if download.redirects and any(word in path for word in LOGIN_WORDS):
        return f"redirected to a login page ({printable(final)[:200]})"
    if page is not None and page.password:
        return "the page asks for a password"
    return None


def _doc_type(title: str, url: str, listed: str = "other") -> str:
    """The kind id a fetched document is stored with: the reading list's kind, else read from its title
    and address (``sibkit.kinds.infer_kind``)."""
    if listed in DOCUMENT_TYPES and listed != "other":
        return listed
    kind = infer_kind(title, url)
    return kind if kind in DOCUMENT_TYPES else "other"


class Gatherer:
    """Fetches reading-list items into a store (see the module docstring)."""

    def __init__(self, store: Store, cache_dir: Path, policy: FetchPolicy | None = None,
                 settings: FetchSettings | None = None) -> None:
        self.store = store
        self.policy = policy or FetchPolicy()
        self.fetcher = Fetcher(cache_dir, settings or settings_from(self.policy))
        self._robots: dict[str, urllib.robotparser.RobotFileParser | str] = {}

    def close(self) -> None:
        self.fetcher.close()

    # robots.txt -------------------------------------------------------------------------------
    def allowed(self, url: str) -> tuple[bool, str]:
        if not self.policy.robots:
            return True, ""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        rules = self._robots.get(origin)
        if rules is None:
            rules = self._load_robots(origin)
            self._robots[origin] = rules
        if isinstance(rules, str):
            return False, rules
        if rules.can_fetch(USER_AGENT, url):
            return True, ""
        return False, f"robots.txt of {parts.netloc} disallows it"

    def _load_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | str:
        download = self.fetcher.download(origin + "/robots.txt")
        rules = urllib.robotparser.RobotFileParser()
        if download.ok:
            rules.parse(download.body.decode("utf-8", "replace").splitlines())
            delay = rules.crawl_delay(USER_AGENT)
            if delay:
                self.fetcher.delay_host(urlsplit(origin).hostname or "", min(float(delay), 60.0))
        elif download.status == "http_error" and download.http_status is not None and download.http_status < 500:
            rules.allow_all = True  # RFC 9309: robots.txt unavailable (4xx) -> no rules
        elif download.status in ("refused", "bad_url"):
            rules.allow_all = True  # the page's own download reports the refusal
        else:
            return f"robots.txt of {urlsplit(origin).netloc} unreachable ({download.message or download.status})"
        return rules

    # one URL ----------------------------------------------------------------------------------
    def _record(self, outcome: ImportOutcome, item: Item, relation: str, source_url: str | None) -> ImportOutcome:
        try:
            with self.store.session() as session:
                session.add(FetchAttempt(url=outcome.origin[:4000], case_id=item.case_ids[0] if item.case_ids else None,
                                         status=outcome.status, message=outcome.message,
                                         document_id=outcome.document_id, relation=relation,
                                         source_url=source_url[:4000] if source_url else None))
        except Exception as exc:  # one item's trouble never ends the batch
            return ImportOutcome(outcome.origin, "failed", f"cannot record the attempt ({type(exc).__name__}: {exc})")
        return outcome

    def _store(self, download: Download, url: str, title: str, item: Item) -> ImportOutcome:
        outcome = guarded(url, lambda: add_bytes(
            self.store, download.body, origin=url, name=_name_for(download.final_url or url, download.content_type),
            case_ids=item.case_ids, title=title,
            doc_type=_doc_type(title, url, item.kind if url in (item.url, item.archive_url) else "other"),
            max_bytes=self.fetcher.settings.max_bytes))
        if outcome.status in ("linked", "unchanged") and outcome.document_id is not None:
            outcome.message = outcome.message or f"same content as document {outcome.document_id} (stored once)"
        if download.redirects:
            hops = f"{len(download.redirects)} redirect{'s' if len(download.redirects) != 1 else ''}"
            note = f"via {hops} to {printable(download.final_url)[:200]}"
            outcome.message = f"{outcome.message}; {note}" if outcome.message else note
        return outcome

    def _fetch(self, url: str, item: Item, relation: str, source_url: str | None) -> tuple[list[ImportOutcome], bool]:
        """Fetch one URL and follow it; (outcomes, whether the URL itself failed)."""
        ok, why = self.allowed(url)
        if not ok:
            return [self._record(ImportOutcome(url, "disallowed", why), item, relation, source_url)], False
        if _host(url) in [h.lower() for h in self.policy.login_hosts]:
            message = "a login-only site (corpus.fetch.login_hosts); not fetched"
            return [self._record(ImportOutcome(url, "not_public", message), item, relation, source_url)], False
        download = self.fetcher.download(url)
        page = read_page(download.body, download.final_url or url) if download.ok and _is_html(download) else None
        wall = login_wall(download, page, [h.lower() for h in self.policy.login_hosts])
        if wall:
            return [self._record(ImportOutcome(url, "not_public", wall), item, relation, source_url)], False
        if not download.ok:
            # a live URL with an archive copy to fall back on is "dead"; the copy's own outcome follows
            status = "refused" if download.status == "refused" else (
                "dead" if relation == "listed" and item.archive_url else "failed")
            return [self._record(ImportOutcome(url, status, download.message or download.status), item, relation,
                                 source_url)], True
        found = attachments(page, download.final_url or url, self.policy) \
            if page is not None and self.policy.follow_attachments and relation != "attachment" else []
        if not found:
            return [self._record(self._store(download, url, item.title, item), item, relation, source_url)], False
        outcomes = []
        for link, text in found:
            title = f"{item.title} — {text}" if item.title and text else (text or item.title)
            outcomes += self._fetch(link, Item(link, title, item.case_ids), "attachment", url)[0]
        fine = sum(o.status in ("added", "linked", "unchanged") for o in outcomes)
        landing = ImportOutcome(url, "landing", f"landing page: {fine} of {len(found)} attachments held")
        return [*outcomes, self._record(landing, item, relation, source_url)], False

    def gather(self, item: Item) -> list[ImportOutcome]:
        """Fetch one listed item (and its attachments, or its archive copy when the live URL fails)."""
        outcomes, failed = self._fetch(item.url, item, "listed", None)
        if failed and item.archive_url:
            archived, _ = self._fetch(item.archive_url, item, "archive", item.url)
            outcomes += archived
        return outcomes


def settings_from(policy: FetchPolicy) -> FetchSettings:
    return FetchSettings(timeout=policy.timeout, max_bytes=int(policy.max_mb * 1024 * 1024),
                         per_host_delay=policy.delay, allow_private=policy.allow_private,
                         allow_networks=tuple(policy.allow_networks))


def settled_urls(store: Store) -> set[str]:
    """Listed URLs whose outcome is recorded (directly, as a landing page, or through an archive copy)."""
    with store.session() as session:
        rows = session.execute(select(FetchAttempt.url, FetchAttempt.status, FetchAttempt.relation,
                                      FetchAttempt.source_url)).all()
    done = set()
    for url, status, relation, source_url in rows:
        if status not in SETTLED:
            continue
        if relation == "listed":
            done.add(url)
        elif relation == "archive" and source_url:
            done.add(source_url)
    return done


def gather_items(store: Store, items: Sequence[Item], cache_dir: Path, policy: FetchPolicy | None = None, *,
                 settings: FetchSettings | None = None, refresh: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> list[ImportOutcome]:
    """Gather every item not settled before (all of them with ``refresh``); ``progress(done, total)``
    after each item."""
    done = set() if refresh else settled_urls(store)
    gatherer = Gatherer(store, cache_dir, policy, settings)
    outcomes: list[ImportOutcome] = []
    try:
        for count, item in enumerate(items, 1):
            if item.url in done:
                outcomes.append(ImportOutcome(item.url, "skipped", "settled by an earlier fetch"))
            else:
                try:
                    outcomes += gatherer.gather(item)
                except Exception as exc:  # one item's surprise must not end the batch
                    outcomes.append(ImportOutcome(item.url, "failed", f"{type(exc).__name__}: {exc}"))
            if progress:
                progress(count, len(items))
    finally:
        gatherer.close()
    return outcomes


def plan(store: Store, items: Sequence[Item], policy: FetchPolicy | None = None) -> pd.DataFrame:
    """What ``fetch`` would do with each item and why, without touching the network."""
    policy = policy or FetchPolicy()
    done = settled_urls(store)
    login = [h.lower() for h in policy.login_hosts]
    rows = []
    for item in items:
        path = urlsplit(item.url).path.lower()
        if item.url in done:
            action, why = "skip", "settled by an earlier fetch (resume)"
        elif _host(item.url) in login:
            action, why = "mark not public", "a login-only site (corpus.fetch.login_hosts)"
        elif path.endswith(ATTACHMENT_SUFFIXES):
            action, why = "download", "a document file"
        elif policy.follow_attachments:
            site = _site(_host(item.url))
            hosts = sorted(attachment_hosts(item.url, policy.asset_hosts) - {site, "www." + site})
            action = "download and follow"
            why = ("a web page: if it links PDF/DOCX files on its site" + (f" or {', '.join(hosts)}" if hosts else "")
                   + ", fetch those; else keep the page")
        else:
            action, why = "download", "a web page, kept as it is"
        if action != "skip" and policy.robots:
            why += "; if robots.txt allows"
        rows.append({"url": item.url, "cases": " ".join(item.case_ids), "kind": kind_label(item.kind),
                     "title": item.title,
                     "action": action, "why": why,
                     "fallback": f"archive copy {item.archive_url}" if item.archive_url and action != "skip" else ""})
    return pd.DataFrame(rows, columns=["url", "cases", "kind", "title", "action", "why", "fallback"])
