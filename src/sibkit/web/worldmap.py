"""The offline map: country outlines, projects per country at world view, projects (clustered) when
zoomed in, and markers placed so that they never overlap.

Outlines are Natural Earth 1:110m (public domain) shipped in ``data/countries-110m.json`` (made by
``tools/gen_country_outlines.py``). The projection is equirectangular, with longitudes shrunk by
the cosine of the view's central latitude when zoomed in (so Europe is not stretched).

A marker stands on an anchor inside its country's outline (a country's label point, the point of
its largest ring farthest from its edges; a project's delivery location, moved onto the country's
land where the 1:110m coast leaves it in the sea). Markers are moved apart so that none overlaps
another, each staying inside its own country where there is room there and otherwise joined to its
anchor by a leader line; names are written beside markers wherever they fit.
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
INSIDE_PX = 70.0  # how far from its anchor a marker looks for room inside its own country
SEA_PX, ELSEWHERE_PX = 8.0, 16.0  # what a spot at sea, or over another country, costs beside its distance
NAME_PX = 12.0  # font size of the names written on the map (see style.css)
NAME_CHARS = 30  # a project's name is shortened to this on the map (in full on hover, focus and the list)
REGION = (42.0, 30.0)  # degrees of longitude and latitude of the region a phone opens on


@lru_cache(maxsize=1)
def outlines() -> dict[str, dict[str, Any]]:
    """alpha-2 code -> {"path": SVG path in degrees (x = lng, y = -lat), "bbox", "label"}."""
    path = Path(__file__).parent / "data" / "countries-110m.json"
    return json.loads(path.read_text(encoding="utf-8"))["countries"]


@cache
def rings(code: str) -> tuple[np.ndarray, ...]:
    """A country's rings as arrays of (longitude, latitude) (a ring across the antimeridian goes on past 180°)."""
    out = []
    for part in outlines()[code]["path"].split("M")[1:]:
        points = np.array([[float(v) for v in pair.split()] for pair in part.rstrip("Z").split("L")])
        points[:, 1] *= -1
        out.append(points)
    return tuple(out)


@cache
def _edges(code: str) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]], bool]:
    """A country's ring boxes (west, south, east, north per row), each ring's edges that are not horizontal
    (y1, y2, x1, dx/dy), and whether a ring runs past 180° (Russia, Fiji), for ``contains_many``."""
    boxes, edges = [], []
    for ring in rings(code):
        ends = np.roll(ring, -1, axis=0)
        keep = ring[:, 1] != ends[:, 1]
        starts, ends = ring[keep], ends[keep]
        boxes.append((ring[:, 0].min(), ring[:, 1].min(), ring[:, 0].max(), ring[:, 1].max()))
        slope = (ends[:, 0] - starts[:, 0]) / (ends[:, 1] - starts[:, 1])
        edges.append((starts[:, 1], ends[:, 1], starts[:, 0], slope))
    box_array = np.array(boxes, dtype="float64").reshape(-1, 4)
    return box_array, edges, bool(len(box_array) and box_array[:, 2].max() > 180)


def contains_many(code: str, lngs: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """For each point, whether it lies in the country's outline (even-odd over its rings: holes are outside;
    a ring whose box does not hold a point cannot change its count, so only the rings around it are read)."""
    lngs, lats = np.asarray(lngs, dtype="float64"), np.asarray(lats, dtype="float64")
    inside = np.zeros(len(lngs), dtype=bool)
    if code not in outlines():
        return inside
    boxes, edges, wraps = _edges(code)
    for xs in ((lngs, lngs + 360.0) if wraps else (lngs,)):
        odd = np.zeros(len(lngs), dtype=bool)
        around = ((xs >= boxes[:, 0, None]) & (xs <= boxes[:, 2, None])
                  & (lats >= boxes[:, 1, None]) & (lats <= boxes[:, 3, None]))
        for ring in np.flatnonzero(around.any(axis=1)):
            y1, y2, x1, slope = edges[ring]
            near = np.flatnonzero(around[ring])
            y, x = lats[near, None], xs[near, None]
            crossings = ((y1 > y) != (y2 > y)) & (x < x1 + (y - y1) * slope)
            odd[near] ^= np.count_nonzero(crossings, axis=1) % 2 == 1
        inside |= odd
    return inside


def contains(code: str, lng: float, lat: float) -> bool:
    """Whether (lng, lat) lies in the country's outline."""
    return bool(contains_many(code, np.array([lng]), np.array([lat]))[0])


@cache
def _bounds() -> tuple[list[str], np.ndarray]:
    codes = list(outlines())
    return codes, np.array([outlines()[code]["bbox"] for code in codes], dtype="float64")


def on_other_land(lngs: np.ndarray, lats: np.ndarray, skip: str) -> np.ndarray:
    """For each point, whether a country other than ``skip`` holds it (False: at sea, or in ``skip``)."""
    codes, boxes = _bounds()
    out = np.zeros(len(lngs), dtype=bool)
    near = ((boxes[:, 1] <= lats.max()) & (boxes[:, 3] >= lats.min())
            & (((boxes[:, 0] <= lngs.max()) & (boxes[:, 2] >= lngs.min()))
               | ((boxes[:, 0] <= lngs.max() + 360) & (boxes[:, 2] >= lngs.min() + 360))))
    for index in np.flatnonzero(near):
        if codes[index] != skip:
            out |= contains_many(codes[index], lngs, lats)
    return out


def onto_land(code: str, lng: float, lat: float) -> tuple[float, float]:
    """(lng, lat) itself when it lies in the country's outline, else the first point inside it on the
    way to the country's label point (a coastal town the 1:110m coast leaves in the sea)."""
    if code not in outlines() or contains(code, lng, lat):
        return lng, lat
    to_lng, to_lat = outlines()[code]["label"]
    for step in range(1, 41):
        share = step / 40
        x, y = lng + (to_lng - lng) * share, lat + (to_lat - lat) * share
        if contains(code, x, y):
            return x, y
    return to_lng, to_lat


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
    country: str = ""  # the country whose outline holds the anchor
    name: str = ""  # what is written beside the marker where it fits
    name_x: float = 0.0
    name_y: float = 0.0
    name_anchor: str = "start"
    name_shown: bool = False


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

    def lnglat(self, x: float, y: float) -> tuple[float, float]:
        """The inverse of ``xy``."""
        return (x / (self.scale * self.shrink) + self.lng_min, self.lat_max - y / self.scale)

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


def place(markers: list[MapMarker], width: float, height: float,
          penalty: Callable[[MapMarker, np.ndarray, np.ndarray], np.ndarray] | None = None) -> list[MapMarker]:
    """Give every marker a position at or near its anchor where it overlaps no marker placed before it
    (largest first). With ``penalty`` (for spots x, y: the extra pixels each costs, e.g. none inside its
    own country, some at sea, more over another country), the free spot within ``INSIDE_PX`` of least
    distance plus penalty; else the nearest free spot (a leader line joins a moved marker to its
    anchor). Markers that find no room anywhere are left out (they stay in the list)."""
    placed: list[MapMarker] = []
    for marker in sorted(markers, key=lambda m: (-m.count, m.anchor_y, m.anchor_x, m.label)):
        r = marker.radius
        others = np.array([(o.x, o.y, o.radius) for o in placed], dtype="float64").reshape(-1, 3)
        best: tuple[float, float, float] | None = None  # cost, x, y
        for distance, xs, ys in _candidates(marker.anchor_x, marker.anchor_y, r):
            if best is not None and (distance >= best[0] or distance > INSIDE_PX):
                break  # nothing farther can cost less
            free = (xs >= r) & (xs <= width - r) & (ys >= r) & (ys <= height - r)
            if len(others):
                apart = (xs[:, None] - others[:, 0]) ** 2 + (ys[:, None] - others[:, 1]) ** 2 \
                    >= (r + others[:, 2] + GAP_PX) ** 2
                free &= apart.all(axis=1)
            spots = np.flatnonzero(free)
            if not len(spots):
                continue
            if penalty is None or distance > INSIDE_PX:
                cost, at = distance, int(spots[0])
            else:
                costs = distance + penalty(marker, xs[spots], ys[spots])
                cost, at = float(costs.min()), int(spots[int(np.argmin(costs))])
            if best is None or cost < best[0]:
                best = (cost, float(xs[at]), float(ys[at]))
            if penalty is None:
                break
        if best is not None:
            marker.x, marker.y = best[1], best[2]
            marker.moved = (marker.x - marker.anchor_x) ** 2 + (marker.y - marker.anchor_y) ** 2 > 1
            placed.append(marker)
    return placed


def name_markers(placed: list[MapMarker], width: float, height: float) -> None:
    """Write each marker's ``name`` beside it (right, left, above, below, then at a corner) where it overlaps no marker
    and no name written before it (largest first) and stays inside the map; the others show theirs on
    hover and focus only."""
    boxes = {id(m): (m.x - m.radius, m.y - m.radius, m.x + m.radius, m.y + m.radius) for m in placed}
    written: list[tuple[float, float, float, float]] = []
    for marker in sorted(placed, key=lambda m: (-m.count, m.y, m.x)):
        others = [box for key, box in boxes.items() if key != id(marker)]  # a corner name clears its own circle
        if not marker.name:
            continue
        w, h, r = len(marker.name) * NAME_PX * 0.56 + 4, NAME_PX * 1.25, marker.radius
        diagonal = r * 0.7  # a corner of the circle's bounding square, pulled in towards the circle
        options = [(marker.x + r + 3, marker.y - h / 2, "start"), (marker.x - r - 3 - w, marker.y - h / 2, "end"),
                   (marker.x - w / 2, marker.y - r - 2 - h, "middle"), (marker.x - w / 2, marker.y + r + 2, "middle"),
                   (marker.x + diagonal + 2, marker.y - diagonal - h, "start"),
                   (marker.x + diagonal + 2, marker.y + diagonal, "start"),
                   (marker.x - diagonal - 2 - w, marker.y - diagonal - h, "end"),
                   (marker.x - diagonal - 2 - w, marker.y + diagonal, "end")]
        for left, top, anchor in options:
            box = (left, top, left + w, top + h)
            if box[0] < 0 or box[1] < 0 or box[2] > width or box[3] > height:
                continue
            if any(box[0] < o[2] and o[0] < box[2] and box[1] < o[3] and o[1] < box[3] for o in others + written):
                continue
            written.append(box)
            marker.name_shown, marker.name_anchor = True, anchor
            marker.name_x = round({"start": left + 2, "end": left + w - 2, "middle": left + w / 2}[anchor], 1)
            marker.name_y = round(top + h * 0.8, 1)
            break


def _candidates(x: float, y: float, radius: float) -> Any:
    """Spots around (x, y), nearest first: (distance, xs, ys) for the anchor and then rings of spots,
    rounded to the 0.1 px a placed marker keeps (so the spot tested is the spot drawn)."""
    yield 0.0, np.round(np.array([x]), 1), np.round(np.array([y]), 1)
    step = max(4.0, radius * 0.6)
    for ring in range(1, 60):
        distance = ring * step
        angles = 2 * np.pi * np.arange(8 + ring * 4) / (8 + ring * 4) - np.pi / 2
        yield distance, np.round(x + distance * np.cos(angles), 1), np.round(y + distance * np.sin(angles), 1)


def country_radius(count: int, small: bool = False) -> float:
    """A marker's radius for ``count`` impact bonds (``small``: at world view, where Europe is crowded)."""
    if small:
        return round(min(22.0, 8.0 + 1.5 * math.sqrt(count)), 1)
    return round(min(26.0, 11.0 + 2.2 * math.sqrt(count)), 1)


@dataclass(frozen=True)
class MapPoints:
    """Delivery locations prepared once for every map: the valid points, each project's own point
    (the location nearest the mean of its locations, on its country's land) and its country, and, for
    countries without an outline, which points lie in them (their anchor is the median of the filtered
    projects' points there)."""

    project_ids: list[str]
    lng: np.ndarray
    lat: np.ndarray
    own_point: dict[str, tuple[float, float]]
    outside_outlines: dict[str, np.ndarray]  # country code -> positions in the arrays
    own_country: dict[str, str] = field(default_factory=dict)


def prepare_points(locations: pd.DataFrame) -> MapPoints:
    """``MapPoints`` from INDIGO's delivery locations table."""
    points = locations.dropna(subset=["lat_lng_lat", "lat_lng_lng", "project_id"])
    points = points[points["lat_lng_lat"].between(-90, 90) & points["lat_lng_lng"].between(-180, 180)]
    by_project: dict[str, list[tuple[float, float, str]]] = {}
    for project_id, lat, lng, code in sorted(zip(points["project_id"], points["lat_lng_lat"], points["lat_lng_lng"],
                                                 points["location_country"].fillna("").astype(str), strict=True)):
        by_project.setdefault(project_id, []).append((lng, lat, code))
    own_point, own_country = {}, {}
    for project_id, own in by_project.items():
        mean_lng = sum(p[0] for p in own) / len(own)
        mean_lat = sum(p[1] for p in own) / len(own)
        lng, lat, code = min(own, key=lambda p: ((p[0] - mean_lng) ** 2 + (p[1] - mean_lat) ** 2, p))
        own_point[project_id] = onto_land(code, lng, lat)
        own_country[project_id] = code
    shapes = outlines()
    country = points["location_country"].to_numpy(dtype=object)
    outside = {}
    for code in sorted({str(c) for c in country if isinstance(c, str)} - set(shapes)):
        outside[code] = np.flatnonzero(country == code)
    return MapPoints(list(points["project_id"]), points["lat_lng_lng"].to_numpy(dtype="float64"),
                     points["lat_lng_lat"].to_numpy(dtype="float64"), own_point, outside, own_country)


def densest_region(anchors: dict[str, tuple[float, float]],
                   counts: dict[str, int]) -> tuple[float, float, float, float] | None:
    """The bounds of the anchors inside the ``REGION``-sized window, centred on one of them, that holds
    the most impact bonds (Europe for the whole field); None without anchors."""
    located = [(code, anchors[code], count) for code, count in counts.items() if code in anchors and count]
    best: tuple[int, list[tuple[float, float]]] | None = None
    for _, (lng, lat), _ in sorted(located, key=lambda item: (-item[2], item[0])):
        inside = [(x, y, n) for _, (x, y), n in located
                  if abs(x - lng) <= REGION[0] / 2 and abs(y - lat) <= REGION[1] / 2]
        total = sum(n for _, _, n in inside)
        if best is None or total > best[0]:
            best = (total, [(x, y) for x, y, _ in inside])
    if best is None:
        return None
    xs, ys = [x for x, _ in best[1]], [y for _, y in best[1]]
    return min(xs), min(ys), max(xs), max(ys)


def build_map(frame: pd.DataFrame, locations: pd.DataFrame | MapPoints, counts: dict[str, int], whole_field: bool,
              country_href: Callable[[str], str], project_name: Callable[[str], str],
              box: tuple[float, float] | None = None, region: bool = False) -> dict[str, Any]:
    """Everything the map template draws for the filtered projects ``frame`` (derived rows).

    ``locations``: the delivery locations table or, faster, its ``prepare_points``; ``counts``:
    projects per country code (the figures' country breakdown); ``whole_field``: no filter, so the
    world view is shown; ``box``: the size of a zoomed view (see ``PHONE``); ``region``: instead of
    the world, the region holding the most of these impact bonds, still one marker per country
    (what a phone opens on).
    """
    shapes = outlines()
    prepared = locations if isinstance(locations, MapPoints) else prepare_points(locations)
    ids = set(frame["id"])
    anchors = {code: (shape["label"][0], shape["label"][1]) for code, shape in shapes.items()}
    for code, positions in prepared.outside_outlines.items():
        chosen = [i for i in positions if prepared.project_ids[i] in ids]
        if chosen:
            anchors[code] = (float(np.median(prepared.lng[chosen])), float(np.median(prepared.lat[chosen])))

    def project_point(project_id: str, codes: tuple[str, ...]) -> tuple[float, float, str] | None:
        own = prepared.own_point.get(project_id)
        if own is not None:
            return own[0], own[1], prepared.own_country.get(project_id, "")
        return next(((*anchors[c], c) for c in codes if c in anchors), None)

    project_points = {pid: project_point(pid, codes) for pid, codes in zip(frame["id"], frame["countries"],
                                                                            strict=True)}
    located = {pid: p for pid, p in project_points.items() if p is not None}
    bounds = densest_region(anchors, counts) if region else None
    if bounds is not None:
        view = fit_view(bounds, box)
    elif whole_field or not located or region:
        view = fit_view(None)
    else:
        lngs = [p[0] for p in located.values()]
        lats = [p[1] for p in located.values()]
        view = fit_view((min(lngs), min(lats), max(lngs), max(lats)), box)

    markers: list[MapMarker] = []
    if view.zoomed and not region:
        markers = _project_markers(view, located, project_name)
    else:
        for code, count in counts.items():
            if code not in anchors:
                continue
            x, y = view.xy(*anchors[code])
            if not (0 <= x <= view.width and 0 <= y <= view.height):
                continue
            name = country_name(code)
            noun = "impact bond" if count == 1 else "impact bonds"
            markers.append(MapMarker(x, y, count, f"{name}: {count} {noun}", country_href(code), "country",
                                     radius=country_radius(count, small=not view.zoomed), country=code, name=name))

    def penalty(marker: MapMarker, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Extra pixels each spot costs: none inside its own country (or for a country without an
        outline), ``SEA_PX`` at sea, ``ELSEWHERE_PX`` over another country."""
        out = np.zeros(len(xs))
        if marker.country not in shapes:
            return out
        lngs = xs / (view.scale * view.shrink) + view.lng_min
        lats = view.lat_max - ys / view.scale
        away = ~contains_many(marker.country, lngs, lats)
        if away.any():
            out[away] = np.where(on_other_land(lngs[away], lats[away], marker.country), ELSEWHERE_PX, SEA_PX)
        return out

    placed = place(markers, view.width, view.height, penalty)
    name_markers(placed, view.width, view.height)
    maximum = max(counts.values(), default=0)
    countries: list[dict[str, Any]] = []
    for code, shape in shapes.items():
        if not view.shows(shape["bbox"]):
            continue
        count = counts.get(code, 0)
        shade = 0 if count == 0 else 1 + min(4, int(4 * math.log1p(count) / math.log1p(maximum)))
        name = country_name(code)
        countries.append({"code": code, "name": name, "path": shape["path"], "count": count, "shade": shade,
                          "svg": _country_svg(code, name, count, shade)})
    placed_order = sorted(placed, key=lambda m: (m.y, m.x))  # reading order for the keyboard
    placed_ids = {id(m) for m in placed}
    shown = {m.country for m in placed if m.kind == "country"}
    land = _land_svg(tuple((c["code"], c["name"], c["count"], c["shade"]) for c in countries))
    return {"view": view, "markers": placed_order, "countries": countries, "land_svg": land,
            "left_out": [m for m in markers if id(m) not in placed_ids],
            "unmapped": sorted(c for c in counts if c not in anchors),
            "located_projects": len(located), "region": region,
            # impact bonds in none of the shown countries, each once (not a sum of countries' counts)
            "elsewhere": sum(1 for codes in frame["countries"] if codes and not shown.intersection(codes))
            if region else 0,
            "region_countries": sorted(shown, key=lambda c: -counts.get(c, 0)) if region else []}


@cache
def _escaped_path(code: str) -> str:
    return str(escape(outlines()[code]["path"]))


@lru_cache(maxsize=64)  # up to ~100 kB each (the world view)
def _land_svg(shown: tuple[tuple[str, str, int, int], ...]) -> Markup:
    """Every shown country's outline, joined once per set of (country, count, shade): the same countries
    with the same counts (most filters of one region) print one string instead of a loop of ~170."""
    return Markup("".join(_country_svg(*country) for country in shown))


@lru_cache(maxsize=8192)
def _country_svg(code: str, name: str, count: int, shade: int) -> Markup:
    """A country's outline as SVG (escaped here once, so the template prints it as it is): a link to
    its projects with its count when it has any."""
    path = _escaped_path(code)
    if not count:
        return Markup(f'<path class="shade-0" d="{path}"></path>')
    return Markup(f'<a href="/projects?country={escape(code)}" tabindex="-1" aria-hidden="true"><path '
                  f'class="shade-{shade}" d="{path}"><title>{escape(name)}: {count}</title></path></a>\n    ')


def _project_markers(view: View, located: dict[str, tuple[float, float, str]],
                     project_name: Callable[[str], str]) -> list[MapMarker]:
    """One marker per project, or per cluster of projects of one country closer than CLUSTER_PX on
    screen (anchored at its member nearest the cluster's centre: a real place, on its country's land)."""
    clusters: list[list[tuple[float, float, str]]] = []
    centres: list[tuple[float, float]] = []
    countries: list[str] = []
    for project_id, (lng, lat, code) in sorted(located.items(), key=lambda item: (item[1][1], item[1][0], item[0])):
        x, y = view.xy(lng, lat)
        if not (0 <= x <= view.width and 0 <= y <= view.height):
            continue
        near = next((i for i, (cx, cy) in enumerate(centres)
                     if countries[i] == code and (cx - x) ** 2 + (cy - y) ** 2 <= CLUSTER_PX ** 2), None)
        if near is None:
            clusters.append([(x, y, project_id)])
            centres.append((x, y))
            countries.append(code)
        else:
            clusters[near].append((x, y, project_id))
            members = clusters[near]
            centres[near] = (sum(m[0] for m in members) / len(members), sum(m[1] for m in members) / len(members))
    markers = []
    for members, (cx, cy), code in zip(clusters, centres, countries, strict=True):
        ids = tuple(sorted(m[2] for m in members))
        ax, ay, _ = min(members, key=lambda m: ((m[0] - cx) ** 2 + (m[1] - cy) ** 2, m[2]))
        if len(ids) == 1:
            name = str(project_name(ids[0]))
            short = name if len(name) <= NAME_CHARS else name[:NAME_CHARS - 1].rstrip() + "…"
            markers.append(MapMarker(ax, ay, 1, name, f"/projects/{ids[0]}", "project", ids, radius=9.0,
                                     country=code, name=short))
        else:
            names = "; ".join(project_name(i) for i in ids[:3]) + ("; …" if len(ids) > 3 else "")
            markers.append(MapMarker(ax, ay, len(ids), f"{len(ids)} impact bonds: {names}",
                                     "/projects?" + "&".join(f"id={i}" for i in ids), "cluster", ids,
                                     radius=country_radius(len(ids)), country=code))
    return markers
