"""The map's country totals and the phone map's "more elsewhere" note, against the raw CSV files of the
shared export (worked out with the csv module: a project's countries are its delivery locations'
countries plus its jurisdiction)."""

from __future__ import annotations

import re

from sibkit.web.views import Views, filters_from_query

# impact bonds per country over the whole field (a project in two countries counts in both)
COUNTRIES = {"GB": 100, "US": 28, "FR": 25, "PT": 23, "JP": 18, "NL": 18, "AU": 15, "DK": 13, "CA": 9, "KR": 6,
             "IN": 5, "RU": 5, "BE": 4, "FI": 4, "ZA": 4, "CM": 3, "CL": 3, "CO": 3, "DE": 3, "KE": 3, "NZ": 3,
             "SL": 3, "AT": 2, "KH": 2, "IL": 2, "NG": 2, "AE": 2, "AR": 1, "CD": 1, "ET": 1, "HK": 1, "JO": 1,
             "ML": 1, "MX": 1, "PE": 1, "PS": 1, "SE": 1, "CH": 1, "TR": 1, "UG": 1, "UY": 1}
EUROPE = {"FI", "SE", "DK", "NL", "GB", "DE", "BE", "AT", "FR", "CH", "PT"}  # the phone map's eleven markers


def test_map_country_totals(dataset) -> None:
    drawn = Views(dataset).dashboard(filters_from_query({}))["map"]
    assert dict(drawn["counts"]) == COUNTRIES
    assert sum(COUNTRIES.values()) == 322  # 319 projects: INDIGO-POJ-0043 in two countries, -0057 in three


def test_elsewhere_counts_each_impact_bond_once(dataset) -> None:
    # 322 - 194 (the eleven countries' counts) = 128 country entries elsewhere, but Kenya and Uganda share
    # INDIGO-POJ-0043 and DR Congo, Mali and Nigeria INDIGO-POJ-0057: 125 impact bonds in none of the eleven
    phone = Views(dataset).dashboard(filters_from_query({}))["map"]["phone"]
    assert set(phone["region_countries"]) == EUROPE
    assert phone["elsewhere"] == 125


def test_elsewhere_note_says_what_it_counts(dataset) -> None:
    from fastapi.testclient import TestClient

    from sibkit.web.app import create_app

    page = TestClient(create_app(dataset), base_url="http://127.0.0.1").get("/").text
    note = re.search(r'<p class="map-note small"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "(11 countries); 125 more impact bonds elsewhere" in " ".join(note.split())
