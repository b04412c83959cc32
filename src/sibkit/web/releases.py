"""The web's release pages and labels (``sibkit.releases`` on the web): the release in the footer and on
every figure card, the field over time on the dashboard (an SVG chart with its table), the "What changed"
page between any two held releases, ``/api/releases``.

The held releases are read once when the app is made (like everything else the app shows, they do not
change while it runs); a diff or the figures over time are computed once per question and kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from sibkit.errors import SibkitError
from sibkit.releases.dated import release_of
from sibkit.releases.store import resolve

CHART_WIDTH, CHART_HEIGHT = 640, 260
MARGIN = {"left": 48, "right": 16, "top": 16, "bottom": 36}
MAX_ROWS = 200  # rows shown per kind of change on the What changed page


def release_json(release: Any) -> dict[str, Any]:
    """What the API says about a release (no local paths)."""
    return {"name": release.name, "date": release.date, "date_from": release.date_from, "label": release.label,
            "sha256": release.sha256, "held": release.held, "projects": release.projects}


def about_json(dataset: Any, files: list[str]) -> str:
    """CSV on the Web metadata for downloaded CSV files (a zip's ``csv-metadata.json``, ``/download/about.json``):
    the release each rests on."""
    import json

    from sibkit.releases.dated import csvw_sidecar

    release = release_of(dataset)
    tables = [{k: v for k, v in csvw_sidecar(release, name, f"sibkit download {name}", []).items()
               if k not in ("@context", "tableSchema")} for name in files]
    return json.dumps({"@context": "http://www.w3.org/ns/csvw", "dc:source": tables[0]["dc:source"] if tables else "",
                       "tables": tables}, indent=2, ensure_ascii=False)


def _year_fraction(text: str) -> float:
    parts = [int(p) for p in str(text).split("-")]
    day = dt.date(parts[0], parts[1] if len(parts) > 1 else 7, parts[2] if len(parts) > 2 else 15)
    start = dt.date(day.year, 1, 1)
    return day.year + (day - start).days / 365.25


def chart(over: Any) -> dict[str, Any]:
    """The over-time chart as SVG coordinates: impact bonds by year (as of then, reconstructed), each held
    release, each published figure."""
    # a year's figure is as of its last day: drawn at the start of the next year on a time axis
    series = [(_year_fraction(r["as_of"]) + 1 / 365.25, int(r["projects"])) for r in over.by_year.to_dict("records")]
    releases = [(_year_fraction(r["date"]), int(r["projects"]), r["release"])
                for r in over.by_release.to_dict("records")]
    published = [(_year_fraction(r["date"]), int(r["projects"]), r["date"])
                 for r in over.published.to_dict("records")]
    xs = [x for x, *_ in series + releases + published] or [2010.0, 2025.0]
    ys = [y for _, y, *_ in series + releases + published] or [0]
    x0, x1 = min(xs) - 0.5, max(xs) + 0.5
    top = max(50, ((max(ys) + 49) // 50) * 50)
    inner_w = CHART_WIDTH - MARGIN["left"] - MARGIN["right"]
    inner_h = CHART_HEIGHT - MARGIN["top"] - MARGIN["bottom"]

    def px(x: float) -> float:
        return round(MARGIN["left"] + (x - x0) / (x1 - x0) * inner_w, 1)

    def py(y: float) -> float:
        return round(MARGIN["top"] + inner_h - y / top * inner_h, 1)

    years = list(range(int(x0) + 1, int(x1) + 1))
    step = 1 if len(years) <= 8 else 2 if len(years) <= 16 else 5
    return {
        "width": CHART_WIDTH, "height": CHART_HEIGHT, "line": " ".join(f"{px(x)},{py(y)}" for x, y in series),
        "points": [{"x": px(x), "y": py(y)} for x, y in series],
        "releases": [{"x": px(x), "y": py(y), "label": label} for x, y, label in releases],
        "published": [{"x": px(x), "y": py(y), "label": label} for x, y, label in published],
        "x_ticks": [{"x": px(float(year)), "label": str(year)} for year in years[::step]],
        "y_ticks": [{"y": py(float(v)), "label": f"{v:,}"} for v in range(0, top + 1, max(50, top // 4 // 50 * 50))],
        "baseline": py(0.0), "left": MARGIN["left"], "right": CHART_WIDTH - MARGIN["right"],
    }


def install_releases(app: FastAPI, env: Any, dataset: Any, page: Callable[..., HTMLResponse]) -> None:
    """Add the release labels (Jinja globals), the over-time chart's data and the release pages to ``app``."""
    from sibkit.releases.store import held

    release = release_of(dataset)
    releases = held()
    over_cache: dict[Any, dict[str, Any]] = {}
    diff_cache: dict[tuple[str, str], Any] = {}
    loaded: dict[str, Any] = {release.sha256: dataset}

    def load(chosen: Any) -> Any:
        from sibkit.indigo.loader import load_held

        if chosen.sha256 not in loaded:
            loaded[chosen.sha256] = load_held(chosen)
        return loaded[chosen.sha256]

    def over_time_of(filters: Any) -> dict[str, Any]:
        if filters not in over_cache:
            from sibkit.releases.overtime import over_time

            over = over_time(dataset, filters, releases)
            over_cache[filters] = {"data": over, "chart": chart(over), "label": over.label,
                                   "undated_note": over.undated_note,
                                   "by_year": over.by_year.to_dict("records"),
                                   "by_release": over.by_release.to_dict("records"),
                                   "published": over.published.to_dict("records")}
        return over_cache[filters]

    env.globals.update(release=release, held_releases=releases, over_time_of=over_time_of)

    @app.get("/changes", response_class=HTMLResponse)
    def changes_page(request: Request) -> HTMLResponse:
        by_name = {r.name: r for r in releases}
        old_name = request.query_params.get("old") or (releases[-2].name if len(releases) > 1 else "")
        new_name = request.query_params.get("new") or (releases[-1].name if releases else "")
        problems: list[str] = []
        chosen: list[str] = []
        for name in (old_name, new_name):  # the command line's names: latest, DATE, indigo@DATE; never a path
            try:
                chosen.append(resolve(name, releases).name if name and releases else name)
            except SibkitError as exc:
                problems.append(str(exc))
                chosen.append(name)
        old_name, new_name = chosen
        changes = None
        if len(releases) > 1 and not problems and old_name != new_name:
            key = (old_name, new_name)
            if key not in diff_cache:
                from sibkit.releases.diff import diff

                diff_cache[key] = diff(load(by_name[old_name]), load(by_name[new_name]))
            changes = diff_cache[key]
        elif old_name == new_name and old_name:
            problems.append("Choose two different releases.")
        tables = {}
        if changes is not None:
            for kind, frame in changes.tables().items():
                tables[kind] = {"rows": frame.head(MAX_ROWS).to_dict("records"), "total": len(frame),
                                "columns": [c for c in frame.columns if c not in ("column",)]}
        return page("changes.html", releases=releases, old=old_name, new=new_name, changes=changes,
                    tables=tables, problems=problems, max_rows=MAX_ROWS)

    @app.get("/download/about.json")
    def download_about() -> Response:
        files = ["projects.csv", "breakdown-country.csv", "breakdown-year.csv", "breakdown-sector.csv",
                 "breakdown-stage.csv"]
        return Response(about_json(dataset, files), media_type="application/csvw+json")

    @app.get("/api/releases")
    def api_releases() -> JSONResponse:
        return JSONResponse({"in_use": release_json(release), "held": [release_json(r) for r in releases]})
