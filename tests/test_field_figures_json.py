"""``sibkit indigo stats --json`` is valid JSON (RFC 8259: no NaN) for every breakdown of the shared export;
a group whose projects all lack a figure has null, not NaN (worked out from the raw CSV files by hand:
Ethiopia's one project, INDIGO-POJ-0231, states no service users; Hong Kong's one, INDIGO-POJ-0259, no
capital; the one project live in 2026, INDIGO-POJ-0336, no service users)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def strict(text: str) -> dict:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in JSON output")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("by", ["country", "sector", "stage", "year"])
def test_stats_json_has_no_nan(indigo_dir: Path, by: str) -> None:
    done = subprocess.run([sys.executable, "-m", "sibkit", "indigo", "stats", "--data", str(indigo_dir), "--by", by,
                           "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = {row[by]: row for row in strict(done.stdout)["breakdown"]}
    if by == "country":
        assert rows["ET"]["projects"] == 1 and rows["ET"]["service_users"] is None
        assert rows["ET"]["service_users_missing"] == 1
        assert rows["HK"]["capital_raised_usd"] is None and rows["HK"]["capital_missing"] == 1
    if by == "year":
        assert rows["2026"]["projects"] == 1 and rows["2026"]["service_users"] is None
