"""Parsers for INDIGO values: numbers, partial dates and country codes."""

from __future__ import annotations

import datetime as dt
import math
import re
from functools import lru_cache

PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def parse_number(raw: object) -> float | None:
    """A float from a JSON number or text (``1,000`` accepted); None when empty.

    Raises ValueError when the text is not a number.
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a number")
    if isinstance(raw, (int, float)):
        return None if isinstance(raw, float) and math.isnan(raw) else float(raw)
    text = str(raw).strip()
    if not text:
        return None
    if _THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{raw!r} is not a number") from None
    if math.isinf(value) or math.isnan(value):
        raise ValueError(f"{raw!r} is not a finite number")
    return value


def parse_partial_date(raw: object) -> str | None:
    """A partial date ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` kept at its precision.

    Raises ValueError for anything else, including impossible months or days.
    """
    if raw is None:
        return None
    text = str(raw).strip()
    if not text:
        return None
    match = PARTIAL_DATE.fullmatch(text)
    if not match:
        raise ValueError(f"{raw!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
    year, month, day = match.groups()
    try:
        dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise ValueError(f"{raw!r} is not a real date") from None
    return text


def date_floor(partial: object) -> dt.date | None:
    """The first day a partial date can mean (``2018`` -> 2018-01-01); None when missing."""
    if partial is None or (isinstance(partial, float) and math.isnan(partial)):
        return None
    try:
        text = str(partial)
    except TypeError:
        return None
    match = PARTIAL_DATE.fullmatch(text)
    if not match:
        return None
    year, month, day = match.groups()
    return dt.date(int(year), int(month or 1), int(day or 1))


@lru_cache(maxsize=1)
def _iso_codes() -> frozenset[str]:
    import pycountry  # its import reads package metadata: only when a country is checked

    return frozenset(country.alpha_2 for country in pycountry.countries)


def country_code_problem(code: str) -> str | None:
    """Why ``code`` is not an ISO 3166-1 alpha-2 code (None when it is one): the same words everywhere."""
    text = code.strip().upper()
    if text in _iso_codes():
        return None
    hint = "the United Kingdom is GB" if text in ("UK", "EN", "ENG") else "e.g. GB, US, FR"
    return f"{code!r} is not an ISO 3166-1 alpha-2 country code ({hint})"


def unknown_value_problem(kind: str, value: str, known: list[str]) -> str | None:
    """Why ``value`` is not one of the dataset's ``known`` values of a field (None when it is)."""
    if value.casefold() in {k.casefold() for k in known}:
        return None
    return f"{value!r} is not a {kind} in the dataset (values: {', '.join(known)})"


def parse_country(raw: object) -> str | None:
    """An ISO 3166-1 alpha-2 code in upper case; None when empty.

    Raises ValueError when the text is not a known alpha-2 code.
    """
    if raw is None:
        return None
    text = str(raw).strip().upper()
    if not text:
        return None
    if text not in _iso_codes():
        raise ValueError(f"{raw!r} is not an ISO 3166-1 alpha-2 country code")
    return text


@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    """A country's short English name from its alpha-2 code (``GB`` -> ``United Kingdom``); the code
    itself when unknown."""
    import pycountry

    country = pycountry.countries.get(alpha_2=str(code).upper())
    if country is None:
        return str(code)
    common = getattr(country, "common_name", None)
    if common:
        return common
    # ISO's inverted forms read in order: "Congo, The Democratic Republic of the" -> "Democratic Republic
    # of the Congo", "Palestine, State of" -> "State of Palestine", "Virgin Islands, British" -> "British
    # Virgin Islands"; a list ("Bonaire, Sint Eustatius and Saba") stays
    head, comma, rest = country.name.partition(", ")
    if comma and (rest.endswith(" of") or rest.endswith(" of the") or " " not in rest):
        return f"{rest.removeprefix('The ')} {head}"
    return country.name
