"""The offline map: outlines shipped in the package, views, and marker placement without overlap."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sibkit.web.worldmap import GAP_PX, MapMarker, fit_view, outlines, place


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
            assert (a.x - b.x) ** 2 + (a.y - b.y) ** 2 >= (a.radius + b.radius + GAP_PX) ** 2 - 1
    if len(points) <= 30:
        assert len(placed) == len(points)  # room for everyone on a map this size
