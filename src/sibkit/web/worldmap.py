"""The offline map: country outlines, projects per country at world view, projects (clustered) when
zoomed in, and markers placed so that they never overlap.

Outlines are Natural Earth 1:110m (public domain) shipped in ``data/countries-110m.json`` (made by
``tools/gen_country_outlines.py``). The projection is equirectangular, with longitudes shrunk by
the cosine of the view's central latitude when zoomed in (so Europe is not stretched).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from sibkit.indigo.values import country_name

WIDTH = 960
WORLD = (-180.0, -58.0, 180.0, 84.0)  # lng_min, lat_min, lng_max, lat_max: no Antarctica
ZOOMED_SPAN = 70.0  # degrees of longitude: narrower views show projects instead of countries
CLUSTER_PX = 30.0  # projects closer than this on screen share one marker when zoomed in
GAP_PX = 2.0  # minimum space between two markers


@lru_cache(maxsize=1)
def outlines() -> dict[str, dict[str, Any]]:
    """alpha-2 code -> {"path": SVG path in degrees (x = lng, y = -lat), "bbox", "label"}."""
    path = Path(__file__).parent / "data" / "countries-110m.json"
    return json.loads(path.read_text(encoding="utf-8"))["countries"]


@dataclass
class MapMarker:
    """One link on the map: a country (world view), a project or a cluster of projects (zoomed)."""

    anchor_x: float
    anchor_y: float
    count: int
    label: str
    href: str
    kind: str  # "country", "project" or "cluster"
    project_ids: tuple[str, ...] = ()
    radius: float = 10.0
    x: float = 0.0
    y: float = 0.0
    moved: bool = False


@dataclass
class View:
    lng_min: float
    lat_max: float
    scale: float
    shrink: float  # cos(central latitude) when zoomed, 1 at world view
    width: float
    height: float
    zoomed: bool
    markers: list[MapMarker] = field(default_factory=list)

    def xy(self, lng: float, lat: float) -> tuple[float, float]:
        return ((lng - self.lng_min) * self.scale * self.shrink, (self.lat_max - lat) * self.scale)

    @property
    def transform(self) -> str:
        """SVG matrix taking outline coordinates (lng, -lat) to the view's pixels."""
        a = self.scale * self.shrink
        return f"matrix({a:.5g} 0 0 {self.scale:.5g} {-a * self.lng_min:.5g} {self.scale * self.lat_max:.5g})"

    def shows(self, bbox: list[float]) -> bool:
        lng_max = self.lng_min + self.width / (self.scale * self.shrink)
        lat_min = self.lat_max - self.height / self.scale
        return not (bbox[2] < self.lng_min or bbox[0] > lng_max or bbox[3] < lat_min or bbox[1] > self.lat_max)


PHONE = (400.0, 520.0)  # a portrait box for zoomed views on narrow screens


def fit_view(bounds: tuple[float, float, float, float] | None, box: tuple[float, float] | None = None) -> View:
    """The view showing ``bounds`` (lng_min, lat_min, lng_max, lat_max), or the world when None;
    a zoomed view fills ``box`` (width, height; 960 × 540 by default)."""
    if bounds is None:
        lng_min, lat_min, lng_max, lat_max = WORLD
        scale = WIDTH / (lng_max - lng_min)
        return View(lng_min, lat_max, scale, 1.0, WIDTH, round((lat_max - lat_min) * scale), False)
    lng_min, lat_min, lng_max, lat_max = bounds
    pad_lng, pad_lat = max(2.0, (lng_max - lng_min) * 0.1), max(1.5, (lat_max - lat_min) * 0.1)
    lng_min, lng_max = max(-180.0, lng_min - pad_lng), min(180.0, lng_max + pad_lng)
    lat_min, lat_max = max(-60.0, lat_min - pad_lat), min(85.0, lat_max + pad_lat)
    if lng_max - lng_min >= ZOOMED_SPAN * 2.5:
        return fit_view(None)
    zoomed = lng_max - lng_min <= ZOOMED_SPAN
    shrink = math.cos(math.radians((lat_min + lat_max) / 2)) if zoomed else 1.0
    width, height = (box or (WIDTH, 540.0)) if zoomed else (WIDTH, 480.0)
    scale = min(width / ((lng_max - lng_min) * shrink), height / (lat_max - lat_min))
    # centre the bounds in the box
    extra_lng = (width / (scale * shrink) - (lng_max - lng_min)) / 2
    extra_lat = (height / scale - (lat_max - lat_min)) / 2
    return View(lng_min - extra_lng, lat_max + extra_lat, scale, shrink, width, height, zoomed)


def place(markers: list[MapMarker], width: float, height: float) -> list[MapMarker]:
    """Give every marker a position at or near its anchor where it overlaps no marker placed
    before it (largest first); markers that find no room anywhere are left out (they stay in the list)."""
    placed: list[MapMarker] = []
    for marker in sorted(markers, key=lambda m: (-m.count, m.anchor_y, m.anchor_x, m.label)):
        r = marker.radius
        for x, y in _candidates(marker.anchor_x, marker.anchor_y, r):
            if not (r <= x <= width - r and r <= y <= height - r):
                continue
            if all((x - o.x) ** 2 + (y - o.y) ** 2 >= (r + o.radius + GAP_PX) ** 2 for o in placed):
                marker.x, marker.y = round(x, 1), round(y, 1)
                marker.moved = (x - marker.anchor_x) ** 2 + (y - marker.anchor_y) ** 2 > 1
                placed.append(marker)
                break
    return placed


def _candidates(x: float, y: float, radius: float) -> Any:
    yield x, y
    step = max(4.0, radius * 0.6)
    for ring in range(1, 60):
        distance = ring * step
        count = 8 + ring * 4
        for i in range(count):
            angle = 2 * math.pi * i / count - math.pi / 2
            yield x + distance * math.cos(angle), y + distance * math.sin(angle)


def country_radius(count: int) -> float:
    return round(min(26.0, 11.0 + 2.2 * math.sqrt(count)), 1)


@dataclass(frozen=True)
class MapPoints:
    """Delivery locations prepared once for every map: the valid points, each project's own point
    (the location nearest the mean of its locations) and, for countries without an outline, which
    points lie in them (their anchor is the median of the filtered projects' points there)."""

    project_ids: list[str]
    lng: np.ndarray
    lat: np.ndarray
    own_point: dict[str, tuple[float, float]]
    outside_outlines: dict[str, np.ndarray]  # country code -> positions in the arrays


def prepare_points(locations: pd.DataFrame) -> MapPoints:
    """``MapPoints`` from INDIGO's delivery locations table."""
    points = locations.dropna(subset=["lat_lng_lat", "lat_lng_lng", "project_id"])
    points = points[points["lat_lng_lat"].between(-90, 90) & points["lat_lng_lng"].between(-180, 180)]
    by_project: dict[str, list[tuple[float, float]]] = {}
    for project_id, lat, lng in sorted(zip(points["project_id"], points["lat_lng_lat"], points["lat_lng_lng"],
                                           strict=True)):
        by_project.setdefault(project_id, []).append((lng, lat))
    own_point = {}
    for project_id, own in by_project.items():
        mean_lng = sum(p[0] for p in own) / len(own)
        mean_lat = sum(p[1] for p in own) / len(own)
        own_point[project_id] = min(own, key=lambda p: ((p[0] - mean_lng) ** 2 + (p[1] - mean_lat) ** 2, p))
    shapes = outlines()
    country = points["location_country"].to_numpy(dtype=object)
    outside = {}
    for code in sorted({str(c) for c in country if isinstance(c, str)} - set(shapes)):
        outside[code] = np.flatnonzero(country == code)
    return MapPoints(list(points["project_id"]), points["lat_lng_lng"].to_numpy(dtype="float64"),
                     points["lat_lng_lat"].to_numpy(dtype="float64"), own_point, outside)


def build_map(frame: pd.DataFrame, locations: pd.DataFrame | MapPoints, counts: dict[str, int], whole_field: bool,
              country_href: Callable[[str], str], project_name: Callable[[str], str],
              box: tuple[float, float] | None = None) -> dict[str, Any]:
    """Everything the map template draws for the filtered projects ``frame`` (derived rows).

    ``locations``: the delivery locations table or, faster, its ``prepare_points``; ``counts``:
    projects per country code (the figures' country breakdown); ``whole_field``: no filter, so the
    world view is shown; ``box``: the size of a zoomed view (see ``PHONE``).
    """
    shapes = outlines()
    prepared = locations if isinstance(locations, MapPoints) else prepare_points(locations)
    ids = set(frame["id"])
    anchors = {code: (shape["label"][0], shape["label"][1]) for code, shape in shapes.items()}
    for code, positions in prepared.outside_outlines.items():
        chosen = [i for i in positions if prepared.project_ids[i] in ids]
        if chosen:
            anchors[code] = (float(np.median(prepared.lng[chosen])), float(np.median(prepared.lat[chosen])))

    def project_point(project_id: str, codes: tuple[str, ...]) -> tuple[float, float] | None:
        own = prepared.own_point.get(project_id)
        if own is not None:
            return own
        return next((anchors[c] for c in codes if c in anchors), None)

    project_points = {pid: project_point(pid, codes) for pid, codes in zip(frame["id"], frame["countries"],
                                                                            strict=True)}
    located = {pid: p for pid, p in project_points.items() if p is not None}
    if whole_field or not located:
        view = fit_view(None)
    else:
        lngs = [p[0] for p in located.values()]
        lats = [p[1] for p in located.values()]
        view = fit_view((min(lngs), min(lats), max(lngs), max(lats)), box)

    markers: list[MapMarker] = []
    if view.zoomed:
        markers = _project_markers(view, located, project_name)
    else:
        for code, count in counts.items():
            if code not in anchors:
                continue
            x, y = view.xy(*anchors[code])
            name = country_name(code)
            noun = "impact bond" if count == 1 else "impact bonds"
            markers.append(MapMarker(x, y, count, f"{name}: {count} {noun}", country_href(code), "country",
                                     radius=country_radius(count)))
    placed = place(markers, view.width, view.height)
    maximum = max(counts.values(), default=0)
    countries = []
    for code, shape in shapes.items():
        if not view.shows(shape["bbox"]):
            continue
        count = counts.get(code, 0)
        shade = 0 if count == 0 else 1 + min(4, int(4 * math.log1p(count) / math.log1p(maximum)))
        name = country_name(code)
        countries.append({"code": code, "name": name, "path": shape["path"], "count": count, "shade": shade,
                          "svg": _country_svg(code, name, count, shade)})
    placed_order = sorted(placed, key=lambda m: (m.y, m.x))  # reading order for the keyboard
    return {"view": view, "markers": placed_order, "countries": countries,
            "left_out": [m for m in markers if m not in placed],
            "unmapped": sorted(c for c in counts if c not in anchors),
            "located_projects": len(located)}


@cache
def _escaped_path(code: str) -> str:
    return str(escape(outlines()[code]["path"]))


@lru_cache(maxsize=8192)
def _country_svg(code: str, name: str, count: int, shade: int) -> Markup:
    """A country's outline as SVG (escaped here once, so the template prints it as it is): a link to
    its projects with its count when it has any."""
    path = _escaped_path(code)
    if not count:
        return Markup(f'<path class="shade-0" d="{path}"></path>')
    return Markup(f'<a href="/projects?country={escape(code)}" tabindex="-1" aria-hidden="true"><path '
                  f'class="shade-{shade}" d="{path}"><title>{escape(name)}: {count}</title></path></a>\n    ')


def country_anchors(points: pd.DataFrame, shapes: dict[str, dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """Where a country's count goes: its outline's label point, else the median of the delivery
    locations in it (small countries missing from the 1:110m outlines)."""
    anchors = {code: (shape["label"][0], shape["label"][1]) for code, shape in shapes.items()}
    located = points.dropna(subset=["location_country"])
    for code, group in located.groupby("location_country"):
        if code not in anchors:
            anchors[str(code)] = (float(group["lat_lng_lng"].median()), float(group["lat_lng_lat"].median()))
    return anchors


def _project_markers(view: View, located: dict[str, tuple[float, float]],
                     project_name: Callable[[str], str]) -> list[MapMarker]:
    """One marker per project, or per cluster of projects closer than CLUSTER_PX on screen."""
    clusters: list[list[tuple[float, float, str]]] = []
    centres: list[tuple[float, float]] = []
    for project_id, (lng, lat) in sorted(located.items(), key=lambda item: (item[1][1], item[1][0], item[0])):
        x, y = view.xy(lng, lat)
        if not (0 <= x <= view.width and 0 <= y <= view.height):
            continue
        near = next((i for i, (cx, cy) in enumerate(centres) if (cx - x) ** 2 + (cy - y) ** 2 <= CLUSTER_PX ** 2),
                    None)
        if near is None:
            clusters.append([(x, y, project_id)])
            centres.append((x, y))
        else:
            clusters[near].append((x, y, project_id))
            members = clusters[near]
            centres[near] = (sum(m[0] for m in members) / len(members), sum(m[1] for m in members) / len(members))
    markers = []
    for members, (cx, cy) in zip(clusters, centres, strict=True):
        ids = tuple(sorted(m[2] for m in members))
        if len(ids) == 1:
            markers.append(MapMarker(cx, cy, 1, project_name(ids[0]), f"/projects/{ids[0]}", "project", ids,
                                     radius=9.0))
        else:
            names = "; ".join(project_name(i) for i in ids[:3]) + ("; …" if len(ids) > 3 else "")
            markers.append(MapMarker(cx, cy, len(ids), f"{len(ids)} impact bonds: {names}",
                                     "/projects?" + "&".join(f"id={i}" for i in ids), "cluster", ids,
                                     radius=country_radius(len(ids))))
    return markers
