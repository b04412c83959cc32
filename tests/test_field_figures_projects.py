"""Five project pages of the shared export against its raw CSV files (values read with the csv module):
no dates (INDIGO-POJ-0076), three countries (-0057), 33 outcome metrics and capital as a range (-0175),
capital only in EUR (-0205), capital in USD with the Amount USD columns empty (-0274), two flags that
differ only in their column (-0043)."""

from __future__ import annotations

import re

import pytest


@pytest.fixture(scope="module")
def client(dataset):
    from fastapi.testclient import TestClient

    from sibkit.web.app import create_app

    return TestClient(create_app(dataset), base_url="http://127.0.0.1")


def summary(client, project_id: str) -> str:
    page = client.get(f"/projects/{project_id}").text
    block = re.search(r'<dl class="summary">(.*?)</dl>', page, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", block).split())


def test_a_project_without_dates(client) -> None:
    text = summary(client, "INDIGO-POJ-0076")
    assert "Outcomes contract signed not in INDIGO Service start not in INDIGO Service end 2019-08" in text
    assert "Service users targeted 100 Service users engaged 100 (100% of target)" in text
    assert "Capital raised South Korean Won 1,110,000,000 (USD 956,539)" in text


def test_a_project_in_three_countries(client) -> None:
    text = summary(client, "INDIGO-POJ-0057")
    assert "Where Democratic Republic of the Congo , Mali , Nigeria" in text
    assert "Service users targeted 3,600" in text and "Capital raised USD 19,700,000" in text


def test_capital_given_as_a_range_says_so(client) -> None:
    # Amount Min 3,469,613 and Max 5,875,970 GBP, no exact amount; USD Min 4,428,025.55
    text = summary(client, "INDIGO-POJ-0175")
    assert ("Capital raised GBP 3,469,613 (USD 4,428,026) the lower end of a range up to GBP 5,875,970; "
            "totals count the lower end") in text
    text = summary(client, "INDIGO-POJ-0274")  # Min 1,013,507, Max 1,320,000, currency USD
    assert "Capital raised USD 1,013,507 the lower end of a range up to USD 1,320,000" in text
    assert "range" not in summary(client, "INDIGO-POJ-0205")  # an exact amount
    page = client.get("/projects/INDIGO-POJ-0175").text
    assert "Outcome metrics (33)" in page


def test_two_problems_in_two_columns_are_two_flags(client) -> None:
    page = client.get("/projects/INDIGO-POJ-0043").text
    flags = re.search(r'<ul class="flags">(.*?)</ul>', page, re.S).group(1)
    items = [" ".join(re.sub(r"<[^>]+>", " ", li).split()) for li in re.findall(r"<li>(.*?)</li>", flags, re.S)]
    assert len(items) == 2 and len(set(items)) == 2
    assert any("dates_source_ids" in item for item in items)
    assert any("service_and_beneficiaries_source_ids" in item for item in items)


def test_a_metric_target_is_told_apart_from_a_target_number_of_service_users(client) -> None:
    # INDIGO-POJ-0274's two metrics: no targeted number of service users, "Outcome metric target" 10376 and 0.164
    page = client.get("/projects/INDIGO-POJ-0274").text
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "(0 of 2 metrics have a target number of service users, 0 have results)" in text
    cells = [" ".join(re.sub(r"<[^>]+>", " ", c).split())
             for c in re.findall(r'<td data-label="Target" class="n">(.*?)</td>', page, re.S)]
    assert cells == ["not in INDIGO metric target: 10376", "not in INDIGO metric target: 0.164"]
    page = client.get("/projects/INDIGO-POJ-0057").text  # 3,600 targeted in its first metric
    cells = [" ".join(re.sub(r"<[^>]+>", " ", c).split())
             for c in re.findall(r'<td data-label="Target" class="n">(.*?)</td>', page, re.S)]
    assert cells[0].startswith("3,600 service users")
