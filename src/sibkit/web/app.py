"""The web app: dashboard, map, project pages, study pages, CSV downloads and a JSON API.

Server-rendered (FastAPI + Jinja2 with autoescaping), no JavaScript needed, every asset served by
sibkit itself, read-only (GET only), strict security headers, and only for the host names the server was
started for (``sibkit.web.guard``: DNS rebinding). With a study, the review workbench
(``sibkit.workbench``) adds its pages under ``/review``: they write, so they pass the cache by; the
study's own pages (``/study``, ``/api/study``, ``/download/study/``) are the workbench's to guard (a signed-in
account in team mode, this machine alone otherwise) and pass the cache by too.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from sibkit import __version__, spreadsheet
from sibkit.errors import NotFound, SibkitError
from sibkit.indigo import Dataset, breakdown
from sibkit.indigo.figures import BREAKDOWNS
from sibkit.indigo.values import country_name
from sibkit.kinds import shown as kind_shown
from sibkit.pagecache import SECURITY_HEADERS, PageCache
from sibkit.shown import visible_controls
from sibkit.web.guard import AllowedHosts, Guard
from sibkit.web.guard import allowed_hosts as guard_hosts
from sibkit.web.payments import money
from sibkit.web.releases import about_json
from sibkit.web.views import (
    COMPARE_MAX,
    FILTER_KEYS,
    SORTS,
    Views,
    explore_from_query,
    filters_from_query,
    missing,
    query_of,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if value is pd.NA or value is None:
        return None
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "item"):
        return value.item()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _json_safe(v) for k, v in row.items()} for row in frame.to_dict("records")]


def flat_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Tuples (a project's countries) joined by spaces so that a cell holds text."""
    out = frame.copy()
    for column in out.columns:
        if out[column].map(lambda v: isinstance(v, tuple)).to_numpy(dtype=bool).any():
            out[column] = out[column].map(lambda v: " ".join(v) if isinstance(v, tuple) else v)
    return out


def csv_text(frame: pd.DataFrame) -> str:
    """CSV with a UTF-8 byte order mark, so that Excel reads accents and other scripts correctly."""
    buffer = io.StringIO()
    spreadsheet.to_csv(flat_frame(frame), buffer)
    return "\ufeff" + buffer.getvalue()


#: every CSV download points to what it rests on (the INDIGO release), the CSV on the Web way
DESCRIBED_BY = '</download/about.json>; rel="describedby"; type="application/csvw+json"'


def csv_response(frame: pd.DataFrame, name: str) -> Response:
    return Response(csv_text(frame).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"', "Link": DESCRIBED_BY})


def safe_href(url: object) -> str | None:
    """Only http(s) URLs become links (no javascript: or data: URLs from the data)."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. an unclosed [IPv6 bracket in the data: shown as text, not a link
        return None
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def dataset_xlsx(dataset: Dataset, derived_projects: pd.DataFrame) -> bytes:
    """Every INDIGO table as one sheet (plus the derived project fields), text never read as a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    from sibkit.releases import release_of
    from sibkit.releases.dated import about_rows

    book = Workbook(write_only=True)
    about = book.create_sheet("about")  # what every sheet rests on: the INDIGO release
    about.append(["field", "value"])
    for row in about_rows(release_of(dataset), "INDIGO tables and sibkit's derived project fields"):
        about.append(list(row))
    used: set[str] = {"about"}
    for name, frame in [("derived_projects", derived_projects), *dataset.tables.items()]:
        title = name[:31]
        while title in used:
            title = title[:29] + f"{len(used) % 100:02d}"
        used.add(title)
        sheet = book.create_sheet(title)
        flat = flat_frame(frame)
        sheet.append(list(flat.columns))
        for row in flat.itertuples(index=False):
            cells = []
            for value in row:
                if missing(value):
                    cells.append(None)
                elif isinstance(value, str):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"  # "=..." stays text
                    cells.append(cell)
                else:
                    cells.append(value.item() if hasattr(value, "item") else value)
            sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def present(value: object) -> bool:
    return not missing(value)


def big(value: object) -> str:
    """A rounded large number: 878 million, 3.2 million, 12,400 (no false precision)."""
    if missing(value):
        return "–"
    number = float(value)  # type: ignore[arg-type]
    for size, word in ((1e9, "billion"), (1e6, "million")):
        if abs(number) >= size:
            scaled = number / size
            return f"{scaled:,.1f} {word}" if scaled < 100 else f"{scaled:,.0f} {word}"
    if abs(number) >= 10_000:
        return f"{round(number, -2):,.0f}"
    return f"{number:,.0f}"


def label(column: str) -> str:
    """A column name as a heading: ``money_amount_usd`` -> ``Money amount (USD)``."""
    named = {"lat_lng_lat": "Latitude", "lat_lng_lng": "Longitude", "id": "ID", "source_ids": "Sources",
             "organisation_id": "Organisation"}
    if column in named:
        return named[column]
    text = column.replace("_usd", " (USD)").replace("_id", "").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _format(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() or abs(value) >= 1000 else f"{value:,.3g}"
    if isinstance(value, tuple):
        return ", ".join(value)
    return str(value)


#: study pages: what the study's database holds (documents, classes), so never cached and never public
STUDY_PREFIXES = ("/study", "/api/study", "/download/study")
REVIEW_PREFIX = "/review"  # the workbench's pages (sibkit.workbench.routes.PREFIX, not imported without a study)
REVIEW_LINKS = [(REVIEW_PREFIX + "/queue", "Back to the review queue"), (REVIEW_PREFIX, "The review overview")]


def public_origin(origin: object) -> str:
    """Where a document came from, as a page may show it: a URL or an INDIGO record as stored, a file by its
    name only (never a path on the server)."""
    text = "" if origin is None else str(origin)
    if text.startswith(("http://", "https://", "indigo:")):
        return text
    return text.replace("\\", "/").rsplit("/", 1)[-1]


def create_app(dataset: Dataset, study: Any = None, coder: str = "", cache_bytes: int = 64 * 2**20,
               allowed_hosts: AllowedHosts | Sequence[str] | None = None) -> FastAPI:
    """The app over one dataset (and optionally a loaded study); finished pages are cached up to
    ``cache_bytes`` (least recently used first out). It answers only for ``allowed_hosts`` (the names the
    server was started for; default: this machine's loopback names and addresses)."""
    views = Views(dataset, study)
    env = Environment(loader=PackageLoader("sibkit.web", "templates"), autoescape=select_autoescape(["html"]),
                      auto_reload=False,  # the package's templates do not change while it runs
                      finalize=visible_controls)  # bidi controls in text shown as escapes (sibkit.shown)
    env.filters["fmt"] = _format
    env.filters["href"] = safe_href
    env.filters.update(present=present, big=big, country=country_name, label=label, money=money,
                       linked=views.linked, kind=kind_shown)  # a document's kind as sibkit.kinds names it
    env.tests["present"] = present
    env.globals.update(version=__version__, study=study, FILTER_KEYS=FILTER_KEYS)
    for name in env.list_templates():  # compiled once, at start-up
        env.get_template(name)
    total = len(dataset.projects)
    app = FastAPI(title="sibkit", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    study_cache: dict[str, Any] = {}

    @app.exception_handler(SibkitError)
    async def user_error(request: Request, exc: SibkitError) -> Response:
        status = 404 if isinstance(exc, NotFound) else 400
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(exc)}, status_code=status)
        in_review = request.url.path.startswith(REVIEW_PREFIX + "/") or request.url.path == REVIEW_PREFIX
        links = REVIEW_LINKS if in_review else None  # a coder goes back to the queue, not to the dashboard
        return HTMLResponse(env.get_template("error.html").render(
            title="Not found" if status == 404 else None, message=str(exc), links=links), status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith(("/api/", "/download/")):
            return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)
        title = "Page not found" if exc.status_code == 404 else "Problem"
        message = (f"There is no page at {request.url.path}." if exc.status_code == 404 else str(exc.detail))
        return HTMLResponse(env.get_template("error.html").render(title=title, message=message),
                            status_code=exc.status_code, headers=exc.headers)  # a 405 keeps its Allow

    def not_found(message: str) -> HTMLResponse:
        return HTMLResponse(env.get_template("error.html").render(title="Not found", message=message),
                            status_code=404)

    def page(name: str, **context: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**context))

    def query(request: Request) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            out.setdefault(key, []).append(value)
        return out

    def tidied(request: Request) -> Response | None:
        """A form sends every field, the empty ones too (``?live_from=&as_of=``): the same page at the address
        without them (303), so the address a user copies or bookmarks says only what was chosen."""
        items = request.query_params.multi_items()
        if not any(value == "" for _, value in items):
            return None
        kept = urlencode([(key, value) for key, value in items if value != ""])
        return RedirectResponse(request.url.path + (f"?{kept}" if kept else ""), status_code=303)

    @app.get("/", response_class=HTMLResponse)
    def dashboard(request: Request) -> Response:
        if (tidy := tidied(request)) is not None:
            return tidy
        filters = filters_from_query(query(request))
        data = views.dashboard(filters)
        return page("dashboard.html", filters=filters, summary=data["summary"], charts=data["charts"],
                    map=data["map"], options=views.options, qs=urlencode(query_of(filters)),
                    chip_list=views.chips(filters, "/"), unknown=data["unknown"], total=total,
                    names=views.names)

    @app.get("/projects", response_class=HTMLResponse)
    def project_list(request: Request) -> Response:
        if (tidy := tidied(request)) is not None:
            return tidy
        params = query(request)
        filters = filters_from_query(params)
        explore = explore_from_query(params)
        ids = params.get("id", [])
        result = views.explore(filters, explore, ids)
        base = query_of(filters) + [("id", i) for i in ids]

        def url(pairs: list[tuple[str, str]]) -> str:
            return "/projects" + ("?" + urlencode(pairs) if pairs else "")

        sort_links = {}
        for key in SORTS:
            flip = explore.sort == key and not explore.descending
            sort_links[key] = url(base + explore.pairs(page=1, sort=("-" if flip else "") + key))
        page_links = {n: url(base + explore.pairs(page=n)) for n in range(1, result["pages"] + 1)}
        return page("projects.html", filters=filters, options=views.options, explore=explore, result=result,
                    ids=ids, chip_list=views.chips(filters, "/projects"), unknown=views.unknown_values(filters),
                    qs=urlencode(query_of(filters)), qs_all=urlencode(base + explore.pairs(page=1)),
                    sort_links=sort_links, page_links=page_links, total=total)

    @app.get("/projects/{project_id}", response_class=HTMLResponse)
    def project_page(project_id: str) -> HTMLResponse:
        try:
            data = views.project(project_id)
        except KeyError:
            return not_found(f"No project {project_id!r} in INDIGO.")
        return page("project.html", **data, study_case=_study_case(project_id))

    @app.get("/compare", response_class=HTMLResponse)
    def compare_page(request: Request) -> HTMLResponse:
        ids = query(request).get("id", [])
        data = views.compare(ids)
        suggestions = []
        if len(data["columns"]) == 1:
            suggestions = views.similar(data["columns"][0]["id"])[0][:6]
        return page("compare.html", **data, suggestions=suggestions, maximum=COMPARE_MAX)

    @app.get("/organisations", response_class=HTMLResponse)
    def organisation_list(request: Request) -> Response:
        if (tidy := tidied(request)) is not None:
            return tidy
        params = query(request)
        search = " ".join((params.get("q") or [""])[0].split())[:200]
        try:
            number = max(1, int((params.get("page") or ["1"])[0]))
        except ValueError:
            number = 1
        found = views.organisation_index(search, number)
        links = {n: "/organisations?" + urlencode([*([("q", search)] if search else []), ("page", str(n))])
                 for n in range(1, found["pages"] + 1)}
        return page("organisations.html", search=search, found=found, page_links=links)

    @app.get("/funds", response_class=HTMLResponse)
    def fund_list(request: Request) -> Response:
        if (tidy := tidied(request)) is not None:
            return tidy
        search = " ".join((query(request).get("q") or [""])[0].split())[:200]
        return page("funds.html", search=search, found=views.fund_index(search))

    @app.get("/organisations/{organisation_id}", response_class=HTMLResponse)
    def organisation_page(organisation_id: str) -> HTMLResponse:
        try:
            data = views.organisation(organisation_id)
        except KeyError:
            return not_found(f"No organisation {organisation_id!r} in INDIGO.")
        return page("organisation.html", **data)

    @app.get("/funds/{fund_id}", response_class=HTMLResponse)
    def fund_page(fund_id: str) -> HTMLResponse:
        try:
            data = views.fund(fund_id)
        except KeyError:
            return not_found(f"No outcome fund {fund_id!r} in INDIGO.")
        return page("fund.html", **data)

    # -- downloads and API ---------------------------------------------------------------

    @app.get("/api/stats")
    def api_stats(request: Request) -> JSONResponse:
        params = query(request)
        filters = filters_from_query(params)
        by = (params.get("by") or [None])[0]
        data = views.dashboard(filters)
        body: dict[str, Any] = {**data["figures"], "summary": data["summary"], "filters": filters.describe(),
                                "release": release_json(env.globals["release"])}
        if by:
            if by not in BREAKDOWNS:
                raise SibkitError(f"by={by!r}: expected one of {', '.join(BREAKDOWNS)}")
            body["breakdown"] = records(breakdown(data["projects"], by))
        return JSONResponse(body)

    @app.get("/api/projects")
    def api_projects(request: Request) -> JSONResponse:
        params = query(request)
        return JSONResponse(records(views.project_list(params.get("id"), filters_from_query(params))))

    @app.get("/api/projects/{project_id}")
    def api_project(project_id: str) -> JSONResponse:
        if project_id not in views.by_id.index:
            return JSONResponse({"error": f"no project {project_id!r}"}, status_code=404)
        data = views.project(project_id)
        return JSONResponse({"project": {k: _json_safe(v) for k, v in data["row"].items()},
                             "derived": {k: _json_safe(v) for k, v in data["derived"].items()},
                             "tables": {name: records(frame) for name, frame in data["tables"].items()},
                             "flags": data["flags"]})

    @app.get("/download/projects.csv")
    def download_projects(request: Request) -> Response:
        params = query(request)
        frame = views.explore(filters_from_query(params), explore_from_query(params), params.get("id"),
                              paged=False)["rows"]
        return csv_response(frame, "projects")

    @app.get("/download/indigo-csv.zip")
    def download_zip() -> Response:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in dataset.tables:
                archive.writestr(f"{name}.csv", csv_text(dataset[name]).encode("utf-8"))
            archive.writestr("derived_projects.csv", csv_text(views.derived).encode("utf-8"))
            archive.writestr("csv-metadata.json", about_json(dataset, [*(f"{n}.csv" for n in dataset.tables),
                                                                       "derived_projects.csv"]))
        return Response(buffer.getvalue(), media_type="application/zip",
                        headers={"Content-Disposition": 'attachment; filename="indigo-csv.zip"'})

    @app.get("/download/indigo.xlsx")
    def download_xlsx() -> Response:
        return Response(dataset_xlsx(dataset, views.derived),
                        media_type=XLSX,
                        headers={"Content-Disposition": 'attachment; filename="indigo.xlsx"'})

    @app.get("/download/breakdown-{by}.csv")
    def download_breakdown(by: str, request: Request) -> Response:
        if by not in BREAKDOWNS:
            raise SibkitError(f"breakdown {by!r}: expected one of {', '.join(BREAKDOWNS)}")
        frame = views.dashboard(filters_from_query(query(request)))["projects"]
        return csv_response(breakdown(frame, by), f"breakdown-{by}")

    @app.get("/download/projects/{project_id}/{table}.csv")
    def download_project_table(project_id: str, table: str) -> Response:
        if project_id not in views.by_id.index:
            return Response("no such project", status_code=404)
        if table not in views.project(project_id)["tables"]:
            return Response("no such table", status_code=404)
        return csv_response(views.project_frame(table, project_id), f"{project_id}-{table}")

    # -- study pages ---------------------------------------------------------------------

    def study_data() -> dict[str, Any]:
        if study is None:
            raise SibkitError("no study was given: start with `sibkit serve STUDY`")
        if not study_cache:
            from sibkit.corpus import evidence_by_case, evidence_table
            from sibkit.outcomes import classify_study
            from sibkit.study import select
            from sibkit.study.selection import reading_list

            documents = pd.DataFrame(columns=["case_id", "document_id", "title", "doc_type", "origin", "status",
                                              "words", "date"])
            held = None
            evidence = pd.DataFrame(columns=["case_id", "kind", "listed", "held", "coded"])
            database = study.database_url()
            has_database = not database.startswith("sqlite:///") or Path(database.removeprefix("sqlite:///")).exists()
            if has_database:
                from sibkit.corpus import held_document_keys, linked_documents
                from sibkit.store import open_store

                store = open_store(database)
                try:  # read once: the web app never writes to the study's database
                    documents, held = linked_documents(store), held_document_keys(store)
                    selection = select(study, dataset, extra_documents=held)
                    evidence = evidence_table(store, reading_list(dataset), selection.selected)
                finally:
                    store.close()
                documents = documents.assign(origin=documents["origin"].map(public_origin))
            else:
                selection = select(study, dataset, extra_documents=held)
            if not has_database:  # nothing held: what INDIGO lists for each case
                from sibkit.corpus import document_kind

                listed = reading_list(dataset)
                listed = listed[listed["case_id"].isin(selection.selected)]
                evidence = pd.DataFrame({"case_id": listed["case_id"], "kind": [
                    document_kind(t, u, s) for t, u, s in zip(listed["title"], listed["url"], listed["source_type"],
                                                              strict=True)], "listed": 1, "held": 0, "coded": 0})
            by_case = evidence_by_case(evidence, selection.selected)
            classification = classify_study(study, selection)
            study_cache.update(flow=selection.flow, cases=classification.cases, metrics=classification.metrics,
                               documents=documents, selected=selection.selected, evidence=by_case)
        return study_cache

    def study_reader(request: Request) -> None:
        """The study's pages are read as the workbench is: by a signed-in account in team mode, by this
        machine alone otherwise (raises the workbench's ``Forbidden``)."""
        bench = getattr(app.state, "workbench", None)
        if bench is not None:
            bench.actor(request)

    def team_mode() -> bool:
        bench = getattr(app.state, "workbench", None)
        if bench is None:
            return False
        from sibkit.workbench.auth import has_accounts

        return has_accounts(bench.store)

    def _study_case(project_id: str) -> dict[str, Any] | None:
        if study is None or team_mode():  # project pages are public (and cached): no study data in team mode
            return None
        data = study_data()
        cases = data["cases"]
        own = cases[cases["case_id"] == project_id]
        return own.iloc[0].to_dict() if len(own) else None

    @app.get("/study", response_class=HTMLResponse)
    def study_page(request: Request) -> HTMLResponse:
        study_reader(request)
        data = study_data()
        flow = data["flow"].to_dict("records")
        evidence = {row["case_id"]: row for row in data["evidence"].to_dict("records")}
        uncoded = [c for c, row in evidence.items() if not row["coded"]]
        record_only = [c for c, row in evidence.items() if row["coded"] and row["record_only"]]
        selected = len(data["selected"])
        return page("study.html", flow=flow, total=int(flow[0]["in"]) if flow else 0,
                    cases=data["cases"].to_dict("records"), documents=data["documents"], evidence=evidence,
                    record_only=record_only, uncoded=uncoded, selected=selected,
                    # the report's rule (sibkit.report.run.is_exploratory): most cases have no coded document
                    # besides their INDIGO record
                    exploratory=2 * (len(record_only) + len(uncoded)) > selected)

    @app.get("/api/study")
    def api_study(request: Request) -> JSONResponse:
        study_reader(request)
        data = study_data()
        return JSONResponse({"flow": records(data["flow"].assign(excluded_ids=data["flow"]["excluded_ids"].map(list))),
                             "cases": records(data["cases"]), "documents": records(data["documents"])})

    @app.get("/download/study/{table}.csv")
    def download_study(table: str, request: Request) -> Response:
        study_reader(request)
        data = study_data()
        frames = {"flow": data["flow"].assign(excluded_ids=data["flow"]["excluded_ids"].map(" ".join)),
                  "cases": data["cases"], "metrics": data["metrics"], "documents": data["documents"],
                  "evidence": data["evidence"]}
        if table not in frames:
            return Response("no such table", status_code=404)
        return csv_response(frames[table], f"study-{table}")

    @app.get("/healthz")
    def health() -> JSONResponse:
        return JSONResponse({"ok": True, "projects": len(dataset.projects), "version": __version__})

    from sibkit.web.releases import install_releases, release_json

    install_releases(app, env, dataset, page)  # release labels, the field over time, What changed
    app.state.views = views
    live: tuple[str, ...] = ()
    if study is not None:  # the review workbench: its own package, pages under /review, never cached
        from sibkit.workbench import mount_workbench

        live = (*mount_workbench(app, study, coder, case_names=views.names), *STUDY_PREFIXES)
    app.add_middleware(Compressed)  # inside the cache: a page is compressed once per URL and encoding
    app.add_middleware(PageCache, live_prefixes=live, max_bytes=cache_bytes)
    hosts = allowed_hosts if isinstance(allowed_hosts, AllowedHosts) else guard_hosts("127.0.0.1", allowed_hosts or ())
    app.add_middleware(Guard, allowed=hosts, headers=tuple(SECURITY_HEADERS.items()))  # outermost: before the cache
    return app


class Compressed:
    """Text answers gzipped for clients that accept it (Starlette's ``GZipMiddleware``); the ZIP and
    XLSX downloads, compressed already, pass by."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=1000, compresslevel=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith((".zip", ".xlsx")):
            await self.app(scope, receive, send)
        else:
            await self.gzip(scope, receive, send)
