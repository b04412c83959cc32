"""The field over time says what its sums rest on. Worked out from the raw CSV files: 313 of the 319 projects
have a contract date (signed, else service start); of them 57 state no service users (actual or target)
and 56 no capital in USD."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_dashboard_over_time_says_how_many_lack_a_figure(dataset) -> None:
    from fastapi.testclient import TestClient

    from sibkit.web.app import create_app

    page = TestClient(create_app(dataset), base_url="http://127.0.0.1").get("/").text
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert ("Service users and capital are sums over the impact bonds that state them, nothing estimated: by "
            "2025-05-20, 57 of the 313 impact bonds state no service users and 56 no capital in USD.") in text


def test_cli_over_time_lists_the_missing_counts(indigo_dir: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sibkit", "indigo", "stats", "--data", str(indigo_dir), "--by",
                           "release"], capture_output=True, text=True, timeout=120, env={"COLUMNS": "250",
                                                                                          "PATH": "/usr/bin"})
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if "2025-05-20" in line and "│ 2025 " in line)
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert cells[:7] == ["2025", "2025-05-20", "313", "3,194,473", "57", "868,172,265", "56"]
