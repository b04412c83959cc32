"""Each capital figure says what it rests on: of the projects without a USD figure, how many state their
capital only in another currency (never converted). Worked out from the raw CSV files: five projects have
an amount but no USD amount and a currency other than USD, INDIGO-POJ-0162, -0299, -0300 and -0318 in
GBP, INDIGO-POJ-0205 in EUR (5,100,000); in the UK, the four GBP ones."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sibkit.indigo.figures import Filters, stats


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_stats_counts_capital_in_another_currency(dataset) -> None:
    assert stats(dataset)["capital_not_converted"] == 5
    assert stats(dataset, Filters(countries=("GB",)))["capital_not_converted"] == 4
    assert stats(dataset, Filters(countries=("SL",)))["capital_not_converted"] == 0


def test_cli_says_how_many_lack_a_usd_figure_and_why(indigo_dir: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sibkit", "indigo", "stats", "--data", str(indigo_dir)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Capital raised: USD 884,504,730 (56 projects without a USD figure; 5 of them state it only in " \
           "another currency, not converted)" in " ".join(done.stdout.split())  # wrapped to the terminal


@pytest.fixture(scope="module")
def client(dataset):
    from fastapi.testclient import TestClient

    from sibkit.web.app import create_app

    return TestClient(create_app(dataset), base_url="http://127.0.0.1")


def test_dashboard_capital_says_what_it_leaves_out(client) -> None:
    page = words(client.get("/").text)
    assert "based on 263 of 319 projects; 5 more state it only in EUR or GBP, not converted" in page
    uk = words(client.get("/?country=GB").text)
    assert "4 more state it only in GBP, not converted" in uk


def test_project_page_flag_names_the_currency(client) -> None:
    page = words(client.get("/projects/INDIGO-POJ-0205").text)
    assert "capital raised only in EUR (5,100,000) in INDIGO, not in USD: not in USD totals" in page
    assert "no capital raised (USD) in INDIGO" not in page
    sierra = words(client.get("/projects/INDIGO-POJ-0274").text)  # stated in USD: counted, no flag
    assert "capital raised" not in sierra.split("Data-quality flags")[-1].split("Sources and documents")[0]
