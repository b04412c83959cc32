"""Negation (and a hit's zone) shown wherever a hit is shown, and overruled by a coder: the kwic table and
its JSON, the review XLSX, the workbench's badge and its "counts anyway" decision, and how each decision
reaches the case x theme table. A real SQLite study, the command line and a real HTTP server."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import httpx
import openpyxl
import pytest

from sibkit.coding import case_theme_counts, code_documents, import_decisions, kwic, parse_codebook, references
from sibkit.coding.review import decision_log, export_rows, write_review_file
from sibkit.corpus.extraction import Extracted
from sibkit.corpus.importer import store_document
from sibkit.store import open_store
from sibkit.testing import run_cli
from sibkit.web.server import BackgroundServer
from sibkit.workbench.routes import Workbench, standalone_app

BOOK = """
name: small
themes:
  - id: coproduction
    name: Co-production
    terms: [co-produc*]
"""
# hits: "co-produced" (negated: "not" just before it), "co-production" (counts), and that sentence repeated
# word for word at the end (its zone is "repeat")
TEXT = ("At first the plan was not co-produced. Later, co-production with parents grew.\n\n"
        "Later, co-production with parents grew.")
THEMES = [("coproduction", "Co-production")]


@pytest.fixture()
def study(tmp_path: Path):
    book = tmp_path / "small.yaml"
    book.write_text(BOOK, encoding="utf-8")
    (tmp_path / "study.yaml").write_text("title: Negation\ncodebook: small.yaml\n", encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    store_document(store, sha256=hashlib.sha256(TEXT.encode()).hexdigest(),
                   extracted=Extracted(text=TEXT, pages=[0], kind="text"), case_ids=["A"], title="notes.txt",
                   doc_type="evaluation", origin="notes.txt")
    code_documents(store, parse_codebook(BOOK))
    return store, tmp_path


def _ids(store) -> dict[str, int]:  # type: ignore[no-untyped-def]
    refs = references(store)
    return {"negated": int(refs.loc[refs["negated"], "reference_id"].iloc[0]),
            "counted": int(refs.loc[~refs["negated"] & (refs["zone"] == "body"), "reference_id"].iloc[0]),
            "repeat": int(refs.loc[refs["zone"] == "repeat", "reference_id"].iloc[0])}


def _effective(store) -> int:  # type: ignore[no-untyped-def]
    return int(case_theme_counts(store, ["A"], ["coproduction"]).set_index("case_id").loc["A", "effective_references"])


def _reviewed(store) -> tuple[bool, int]:  # type: ignore[no-untyped-def]
    """(the case and theme count as reviewed, accepted references that count)"""
    row = case_theme_counts(store, ["A"], ["coproduction"]).set_index("case_id").loc["A"]
    return bool(row["reviewed"]), int(row["accepted_references"])


def test_kwic_shows_negation_and_zone_and_counts_for_only_what_counts(study) -> None:
    store, _ = study
    table = kwic(store, "coproduction", width=20).set_index("reference_id")
    ids = _ids(store)
    assert (table.loc[ids["negated"], "negated"], table.loc[ids["negated"], "counts_for"],
            table.loc[ids["negated"], "why_not"]) == (True, None, "in a negated clause")
    assert (table.loc[ids["counted"], "negated"], table.loc[ids["counted"], "counts_for"],
            table.loc[ids["counted"], "why_not"]) == (False, "coproduction", "")
    assert (table.loc[ids["repeat"], "zone"], table.loc[ids["repeat"], "counts_for"]) == ("repeat", None)
    assert table.loc[ids["repeat"], "why_not"] == "in a sentence repeated from earlier in the document"
    assert _effective(store) == 1  # only the body's unnegated hit
    # the study may count negated hits; never the repeat
    assert kwic(store, "coproduction", count_negated=True).set_index("reference_id").loc[
        ids["negated"], "counts_for"] == "coproduction"


def test_kwic_json_and_table_on_the_command_line(study) -> None:
    _, folder = study
    done = run_cli("kwic", str(folder / "study.yaml"), "coproduction", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["text"] + ("@end" if row["zone"] == "repeat" else ""): row for row in json.loads(done.stdout)}
    assert (rows["co-produced"]["negated"], rows["co-produced"]["counts_for"],
            rows["co-produced"]["why_not"]) == (True, None, "in a negated clause")
    assert rows["co-production"]["counts_for"] == "coproduction" and rows["co-production@end"]["zone"] == "repeat"
    table = run_cli("kwic", str(folder / "study.yaml"), "coproduction", "--width", "20")
    assert table.returncode == 0, table.stderr
    lines = [line for line in table.stdout.splitlines() if "co-produc" in line]
    assert "NOT co-produced" in lines[0] and "not counted: in a negated clause" in lines[0]
    assert "not counted" not in lines[1] and "not counted: in a sentence repeated" in lines[2]
    assert "3 references; 2 do not count" in table.stdout


def test_the_review_xlsx_has_a_negated_column_and_overrule_reaches_the_counts(study) -> None:
    store, folder = study
    ids = _ids(store)
    path = folder / "review.xlsx"
    write_review_file(export_rows(store), path)
    book = openpyxl.load_workbook(path)
    sheet = book["review"]
    header = [cell.value for cell in sheet[1]]
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert rows[ids["negated"]][header.index("negated")].value == "yes"
    assert rows[ids["counted"]][header.index("negated")].value is None  # empty cell
    assert rows[ids["repeat"]][header.index("zone")].value == "a sentence repeated from earlier in the document"
    # ann accepts the negated hit: the theme is confirmed but the hit stays negated, out of every count
    # (the unreviewed body hit still counts, and the case and theme are not reviewed yet)
    rows[ids["negated"]][header.index("decision")].value = "accept"
    book.save(path)
    assert import_decisions(store, path, "ann", {"coproduction"}).decisions == 1
    assert (_reviewed(store), _effective(store)) == ((False, 0), 1)
    # bob overrules: one accept and one overrule is no majority for counting despite the negation
    rows[ids["negated"]][header.index("decision")].value = "overrule"
    book.save(path)
    assert import_decisions(store, path, "bob", {"coproduction"}).decisions == 1
    assert (_reviewed(store), _effective(store)) == ((False, 0), 1)
    import_decisions(store, path, "cy", {"coproduction"})  # a second overrule: now it counts, as a reviewed hit
    assert (_reviewed(store), _effective(store)) == ((True, 1), 1)
    refs = references(store).set_index("reference_id")
    assert refs.loc[ids["negated"], "overruled"] and refs.loc[ids["negated"], "counts"]
    assert list(decision_log(store)["decision"]) == ["accept", "overrule", "overrule"]


def test_the_workbench_shows_a_negated_badge_and_counts_an_overruled_hit(study) -> None:
    store, _ = study
    ids = _ids(store)
    bench = Workbench(store, THEMES, single_user="ann")
    with BackgroundServer(standalone_app(bench)) as server, httpx.Client(base_url=server.url) as client:
        page = client.get(f"/review/queue?status=all&ref={ids['negated']}")
        assert page.status_code == 200
        assert int(re.search(r'data-reference="(\d+)"', page.text).group(1)) == ids["negated"]  # type: ignore[union-attr]
        assert 'id="negated-badge"' in page.text and 'id="overrule"' in page.text
        assert "As it stands this hit does not count (in a negated clause)" in page.text
        counted = client.get(f"/review/queue?status=all&ref={ids['counted']}")
        assert 'id="negated-badge"' not in counted.text and 'id="overrule"' not in counted.text
        repeat = client.get(f"/review/queue?status=all&ref={ids['repeat']}")
        assert 'id="zone-badge"' in repeat.text and "in a sentence repeated from earlier" in repeat.text
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        answer = client.post("/review/decide", data={"csrf": token, "reference_id": ids["negated"],
                                                     "decision": "overrule", "next": "/review/queue"})
        assert answer.status_code == 303
        accepted = client.get("/review/queue?status=accepted")  # an overrule is an accept
        assert f'data-reference="{ids["negated"]}"' in accepted.text
    assert list(decision_log(store)["decision"]) == ["overrule"]
    # the overruled hit is the case's only reviewed one: it counts (the unreviewed ones no longer do)
    assert (_reviewed(store), _effective(store)) == ((True, 1), 1)
    assert references(store).set_index("reference_id").loc[ids["negated"], "overruled"]
