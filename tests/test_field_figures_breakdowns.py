"""The dashboard's breakdowns against the raw CSV files (read with the csv module): live year is the start
of service provision, else the date the outcomes contract was signed; one project (INDIGO-POJ-0336, start
2026-03) goes live after the release's date (2025-05-20), six have neither date."""

from __future__ import annotations

import re

import pytest


@pytest.fixture(scope="module")
def page(dataset) -> str:
    from fastapi.testclient import TestClient

    from sibkit.web.app import create_app

    return TestClient(create_app(dataset), base_url="http://127.0.0.1").get("/").text


def bars(page: str, title: str) -> dict[str, str]:
    start = page.index(title)
    table = page[start:page.index("</table>", start)]
    return {" ".join(re.sub(r"<[^>]+>", " ", label).split()): " ".join(re.sub(r"<[^>]+>", " ", value).split())
            for label, value in re.findall(r'<th scope="row">(.*?)</th>.*?<td class="n">(.*?)</td>', table, re.S)}


def test_year_live_counts(page) -> None:
    years = bars(page, "Impact bonds by year live")
    assert years == {"2010": "1", "2011": "0", "2012": "13", "2013": "8", "2014": "6", "2015": "26", "2016": "21",
                     "2017": "41", "2018": "48", "2019": "44", "2020": "32", "2021": "30", "2022": "18",
                     "2023": "17", "2024": "6", "2025": "1", "2026": "1", "not in INDIGO": "6"}


def test_stage_and_sector_counts(page) -> None:
    assert bars(page, "Impact bonds by stage") == {"Implementation": "196", "Complete": "122", "Contracted": "1"}
    assert bars(page, "Impact bonds by policy sector") == {
        "Employment and training": "95", "Health": "55", "Education": "51", "Child and family welfare": "47",
        "Homelessness": "38", "Criminal justice": "19", "Agriculture and environment": "11", "Poverty reduction": "3"}


def test_the_breakdowns_say_what_year_live_means(page) -> None:
    note = re.search(r'<p class="muted small" id="breakdown-notes">(.*?)</p>', page, re.S)
    assert note is not None
    text = " ".join(note.group(1).split())
    assert "Year live: the year service provision started, or is planned to start" in text
    assert "else the year the outcomes contract was signed" in text
