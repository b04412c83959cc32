"""The offline map: outlines shipped in the package, views, and marker placement without overlap."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from sibkit.web.worldmap import GAP_PX, INSIDE_PX, NAME_PX, MapMarker, fit_view, name_markers, outlines, place


def test_outlines_ship_with_the_package() -> None:
    shapes = outlines()
    assert len(shapes) == 175 and {"GB", "US", "FR", "NL", "BE", "CH", "DE", "IN", "AU"} <= set(shapes)
    assert all(shape["path"].startswith("M") for shape in shapes.values())
    west, south, east, north = shapes["GB"]["bbox"]  # Great Britain and Northern Ireland
    assert -9 < west < -5 and 49 < south < 51 and 1 < east < 2.5 and 58 < north < 61


def test_a_country_is_shown_zoomed_in_and_the_world_is_not() -> None:
    assert not fit_view(None).zoomed
    uk = fit_view((-5.5, 50.0, 1.5, 57.5))
    assert uk.zoomed and 0 < uk.shrink < 1
    x, y = uk.xy(-2.0, 53.75)  # the centre of the bounds is the centre of the box
    assert abs(x - uk.width / 2) < 1 and abs(y - uk.height / 2) < 1
    assert not fit_view((-120.0, -40.0, 150.0, 60.0)).zoomed


anchors = st.lists(st.tuples(st.floats(0, 960), st.floats(0, 480), st.integers(1, 150)), max_size=60)


@settings(max_examples=60, deadline=None)
@given(anchors)
def test_placed_markers_never_overlap_and_stay_inside(points: list[tuple[float, float, int]]) -> None:
    markers = [MapMarker(x, y, count, f"m{i}", "/", "country", radius=min(26.0, 9 + count ** 0.5))
               for i, (x, y, count) in enumerate(points)]
    placed = place(markers, 960, 480)
    for i, a in enumerate(placed):
        assert a.radius <= a.x <= 960 - a.radius and a.radius <= a.y <= 480 - a.radius
        for b in placed[i + 1:]:
            assert (a.x - b.x) ** 2 + (a.y - b.y) ** 2 >= (a.radius + b.radius + GAP_PX) ** 2 - 1e-6
    if len(points) <= 30:
        assert len(placed) == len(points)  # room for everyone on a map this size


def _rings(code: str) -> list[list[tuple[float, float]]]:
    """The shipped outline's rings as (x, y) = (longitude, -latitude), read from its SVG path."""
    out = []
    for part in outlines()[code]["path"].split("M")[1:]:
        out.append([tuple(float(v) for v in pair.split()) for pair in part.rstrip("Z").split("L")])
    return out


def in_outline(code: str, lng: float, lat: float) -> bool:
    """Point in polygon by matplotlib (even-odd over the rings; a ring may run past 180° of longitude)."""
    from matplotlib.path import Path as Polygon

    polygons = [Polygon(ring) for ring in _rings(code)]
    return any(sum(p.contains_point((x, -lat)) for p in polygons) % 2 == 1 for x in (lng, lng + 360))


def test_every_country_label_point_lies_in_its_outline() -> None:
    outside = [code for code, shape in outlines().items() if not in_outline(code, *shape["label"])]
    assert outside == []  # Russia's used to be at 0° (its ring crosses 180°), west of the UK


MAP_FILTERS = [{}, {"country": ["GB"]}, {"country": ["US"]}, {"sector": ["Health"]},
               {"country": ["GB", "FR", "NL", "BE", "DE", "CH", "PT", "AT"]}]


def test_every_marker_stays_in_its_country_or_on_a_short_leader_line_at_every_zoom(dataset) -> None:
    from sibkit.web.views import Views, filters_from_query

    views = Views(dataset)
    for query in MAP_FILTERS:
        drawn = views.dashboard(filters_from_query(query))["map"]
        for draw in (drawn, drawn["phone"]):
            view = draw["view"]
            assert draw["left_out"] == []
            for marker in draw["markers"]:
                if marker.country not in outlines():
                    continue  # Hong Kong: no outline at 1:110m (drawn at the median of its locations)
                assert in_outline(marker.country, *view.lnglat(marker.anchor_x, marker.anchor_y)), \
                    (query, marker.label)  # the anchor: in the country
                if not in_outline(marker.country, *view.lnglat(marker.x, marker.y)):
                    leader = math.hypot(marker.x - marker.anchor_x, marker.y - marker.anchor_y)
                    assert marker.moved and leader <= INSIDE_PX, (query, marker.label, leader)
    world = {m.country: m for m in views.dashboard(filters_from_query({}))["map"]["markers"]}
    assert world["RU"].x > world["GB"].x + 200 and world["CH"].x > world["PT"].x  # no longer in the Atlantic
    assert sum(m.name_shown for m in world.values()) >= 20  # names written where they fit
    assert world["GB"].name_shown and world["US"].name_shown


def test_a_phone_opens_on_the_densest_region_and_a_filter_on_its_own_countries(dataset) -> None:
    from sibkit.web.views import Views, filters_from_query

    views = Views(dataset)
    phone = views.dashboard(filters_from_query({}))["map"]["phone"]
    shown = {m.country for m in phone["markers"]}
    assert {"GB", "FR", "NL", "PT"} <= shown and not shown & {"US", "CA", "AU", "JP"}  # Europe, not the Americas
    assert phone["region"] and phone["view"].width < phone["view"].height  # a portrait box
    # each of Europe's eleven countries has its name written (the Netherlands, hemmed in beside the UK,
    # Belgium and Germany, only at a corner of its circle)
    assert [m.country for m in phone["markers"] if not m.name_shown] == []
    us = views.dashboard(filters_from_query({"country": ["US"]}))["map"]["phone"]
    assert {m.country for m in us["markers"]} == {"US"}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(20, 380), st.floats(20, 500), st.integers(1, 150),
                          st.text("abcdefghij ", min_size=1, max_size=14)), max_size=25))
def test_written_names_stay_in_the_map_and_cover_no_other_marker_or_name(spots) -> None:
    markers = [MapMarker(x, y, count, name, "", "country", radius=6 + math.sqrt(count), x=x, y=y, name=name)
               for x, y, count, name in spots]
    name_markers(markers, 400.0, 520.0)
    boxes = []
    for marker in markers:
        if not marker.name_shown:
            continue
        width, height = len(marker.name) * NAME_PX * 0.56 + 4, NAME_PX * 1.25
        left = {"start": marker.name_x - 2, "end": marker.name_x - width + 2, "middle": marker.name_x - width / 2}[
            marker.name_anchor]
        top = marker.name_y - height * 0.8
        box = (left, top, left + width, top + height)
        assert min(box[0], box[1]) >= -0.06 and box[2] <= 400.06 and box[3] <= 520.06  # names rounded to 0.1
        for other in markers:
            if other is not marker:  # no name on another marker's circle (its bounding square)
                assert not (box[0] < other.x + other.radius - 0.11 and other.x - other.radius + 0.11 < box[2]
                            and box[1] < other.y + other.radius - 0.11 and other.y - other.radius + 0.11 < box[3])
        # and none on its own circle: the name's box keeps clear of the circle's centre by more than the radius
        nearest_x = min(max(marker.x, box[0]), box[2])
        nearest_y = min(max(marker.y, box[1]), box[3])
        assert math.hypot(nearest_x - marker.x, nearest_y - marker.y) >= marker.radius
        boxes.append(box)
    for i, one in enumerate(boxes):
        for two in boxes[i + 1:]:
            assert not (one[0] < two[2] - 0.11 and two[0] < one[2] - 0.11 and one[1] < two[3] - 0.11
                        and two[1] < one[3] - 0.11)
