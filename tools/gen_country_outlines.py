"""Write ``src/sibkit/web/data/countries-110m.json``: simplified country outlines for the offline map.

Source: Natural Earth 1:110m Admin 0 countries (public domain, https://www.naturalearthdata.com/),
as redistributed in TopoJSON by the npm package ``world-atlas`` (version 2, ISC licence). Get it with
``npm pack world-atlas@2 && tar xzf world-atlas-2.*.tgz`` and run::

    python tools/gen_country_outlines.py package/countries-110m.json

The output maps ISO 3166-1 alpha-2 codes (via pycountry) to an SVG path in plain degrees
(x = longitude, y = -latitude, one decimal), plus the outline's bounding box and a label point: the
point of its largest ring (by area) farthest from every edge of the outline, found on finer and finer
grids (a pole of inaccessibility, so that it lies inside the country, holes left out, even for a
crescent such as Croatia or a ring across the antimeridian such as Russia's). Nothing is fetched at
run time. ``--relabel`` recomputes only the label points of the file already shipped::

    python tools/gen_country_outlines.py --relabel
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from pathlib import Path

import pycountry

OUT = Path(__file__).resolve().parents[1] / "src" / "sibkit" / "web" / "data" / "countries-110m.json"
# Natural Earth 110m features without an ISO numeric code in world-atlas: name -> alpha-2
BY_NAME = {"Kosovo": "XK", "N. Cyprus": None, "Somaliland": None}


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Absolute longitude/latitude points of every arc (TopoJSON delta-encoded, quantized)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring_points(ring: list[int], arcs: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for index in ring:
        arc = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        points.extend(arc if not points else arc[1:])
    return points


def unwrapped(ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A ring crossing the antimeridian (Russia's Chukotka, Fiji) continues past 180° instead of
    jumping back to -180° (which would draw a band across the whole map)."""
    if all(abs(a[0] - b[0]) <= 180 for a, b in itertools.pairwise(ring)):
        return ring
    return [(lng + 360 if lng < 0 else lng, lat) for lng, lat in ring]


def path_of(rings: list[list[tuple[float, float]]]) -> str:
    parts = []
    for ring in map(unwrapped, rings):
        coords = []
        last = None
        for lng, lat in ring:
            point = (round(lng, 1), round(-lat, 1))
            if point != last:
                coords.append(f"{point[0]:g} {point[1]:g}")
                last = point
        if len(coords) >= 3:
            parts.append("M" + "L".join(coords) + "Z")
    return "".join(parts)


def inside(rings: list[list[tuple[float, float]]], x: float, y: float) -> bool:
    """Even-odd rule over every ring (a point in a hole, e.g. Lesotho in South Africa, is outside)."""
    crossings = 0
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                crossings += 1
    return crossings % 2 == 1


def edge_distance(rings: list[list[tuple[float, float]]], x: float, y: float) -> float:
    """Distance in degrees (longitudes shrunk by the cosine of the latitude) to the nearest edge."""
    shrink = math.cos(math.radians(y))
    best = math.inf
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            ax, ay, bx, by = (x1 - x) * shrink, y1 - y, (x2 - x) * shrink, y2 - y
            dx, dy = bx - ax, by - ay
            length = dx * dx + dy * dy
            t = 0.0 if length == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length))
            best = min(best, math.hypot(ax + t * dx, ay + t * dy))
    return best


def area(ring: list[tuple[float, float]]) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True))) / 2


def label_point(rings: list[list[tuple[float, float]]]) -> tuple[float, float]:
    """The point of the largest ring farthest from the outline's edges (grids of 24 x 24, three times finer)."""
    rings = [unwrapped(ring) for ring in rings]
    largest = max(rings, key=area)
    west, east = min(p[0] for p in largest), max(p[0] for p in largest)
    south, north = min(p[1] for p in largest), max(p[1] for p in largest)
    best, best_distance = ((west + east) / 2, (south + north) / 2), -1.0
    for _ in range(4):
        step_x, step_y = (east - west) / 24, (north - south) / 24
        for i in range(25):
            for j in range(25):
                x, y = west + i * step_x, south + j * step_y
                if inside(rings, x, y):
                    distance = edge_distance(rings, x, y)
                    if distance > best_distance:
                        best, best_distance = (x, y), distance
        west, east = best[0] - 2 * step_x, best[0] + 2 * step_x
        south, north = best[1] - 2 * step_y, best[1] + 2 * step_y
    return best


def rings_of_path(path: str) -> list[list[tuple[float, float]]]:
    """The rings (longitude, latitude) of a path written by ``path_of``."""
    rings = []
    for part in path.split("M")[1:]:
        points = [tuple(float(v) for v in pair.split()) for pair in part.rstrip("Z").split("L")]
        rings.append([(x, -y) for x, y in points])
    return rings


def label_of(rings: list[list[tuple[float, float]]]) -> list[float]:
    x, y = label_point(rings)
    return [round(x - 360 if x > 180 else x, 2), round(y, 2)]


def relabel() -> None:
    """Recompute the label points of the shipped file from its own paths."""
    body = json.loads(OUT.read_text(encoding="utf-8"))
    for shape in body["countries"].values():
        shape["label"] = label_of(rings_of_path(shape["path"]))
    OUT.write_text(json.dumps(body, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"relabelled {OUT} ({len(body['countries'])} countries)")


def alpha_2(numeric: str | None, name: str) -> str | None:
    if numeric:
        country = pycountry.countries.get(numeric=numeric)
        if country is not None:
            return country.alpha_2
    return BY_NAME.get(name)


def main(source: Path) -> None:
    topology = json.loads(source.read_text(encoding="utf-8"))
    arcs = decode_arcs(topology)
    countries: dict[str, dict] = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        name = geometry["properties"]["name"]
        code = alpha_2(geometry.get("id"), name)
        if code is None:
            print(f"skipped {name!r}: no ISO code", file=sys.stderr)
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        rings = [ring_points(ring, arcs) for polygon in polygons for ring in polygon]
        largest = max(rings, key=lambda r: (max(p[0] for p in r) - min(p[0] for p in r))
                      * (max(p[1] for p in r) - min(p[1] for p in r)))
        lngs, lats = [p[0] for p in largest], [p[1] for p in largest]
        countries[code] = {
            "path": path_of(rings),
            "bbox": [round(min(lngs), 1), round(min(lats), 1), round(max(lngs), 1), round(max(lats), 1)],
            "label": label_of(rings),
        }
    body = {"source": "Natural Earth 1:110m Admin 0 countries, public domain (naturalearthdata.com), via the npm "
                      "package world-atlas 2 (ISC); converted by tools/gen_country_outlines.py",
            "countries": dict(sorted(countries.items()))}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(body, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {len(countries)} countries)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--relabel"]:
        relabel()
    else:
        main(Path(sys.argv[1]))
