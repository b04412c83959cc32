"""The review workbench's pages under ``/review``: an APIRouter mounted into ``sibkit serve``'s app.

Single-user mode (no accounts in the study's database): the person at this machine, on 127.0.0.1 only,
no login (a request a reverse proxy forwarded, which arrives from 127.0.0.1 too, is refused). Team mode
(accounts exist): every page needs a signed-in account; viewers read, coders and admins decide, admins
switch blind rounds and see agreement. Every POST carries a CSRF token and is
refused when the browser says it comes from another site; every request must name this server in its
``Host`` header (``sibkit.web.guard``: DNS rebinding). Ids and text from a request are checked before
they reach the database (a clear 400, never a 500): ids are whole numbers the database can hold, text has
no NUL and fits its column.
"""

from __future__ import annotations

import asyncio
import functools
import getpass
import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import anyio
import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from sibkit.coding.codebook import term_in_words
from sibkit.errors import Forbidden, NotFound, SibkitError
from sibkit.kinds import shown as kind_shown
from sibkit.shown import visible_controls
from sibkit.store import Store, is_locked_error, with_retry
from sibkit.workbench import auth, hits
from sibkit.workbench.hits import Filters
from sibkit.workbench.themes import Themes

T = TypeVar("T")
COOKIE = "sibkit_session"
DEVICE_COOKIE = "sibkit_device"  # a browser that has signed in as a name before (auth.LoginLimiter)
PREFIX = "/review"
MAX_ID = 2**31 - 1  # ids are INTEGER columns (PostgreSQL's int4)
DATABASE_THREADS = 4  # threads doing the workbench's database work (below the connection pool's 5)
#: bytes one form field may take: the longest span coded by hand (``hits.MAX_SELECTED`` characters, up to 12 bytes
#: each once form-encoded), over Starlette's 1 MB; the whole body stays within ``sibkit.web.guard.MAX_BODY``
MAX_FIELD_BYTES = 12 * hits.MAX_SELECTED + 4096
#: headers a reverse proxy adds: a request carrying one was not made on this machine, whatever its address says
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip", "via")
STATIC = {"workbench.js": "text/javascript; charset=utf-8", "workbench.css": "text/css; charset=utf-8"}


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Workbench:
    """The workbench over one study: its database, codebook themes, and who the single user is."""

    def __init__(self, store: Store | Callable[[], Store], themes: Sequence[Any], *, title: str = "",
                 single_user: str = "", case_names: Mapping[str, str] | None = None) -> None:
        """``themes``: the codebook's themes (``Theme`` objects, or ``(id, name)`` pairs); ``case_names``: the
        project name of each case id where the study knows it (shown beside the id)."""
        self._store = store if isinstance(store, Store) else None
        self._open_store = store if not isinstance(store, Store) else None
        self._opening = threading.Lock()
        self.themes = Themes.of(themes)
        self.theme_ids = self.themes.codable_ids  # what a hit may be recoded to or a span coded with
        self.title = title
        self.study: Any = None  # the study, when made by ``for_study`` (the recall audit draws samples from it)
        self.single_user = single_user or getpass.getuser() or "me"
        self.secret = secrets.token_bytes(32)
        self.limiter = auth.LoginLimiter()
        self.env = Environment(loader=PackageLoader("sibkit.workbench", "templates"),
                               autoescape=select_autoescape(["html"]), auto_reload=False,
                               finalize=visible_controls)  # bidi controls in text shown as escapes
        self.env.globals.update(prefix=PREFIX, themes=self.themes, title=title)
        self.case_names = dict(case_names or {})
        self.env.filters.update(theme_name=self.themes.name, kind=kind_shown,  # kinds as sibkit.kinds names them
                                term_words=term_in_words,  # a term's NEAR/PRE, {endings} and * in words
                                case_name=lambda case_id: self.case_names.get(case_id, ""))
        self.totals: dict[tuple[str, str, str], tuple[float, int]] = {}
        # per event loop (a server, a test): the database threads, and the turn of writers on SQLite
        self._loop: tuple[asyncio.AbstractEventLoop, anyio.CapacityLimiter, anyio.CapacityLimiter] | None = None
        self._pending: list[tuple[Callable[[Session], Any], asyncio.Future[Any]]] = []  # writes waiting (SQLite)
        self._writer: asyncio.Task[None] | None = None

    @property
    def store(self) -> Store:
        """The study's database, opened (and created) on the first request, not when the app is made."""
        if self._store is None:
            with self._opening:
                if self._store is None and self._open_store is not None:
                    self._store = self._open_store()
        assert self._store is not None
        return self._store

    def _threads(self, *, writer: bool = False) -> anyio.CapacityLimiter:
        loop = asyncio.get_running_loop()
        if self._loop is None or self._loop[0] is not loop:  # one per event loop (a server, a test)
            self._loop = (loop, anyio.CapacityLimiter(DATABASE_THREADS), anyio.CapacityLimiter(1))
        return self._loop[2] if writer else self._loop[1]

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """Run database work off the event loop on one of a few threads (``DATABASE_THREADS``): the work is
        mostly Python holding the GIL, so more threads would only take turns slower and open more connections."""
        return await anyio.to_thread.run_sync(work, *args, limiter=self._threads())

    async def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work(session)`` in a write transaction off the event loop; its result, or its exception.

        SQLite lets one writer in at a time and makes the others poll with growing sleeps, so on SQLite the
        writes of this process take turns on the event loop, and the ones that arrive while a transaction is
        being written go together in the next one (one that fails leaves the others: see ``_write_batch``);
        each is answered once its transaction is committed."""
        store = self._store if self._store is not None else await self.run(lambda: self.store)
        if store.engine.dialect.name != "sqlite":
            return await self.run(lambda: with_retry(lambda: _write_alone(store, work), what="decision"))
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((work, answer))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_pending(store))
        return await answer

    async def _write_pending(self, store: Store) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                outcomes = await anyio.to_thread.run_sync(
                    functools.partial(with_retry, functools.partial(_write_batch, store, batch), what="decision"),
                    limiter=self._threads(writer=True))
            except Exception as exc:  # the transaction failed as a whole (locked too long, disk full)
                outcomes = [(False, exc)] * len(batch)
            for (_, answer), (ok, value) in zip(batch, outcomes, strict=True):
                if not answer.done():
                    answer.set_result(value) if ok else answer.set_exception(value)

    def total(self, filters: Filters) -> int:
        """References a queue's filters select (kept a minute: only coding a span by hand adds one here, and
        it clears this; a new run of ``sibkit code`` shows within the minute)."""
        key = (filters.theme, filters.case, filters.origin)
        cached = self.totals.get(key)
        if cached is None or cached[0] < time.monotonic() - 60:
            cached = (time.monotonic(), hits.total_references(self.store, filters))
            self.totals[key] = cached
        return cached[1]

    @classmethod
    def for_study(cls, study: Any, single_user: str = "", case_names: Mapping[str, str] | None = None) -> Workbench:
        from sibkit.coding import study_codebook
        from sibkit.corpus import open_study_store

        codebook = study_codebook(study)
        bench = cls(lambda: open_study_store(study), list(codebook.themes), title=study.title,
                    single_user=single_user, case_names=case_names)
        bench.study = study
        return bench

    # -- who is asking -------------------------------------------------------------------------

    def local_csrf(self) -> str:
        return hmac.new(self.secret, b"single-user", hashlib.sha256).hexdigest()

    def login_csrf(self) -> str:
        return hmac.new(self.secret, b"login", hashlib.sha256).hexdigest()

    def actor(self, request: Request, session: Session | None = None) -> auth.Actor:
        """Who is asking (within ``session`` when given, else in a transaction of its own)."""
        if session is None:
            with self.store.session() as own:
                return self.actor(request, own)
        found = auth.actor_in(session, request.cookies.get(COOKIE))
        if found is not None:
            return found
        if not auth.accounts_in(session):
            if not _is_loopback(request.client.host if request.client else None):
                raise Forbidden("single-user mode answers this machine only; add accounts with `sibkit users add`")
            if any(name in request.headers for name in FORWARDING_HEADERS):
                raise Forbidden("single-user mode answers this machine only, and this request came through a proxy "
                                "(whoever sent it, it arrives from this machine); add accounts with `sibkit users "
                                "add` to serve through a proxy")
            return auth.Actor(self.single_user, "admin", self.local_csrf(), single_user=True)
        raise Forbidden("sign in first", status=401)

    def check_post(self, request: Request, form: Any, expected: str) -> None:
        """Refuse a POST from another site or origin (Sec-Fetch-Site, Origin) or without this session's CSRF
        token. (Under our ``Referrer-Policy: no-referrer`` browsers send ``Origin: null`` with same-origin
        forms, so Sec-Fetch-Site decides then.)"""
        site = request.headers.get("sec-fetch-site")
        origin = request.headers.get("origin")
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if site is not None and site not in ("same-origin", "none"):
            raise Forbidden(f"a form from another site was refused ({site})")
        if (origin not in (None, "null") and origin != own) or (origin == "null" and site is None):
            raise Forbidden(f"a form from another site was refused (origin {origin})")
        if not hmac.compare_digest(str(form.get("csrf", "")), expected):
            raise Forbidden("this form has expired (CSRF token missing or wrong); reload the page")

    def blind_for(self, actor: auth.Actor, session: Session | None = None) -> bool:
        """Whether ``actor`` must not see other coders' decisions now."""
        if actor.is_admin:
            return False
        return (hits.setting_in(session, "blind") if session is not None else hits.setting(self.store, "blind")) == "on"

    @staticmethod
    def number(value: object, name: str, *, lowest: int = 1) -> int:
        """A whole number from a request that the database can hold (``_number``; for the audit's pages)."""
        return _number(value, name, lowest=lowest)

    @staticmethod
    def text(value: object, name: str, limit: int) -> str:
        """Text from a request without control characters, at most ``limit`` long (``_text``; for the audit)."""
        return _text(value, name, limit)

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=status)


def _write_alone(store: Store, work: Callable[[Session], T]) -> T:
    with store.session(write=True) as session:
        return work(session)


def _write_batch(store: Store, batch: list[tuple[Callable[[Session], Any], Any]]) -> list[tuple[bool, Any]]:
    """Every write of ``batch`` in one transaction: [(succeeded, result or exception)].

    A write refuses bad input or a request it may not make (``SibkitError``, ``Forbidden``) before it changes
    anything, so that refusal costs it alone;
    any other error rolls the transaction back and each write is tried again in a transaction of its own."""
    outcomes: list[tuple[bool, Any]] = []
    try:
        with store.session(write=True) as session:
            for work, _ in batch:
                try:
                    outcomes.append((True, work(session)))
                except (SibkitError, Forbidden) as exc:
                    outcomes.append((False, exc))
        return outcomes
    except OperationalError as exc:
        if is_locked_error(exc) or len(batch) == 1:
            raise  # locked: the whole batch again (with_retry)
    except Exception:
        if len(batch) == 1:
            raise
    outcomes = []
    for work, _ in batch:
        try:
            outcomes.append((True, with_retry(functools.partial(_write_alone, store, work), what="decision")))
        except Exception as exc:
            outcomes.append((False, exc))
    return outcomes


def _filters(request: Request, actor: auth.Actor, blind: bool) -> Filters:
    params = request.query_params
    status = params.get("status", "unreviewed")
    origin = params.get("origin", "")
    coder = params.get("coder", "") or actor.name
    if status not in hits.STATUSES:
        raise SibkitError(f"status {status!r}: expected one of {', '.join(hits.STATUSES)}")
    if origin and origin not in hits.ORIGINS:
        raise SibkitError(f"origin {origin!r}: expected one of {', '.join(hits.ORIGINS)}")
    if blind and coder != actor.name:
        raise Forbidden("in a blind round you see only your own decisions")
    theme = _text(params.get("theme", ""), "theme", 80)  # any theme references have, in the codebook or not
    return Filters(theme=theme, case=_text(params.get("case", ""), "case", 40), status=status, origin=origin,
                   coder=_text(coder, "coder", 80))


def _number(value: object, name: str, *, lowest: int = 1) -> int:
    """A whole number from a request, between ``lowest`` and the largest id the database holds."""
    text = str(value).strip()
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 12:
        raise SibkitError(f"{name} {text[:40]!r} is not a valid number (ids are whole numbers up to {MAX_ID:,})")
    number = int(text)
    if not lowest <= number <= MAX_ID:
        raise SibkitError(f"{name} {text[:40]!r} is out of range (ids are whole numbers from {lowest} to {MAX_ID:,})")
    return number


def _text(value: object, name: str, limit: int) -> str:
    """Text from a request, refused when it holds a control character (NUL above all) or is over ``limit``."""
    text = str(value if value is not None else "")
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
        raise SibkitError(f"{name} contains a control character (such as NUL); remove it")
    if len(text) > limit:
        raise SibkitError(f"{name} has {len(text):,} characters; at most {limit:,}")
    return text


def _safe_next(value: str) -> str:
    """Redirect only within the workbench (never to another site)."""
    return value if value.startswith(PREFIX + "/") and not value.startswith("//") and "\\" not in value else PREFIX


def _with_query(url: str, drop: Sequence[str] = (), **values: str) -> str:
    """``url`` with ``values`` set in its query (replacing any already there) and the keys ``drop`` gone."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k not in values and k not in drop]
    return f"{parts.path}?{urlencode(kept + list(values.items()))}"


def build_router(bench: Workbench) -> APIRouter:
    router = APIRouter(prefix=PREFIX)

    def guard(request: Request) -> auth.Actor:
        return bench.actor(request)

    def allowed(request: Request, form: Any, actor: auth.Actor, *, decide: bool = False,
                admin: bool = False) -> auth.Actor:
        bench.check_post(request, form, actor.csrf)
        if decide and not actor.can_decide:
            raise Forbidden(f"{actor.name} is a viewer: viewers read, coders decide")
        if admin and not actor.is_admin:
            raise Forbidden("only an admin can do this")
        return actor

    async def posted(request: Request, *, decide: bool = False, admin: bool = False) -> tuple[auth.Actor, Any]:
        actor = await bench.run(guard, request)
        form = await request.form(max_part_size=MAX_FIELD_BYTES)
        return allowed(request, form, actor, decide=decide, admin=admin), form

    @router.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            return Response("not found", status_code=404)
        return Response((Path(__file__).parent / "static" / name).read_bytes(), media_type=STATIC[name],
                        headers={"Cache-Control": "max-age=300"})

    @router.get("", response_class=HTMLResponse)
    async def overview(request: Request) -> HTMLResponse:
        return await bench.run(overview_page, request)

    def overview_page(request: Request) -> HTMLResponse:
        actor = guard(request)
        blind = bench.blind_for(actor)
        return bench.render("overview.html", actor=actor, blind=blind,
                            by_theme=hits.progress_by(bench.store, actor.name, "theme"),
                            by_case=hits.progress_by(bench.store, actor.name, "case"))

    @router.get("/queue", response_class=HTMLResponse)
    async def queue(request: Request) -> HTMLResponse:
        return await bench.run(queue_page, request)

    def queue_page(request: Request) -> HTMLResponse:
        with bench.store.session() as session:  # one transaction: who asks, the hit, progress, memos
            actor = bench.actor(request, session)
            blind = bench.blind_for(actor, session)
            filters = _filters(request, actor, blind)
            after = _number(request.query_params.get("after", "0") or 0, "after", lowest=0)
            wanted = request.query_params.get("ref")
            reference_id = _number(wanted, "ref") if wanted else hits.next_in(session, filters, after)
            hit = hits.hit_in(session, reference_id) if reference_id else None
            done = hits.decided_in(session, filters, actor.name)
            memos = []
            also: list[str] = []
            if hit is not None:
                memos = hits.memos_on_hit(session, hit)
                also = hits.themes_also_on(session, hit)
                if blind:  # a blind round: other coders' decisions and memos stay hidden
                    hit.decisions = [d for d in hit.decisions if d["coder"] == actor.name]
                    memos = [m for m in memos if m["author"] == actor.name]
            undone_id = request.query_params.get("undone", "")
            undone = hits.undone_in(session, _number(undone_id, "undone"), actor.name) if undone_id.isdigit() \
                else None
            decided_id = request.query_params.get("decided", "")
            decided = hits.decided_by(session, _number(decided_id, "decided"), actor.name) \
                if decided_id.isdigit() else None
        total = bench.total(filters)
        here = f"{PREFIX}/queue?" + urlencode({**filters.query(), "after": after})
        # after a decision the queue goes on from here: an unreviewed queue loses the decided hit anyway
        go_on = after if filters.status == "unreviewed" or hit is None else hit.reference_id
        next_url = f"{PREFIX}/queue?" + urlencode({**filters.query(), "after": go_on})
        skip_url = f"{PREFIX}/queue?" + urlencode({**filters.query(), "after": hit.reference_id}) if hit else None
        mine = next((d for d in hit.decisions if d["coder"] == actor.name), None) if hit else None
        theme = bench.themes.by_id.get(hit.theme) if hit else None
        recode_to = bench.themes.recode_default(hit.theme, also) if hit else None
        back_url = f"{PREFIX}/queue?" + urlencode({**filters.query(), "after": after, "ref": hit.reference_id}) \
            if hit else here  # where the document's "back to the hit" returns: this queue, on this hit
        return bench.render("queue.html", actor=actor, blind=blind, filters=filters, hit=hit, mine=mine,
                            back_url=back_url,
                            total=total, done=done, here=here, next_url=next_url, skip_url=skip_url, memos=memos,
                            statuses=hits.STATUSES, origins=hits.ORIGINS, theme=theme, recode_to=recode_to,
                            also=also, undone=undone, decided=decided,
                            nothing_to_undo=request.query_params.get("undone") == "none",
                            request_key=secrets.token_urlsafe(16))

    @router.get("/documents/{document_id}", response_class=HTMLResponse)
    async def document(request: Request, document_id: str) -> HTMLResponse:
        return await bench.run(document_page, request, _number(document_id, "document"))

    def document_page(request: Request, document_id: int) -> HTMLResponse:
        actor = guard(request)
        focus = request.query_params.get("ref")
        doc, segments = hits.document_segments(bench.store, document_id, _number(focus, "ref") if focus else None)
        memos = hits.memos_on(bench.store, [("document", str(document_id))])
        wanted = request.query_params.get("back", "")  # the queue as it was filtered, else the hit alone
        back = wanted if wanted.startswith(f"{PREFIX}/queue") and _safe_next(wanted) == wanted \
            else f"{PREFIX}/queue?" + urlencode({"status": "all", "ref": focus or ""})
        here = f"{PREFIX}/documents/{document_id}" + ("?" + urlencode({"ref": focus, "back": back}) if focus else "")
        if bench.blind_for(actor):  # a blind round: other coders' memos stay hidden
            memos = [m for m in memos if m["author"] == actor.name]
        return bench.render("document.html", actor=actor, document=doc, segments=segments, memos=memos,
                            focus=focus, here=here, back=back)

    @router.post("/decide")
    async def decide(request: Request) -> Response:
        form = await request.form(max_part_size=MAX_FIELD_BYTES)
        decision = str(form.get("decision", ""))
        new_theme = str(form.get("new_theme", "")) or None
        if decision in bench.theme_ids:
            decision, new_theme = "recode", decision

        def work(session: Session) -> int:
            # who asks is read in the decision's own transaction (the most frequent POST: one trip to the
            # database instead of two); a refusal comes before anything is written
            actor = allowed(request, form, bench.actor(request, session), decide=True)
            reference = _number(form.get("reference_id", ""), "reference_id")
            key = _text(form.get("request_key", ""), "request_key", 64) or None
            try:
                return hits.decide(session, actor.name, reference, decision, new_theme, bench.theme_ids,
                                   request_key=key)
            except hits.KeyReused as exc:
                raise Forbidden(str(exc), status=409) from None

        decision_id = await bench.write(work)
        if request.headers.get("accept") == "application/json":
            return Response('{"ok": true}', media_type="application/json")
        back = _safe_next(str(form.get("next", "")))
        if back.startswith(f"{PREFIX}/queue"):  # the queue reads the decision back to confirm it
            back = _with_query(back, decided=str(decision_id))
        return RedirectResponse(back, status_code=303)

    @router.post("/undo")
    async def undo(request: Request) -> Response:
        """Undo the coder's latest decision and go back to the queue as it was filtered, on that hit,
        saying what was undone."""
        actor, form = await posted(request, decide=True)
        done = await bench.write(lambda session: hits.undo_decision(session, actor.name))
        back = _safe_next(str(form.get("next", "")))
        if not back.startswith(f"{PREFIX}/queue"):
            back = f"{PREFIX}/queue"
        said = {"undone": "none"} if done is None else {"ref": str(done.reference_id), "undone": str(done.decision_id)}
        return RedirectResponse(_with_query(back, drop=("ref", "decided"), **said), status_code=303)

    @router.post("/code")
    async def code(request: Request) -> Response:
        actor, form = await posted(request, decide=True)
        if not all(str(form.get(k, "")).strip() for k in ("start", "end")):
            raise SibkitError("select a span of the text first (start and end are character offsets)")
        document_id = _number(form.get("document_id", ""), "document_id")
        start, end = (_number(form.get(k, ""), k, lowest=0) for k in ("start", "end"))
        theme, selected = _text(form.get("theme", ""), "theme", 80), _text(form.get("selected", ""), "selected",
                                                                              hits.MAX_SELECTED)
        reference_id = await bench.write(lambda session: hits.code_span(session, actor.name, document_id, start, end,
                                                                        theme, selected, bench.theme_ids))
        bench.totals.clear()
        return RedirectResponse(f"{PREFIX}/documents/{document_id}?ref={reference_id}#hit", status_code=303)

    @router.post("/memo")
    async def memo(request: Request) -> Response:
        actor, form = await posted(request, decide=True)
        kind, target = _text(form.get("target_kind", ""), "target_kind", 10), _text(form.get("target_id", ""),
                                                                                   "target_id", 80)
        text = _text(form.get("text", ""), "the memo", hits.MAX_MEMO)
        await bench.write(lambda session: hits.add_memo(session, actor.name, kind, target, text))
        return RedirectResponse(_safe_next(str(form.get("next", ""))), status_code=303)

    @router.get("/admin", response_class=HTMLResponse)
    async def admin(request: Request) -> HTMLResponse:
        return await bench.run(admin_page, request)

    def admin_page(request: Request) -> HTMLResponse:
        actor = guard(request)
        if not actor.is_admin:
            raise Forbidden("only an admin can see this page")
        from sibkit.coding.agreement import coders_in, reliability

        coders = coders_in(bench.store)
        table = reliability(bench.store) if len(coders) >= 2 else None
        return bench.render("admin.html", actor=actor, blind=hits.setting(bench.store, "blind") == "on",
                            coders=coders, agreement=table.to_dict("records") if table is not None else None,
                            users=auth.list_users(bench.store).to_dict("records"))

    @router.post("/admin/blind")
    async def set_blind(request: Request) -> Response:
        _, form = await posted(request, admin=True)
        blind = "on" if form.get("blind") == "on" else "off"
        await bench.write(lambda session: hits.set_setting(session, "blind", blind))
        return RedirectResponse(f"{PREFIX}/admin", status_code=303)

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> HTMLResponse:
        return bench.render("login.html", actor=None, csrf=bench.login_csrf(), message="")

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form(max_part_size=MAX_FIELD_BYTES)
        bench.check_post(request, form, bench.login_csrf())
        name, password = str(form.get("name", ""))[:200], str(form.get("password", ""))[:1000]
        client = request.client.host if request.client else "?"  # X-Forwarded-For only from --trust-proxy
        cookie = request.cookies.get(DEVICE_COOKIE)
        known = bool(cookie) and await bench.run(auth.known_browser, bench.store, name, cookie)
        attempt = bench.limiter.begin(client, name, cookie if known else None)
        if not isinstance(attempt, auth.Attempt):
            wait, why = attempt
            minutes = f"{wait // 60 + 1} minutes"
            message = {"address": f"Too many failed sign-ins from this address; try again in {minutes}.",
                       "browser": f"Too many failed sign-ins from this browser; try again in {minutes}.",
                       "name": "Too many failed sign-ins for this name from several addresses. Sign in from a "
                               f"browser where you have signed in before, or try again in {minutes}."}[why]
            return bench.render("login.html", status=429, actor=None, csrf=bench.login_csrf(), message=message)
        token = None
        try:
            token = await bench.run(auth.sign_in, bench.store, name, password)
        finally:
            bench.limiter.finish(attempt, succeeded=token is not None)
        if token is None:
            return bench.render("login.html", status=401, actor=None, csrf=bench.login_csrf(),
                                message="Wrong name or password, or the account is disabled.")
        response = RedirectResponse(PREFIX, status_code=303)
        secure = request.url.scheme == "https"
        response.set_cookie(COOKIE, token, max_age=auth.SESSION_HOURS * 3600, httponly=True, samesite="strict",
                            path="/", secure=secure)
        device = await bench.run(auth.device_token, bench.store, name)
        if device is not None:
            response.set_cookie(DEVICE_COOKIE, device, max_age=auth.DEVICE_DAYS * 86400, httponly=True,
                                samesite="strict", path=f"{PREFIX}/login", secure=secure)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        await posted(request)
        await run_in_threadpool(auth.sign_out, bench.store, request.cookies.get(COOKIE))
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    from sibkit.audit.web import audit_routes

    audit_routes(router, bench, PREFIX)  # the recall audit's pages (``sibkit.audit``)
    return router


def install(app: FastAPI, bench: Workbench) -> None:
    """Add the workbench's routes and error pages to an app."""
    app.include_router(build_router(bench))

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if request.url.path.startswith(("/api/", "/download/")):  # the study's data: an answer, not a page
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        if exc.status == 401 and request.method == "GET":
            return RedirectResponse(f"{PREFIX}/login", status_code=303)
        return bench.render("message.html", status=exc.status, actor=None, message=str(exc))


def standalone_app(bench: Workbench, allowed_hosts: Any = None) -> FastAPI:
    """The workbench alone (tests, benchmarks): the same routes, security headers and host check
    (``allowed_hosts``: a ``sibkit.web.guard.AllowedHosts``, or extra names), no dashboard."""
    from sibkit.pagecache import SECURITY_HEADERS, PageCache
    from sibkit.web.guard import AllowedHosts, Guard
    from sibkit.web.guard import allowed_hosts as guard_hosts

    app = FastAPI(title="sibkit review", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(SibkitError)
    async def user_error(request: Request, exc: SibkitError) -> Response:
        found = not isinstance(exc, NotFound)
        return bench.render("message.html", status=400 if found else 404, actor=None, message=str(exc),
                            heading="Problem" if found else "Not found")

    install(app, bench)
    app.add_middleware(PageCache, live_prefixes=(PREFIX,))
    hosts = allowed_hosts if isinstance(allowed_hosts, AllowedHosts) else guard_hosts("127.0.0.1", allowed_hosts or ())
    app.add_middleware(Guard, allowed=hosts, headers=tuple(SECURITY_HEADERS.items()))
    return app
