"""Reviewed coding reaches the report: a case whose hits were all rejected counts no references,
is no longer associated, and the report says its coding was reviewed rather than automatic."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from conftest import every_item_example
from typer.testing import CliRunner

from sibkit.cli import app
from sibkit.coding.agreement import OVERALL

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "uk-sibs-2016-2021.yaml"
REJECTED_CASE = "INDIGO-POJ-0182"  # a struggling case whose INDIGO record has automatic hits


def _sibkit(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_rejected_hits_are_not_counted_and_the_report_says_so(tmp_path: Path, indigo_dir: Path) -> None:
    study = tmp_path / "study.yaml"
    study.write_text(re.sub(r"(?m)^data: .*$", f"data: {indigo_dir}", every_item_example()),
                     encoding="utf-8")
    _sibkit("corpus", "add-indigo", str(study))
    _sibkit("code", str(study))
    _sibkit("review", "export", str(study), "--case", REJECTED_CASE, "-o", str(tmp_path / "review.csv"))
    hits = _rows(tmp_path / "review.csv")
    assert hits, f"{REJECTED_CASE} has no automatic hits to review"
    rejected_themes = {hit["theme"] for hit in hits}
    with (tmp_path / "review.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(hits[0]))
        writer.writeheader()
        writer.writerows({**hit, "decision": "reject"} for hit in hits)
    _sibkit("review", "import", str(study), str(tmp_path / "review.csv"), "--coder", "tester")
    _sibkit("review", "import", str(study), str(tmp_path / "review.csv"), "--coder", "second")  # agrees

    _sibkit("run", str(study))
    report = tmp_path / "report"
    own = [row for row in _rows(report / "case-theme-matrix.csv") if row["case_id"] == REJECTED_CASE]
    for row in own:
        if row["theme"] in rejected_themes:
            assert row["reviewed"] == "True" and int(row["effective_references"]) == 0, row
            assert int(row["references"]) > 0 and row["associated"] == "False", row
    html = (report / "report.html").read_text(encoding="utf-8")
    agreement = {row["theme"]: row for row in _rows(report / "agreement.csv")}
    pooled = agreement[OVERALL]  # the mean of the themes' figures; units summed over themes
    assert pooled["coders"] == "second, tester" and pooled["units"] == str(len(hits))
    assert float(pooled["percent_agreement"]) == 1.0
    assert "<h2>Agreement between coders</h2>" in html and "2 coders (second, tester)" in html
    corpus_section = html.split("<h2>Corpus</h2>", 1)[1]
    corpus_row = re.search(rf"<td>{REJECTED_CASE}(?: †)?</td>.*?</tr>", corpus_section, flags=re.DOTALL)
    assert corpus_row and "accepted references (reviewed)" in corpus_row.group(0)
    unreviewed_note = next((note for note in re.findall(r'<div class="note">(.*?)</div>', html, flags=re.DOTALL)
                            if "unreviewed automatic coding" in note), "")
    assert REJECTED_CASE not in unreviewed_note
