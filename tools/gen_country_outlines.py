"""Write ``src/sibkit/web/data/countries-110m.json``: simplified country outlines for the offline map.

Source: Natural Earth 1:110m Admin 0 countries (public domain, https://www.naturalearthdata.com/),
as redistributed in TopoJSON by the npm package ``world-atlas`` (version 2, ISC licence). Get it with
``npm pack world-atlas@2 && tar xzf world-atlas-2.*.tgz`` and run::

    python tools/gen_country_outlines.py package/countries-110m.json

The output maps ISO 3166-1 alpha-2 codes (via pycountry) to an SVG path in plain degrees
(x = longitude, y = -latitude, one decimal), plus the outline's bounding box and a label point
(the centre of its largest ring's bounding box). Nothing is fetched at run time.
"""

from __future__ import annotations

import itertools
import json
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
            "label": [round((min(lngs) + max(lngs)) / 2, 1), round((min(lats) + max(lats)) / 2, 1)],
        }
    body = {"source": "Natural Earth 1:110m Admin 0 countries, public domain (naturalearthdata.com), via the npm "
                      "package world-atlas 2 (ISC); converted by tools/gen_country_outlines.py",
            "countries": dict(sorted(countries.items()))}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(body, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {len(countries)} countries)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
