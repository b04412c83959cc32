"""The dashboard's URL filters: parsing any query string, and the round trip through the URL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest
from conftest import require_chromium
from hypothesis import given
from hypothesis import strategies as st

from sibkit.errors import SibkitError
from sibkit.indigo import Filters
from sibkit.web.views import FILTER_KEYS, filters_from_query, query_of

words = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@given(st.dictionaries(st.sampled_from([*FILTER_KEYS, "id", "by", "other"]), st.lists(words, max_size=3)))
def test_any_query_gives_filters_or_one_clear_error(query: dict[str, list[str]]) -> None:
    try:
        filters = filters_from_query(query)
    except SibkitError as error:
        message = str(error)  # one line naming the parameter and what it expects
        assert "\n" not in message and message.startswith(("live_from=", "live_to=", "as_of="))
    else:
        assert isinstance(filters, Filters)


codes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2)
names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=10)


@given(st.builds(Filters, countries=st.lists(codes, unique=True).map(lambda c: tuple(sorted(c))),
                 sectors=st.lists(names, unique=True).map(lambda s: tuple(sorted(s))),
                 stages=st.lists(names, unique=True).map(lambda s: tuple(sorted(s))),
                 live_from=st.none() | st.integers(1990, 2100), live_to=st.none() | st.integers(1990, 2100),
                 as_of=st.none() | st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31))))
def test_filters_survive_the_round_trip_through_the_url(filters: Filters) -> None:
    url_query = urlencode(query_of(filters))
    assert filters_from_query(parse_qs(url_query)) == filters


def test_a_shared_view_reads_back_the_same_filters() -> None:
    query = parse_qs("country=gb&country=FR&sector=Homelessness&live_from=2016&live_to=2021&as_of=2020-06-30")
    assert filters_from_query(query) == Filters(countries=("FR", "GB"), sectors=("Homelessness",), live_from=2016,
                                                live_to=2021, as_of=dt.date(2020, 6, 30))


@pytest.mark.browser
def test_screenshots_are_png_files(tmp_path: Path, dataset) -> None:
    from sibkit.web import create_app
    from sibkit.web.server import screenshots

    require_chromium()
    written = screenshots(create_app(dataset), tmp_path / "shots")
    assert [p.name for p in written] == [f"{name}-{width}.png" for width in (1440, 390)
                                         for name in ("dashboard", "dashboard-uk", "explorer", "project")]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
