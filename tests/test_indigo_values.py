"""Property tests for the INDIGO value parsers."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sibkit.indigo.values import date_floor, parse_country, parse_number, parse_partial_date


@given(st.dates(min_value=dt.date(1000, 1, 1)), st.sampled_from([4, 7, 10]))
def test_partial_dates_keep_their_precision(day: dt.date, width: int) -> None:
    text = day.isoformat()[:width]
    assert parse_partial_date(text) == text
    floor = date_floor(text)
    assert floor is not None and floor <= day and floor.year == day.year


@given(st.text())
def test_partial_date_parser_accepts_only_valid_dates(text: str) -> None:
    try:
        parsed = parse_partial_date(text)
    except ValueError:
        return
    if parsed is not None:
        parts = [int(p) for p in parsed.split("-")] + [1, 1]
        dt.date(parts[0], parts[1], parts[2])  # must be a real date


@pytest.mark.parametrize("text", ["2018-13", "2018-02-30", "18", "2018/01", "Jan 2018"])
def test_bad_dates_raise(text: str) -> None:
    with pytest.raises(ValueError):
        parse_partial_date(text)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_round_trip_through_text(value: float) -> None:
    assert parse_number(repr(value)) == value
    assert parse_number(value) == value


@pytest.mark.parametrize(("text", "value"), [("1,000", 1000.0), ("12,345.5", 12345.5), (" 7 ", 7.0), ("", None)])
def test_number_forms(text: str, value: float | None) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["$1,350,000", "C$1.3M", "3000 (later revised to 944)", "1,00", "nan", "inf"])
def test_not_numbers_raise(text: str) -> None:
    with pytest.raises(ValueError):
        parse_number(text)


def test_country_codes() -> None:
    assert parse_country("gb") == "GB"
    assert parse_country("") is None
    with pytest.raises(ValueError, match="ISO 3166"):
        parse_country("UK")


def test_country_names_read_in_order() -> None:
    from sibkit.indigo.values import country_name

    assert [country_name(code) for code in ("GB", "KR", "CD", "PS", "VG", "BQ", "XX")] == [
        "United Kingdom", "South Korea", "Democratic Republic of the Congo", "State of Palestine",
        "British Virgin Islands", "Bonaire, Sint Eustatius and Saba", "XX"]
