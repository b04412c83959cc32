"""The recall audit: Wilson's interval worked by hand, a seeded sample of the sentences no counted hit touches
in a real SQLite study database, append-only marks (workbench and sheet), the per-theme estimate, and the
report section when nothing is measured yet."""

from __future__ import annotations

import csv
import hashlib
import math
import re
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import func, select

from sibkit.audit import draw_sample, export_sheet, import_sheet, instrument_error, mark, sampled_sentences, wilson
from sibkit.audit.sample import population
from sibkit.corpus.extraction import Extracted
from sibkit.corpus.importer import store_document
from sibkit.errors import SibkitError
from sibkit.store import AuditMark, Reference, ReviewDecision, open_store
from sibkit.web.server import BackgroundServer
from sibkit.workbench.routes import Workbench, standalone_app

CASE = "INDIGO-POJ-0121"
THEMES = [("partnership", "Partnership"), ("learning", "Mutual learning")]
HIT = "The provider and the council kept close partnership working all year."
UNHIT = [f"Sentence number {i} talks about the weather and nothing more." for i in range(1, 9)]
HOSTILE = 'The board wrote <script>alert("x")</script> in the minutes of that meeting.'
KNOWN = {t for t, _ in THEMES}


def _z() -> float:
    return 1.959963984540054  # the 0.975 quantile of the standard normal


def hand_wilson(x: int, n: int) -> tuple[float, float]:
    """Wilson's score interval written out (E. B. Wilson 1927): (p + z²/2n ± z √(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    z = _z()
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_wilson_interval_by_hand() -> None:
    # 3 of 50: p = 0.06, z² = 3.8415; centre 0.098415 / 1.076829 = 0.091393, half 0.070779
    low, high = wilson(3, 50)
    assert low == pytest.approx(0.020614, abs=2e-6) and high == pytest.approx(0.162171, abs=2e-6)
    assert (low, high) == pytest.approx(hand_wilson(3, 50), abs=1e-12)
    # none of 20: the lower bound is 0 and the upper z² / (n + z²) = 3.841459 / 23.841459
    assert wilson(0, 20) == pytest.approx((0.0, 3.841459 / 23.841459), abs=1e-6)
    assert wilson(20, 20)[1] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        wilson(0, 0)


def _document(store, sentences: list[str], title: str) -> tuple[int, str]:
    text = " ".join(sentences)
    outcome = store_document(store, sha256=hashlib.sha256(text.encode()).hexdigest(),
                             extracted=Extracted(text=text, pages=[0], kind="text"), case_ids=[CASE], title=title,
                             doc_type="evaluation", origin=title)
    return outcome.document_id, text


@pytest.fixture()
def study_store(tmp_path: Path):
    """Two documents: four sentences with a partnership hit (three accepted, one rejected on review), eight
    sentences and a hostile one with none."""
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    first, text = _document(store, [HIT.replace("year", f"year {i}") for i in range(4)] + UNHIT[:4], "First")
    _document(store, [*UNHIT[4:], HOSTILE], "Second")
    term = "partnership working"
    with store.session() as session:
        at = -1
        for decision in ("accept", "accept", "accept", "reject"):
            at = text.index(term, at + 1)
            reference = Reference(document_id=first, theme="partnership", term=term, start=at, end=at + len(term),
                                  page=1, origin="auto", codebook_hash="test")
            session.add(reference)
            session.flush()
            session.add(ReviewDecision(reference_id=reference.id, coder="ana", decision=decision))
    return store


def test_population_sample_marks_and_estimate(study_store) -> None:
    found = population(study_store)
    # 13 sentences; 3 hold a counted (accepted) hit; the rejected hit's sentence no longer counts
    assert found.sentences == 13 and found.hit_by_theme == {"partnership": 3} and len(found.unhit) == 10
    table = instrument_error(study_store, ["partnership", "learning"]).set_index("theme")
    assert table.loc["partnership", "precision"] == pytest.approx(0.75)  # 3 accepted of 4 reviewed
    assert table.loc["learning", "precision"] is None and table.loc["partnership", "miss_rate"] is None
    assert table.loc["partnership", "recall_basis"] == "no audit yet"

    draw = draw_sample(study_store, 6, seed=7)
    assert (draw.drawn, draw.population, draw.available) == (6, 10, 10)
    again = draw_sample(study_store, 100, seed=7)  # the rest: never a sentence twice
    assert (again.drawn, again.available) == (4, 4)
    sentences = sampled_sentences(study_store)
    assert len({(s["document_id"], s["start"]) for s in sentences}) == 10
    with pytest.raises(SibkitError, match="no sentence is left"):
        draw_sample(study_store, 1, seed=7)

    # two of the ten express partnership, one of them learning too; the rest none
    with study_store.session() as session:
        for s in sentences:
            themes = ["partnership"] if s["position"] in (1, 2) and s["sample_id"] == draw.sample_id else ["none"]
            if s["position"] == 1 and s["sample_id"] == draw.sample_id:
                themes = ["partnership", "learning"]
            assert mark(session, "ben", int(s["sentence_id"]), themes, KNOWN) is not None
        # the same mark again stores nothing; a changed one is appended, naming the one it follows
        first = int(sentences[0]["sentence_id"])
        assert mark(session, "ben", first, ["learning", "partnership"], KNOWN) is None
        with pytest.raises(SibkitError, match="not a theme"):
            mark(session, "ben", first, ["nonsense"], KNOWN)
    table = instrument_error(study_store, ["partnership", "learning"]).set_index("theme")
    row = table.loc["partnership"]
    assert (row["audited_sentences"], row["audit_hits"], row["unhit_sentences"]) == (10, 2, 10)
    assert row["miss_rate"] == pytest.approx(0.2)
    assert (row["miss_low"], row["miss_high"]) == pytest.approx(hand_wilson(2, 10), abs=1e-9)
    assert row["missed_estimate"] == pytest.approx(2.0)  # 0.2 x 10 unhit sentences
    # recall = H P / (H P + m U) = 3 x 0.75 / (2.25 + 2) = 0.529412
    assert row["recall"] == pytest.approx(2.25 / 4.25)
    assert row["recall_low"] == pytest.approx(2.25 / (2.25 + hand_wilson(2, 10)[1] * 10))
    learning = table.loc["learning"]
    assert learning["audit_hits"] == 1 and learning["precision"] is None
    assert learning["recall_basis"] == "hits taken as right (not reviewed yet)" and learning["recall"] == 0.0

    # a second coder disagrees on the first sentence: 1 of 2 coders is a tie, which counts as expressed
    with study_store.session() as session:
        mark(session, "cy", first, ["none"], KNOWN)
    assert instrument_error(study_store, ["partnership"]).iloc[0]["audit_hits"] == 2


def test_the_sheet_round_trip_appends_marks_and_names_bad_rows(study_store, tmp_path: Path) -> None:
    draw_sample(study_store, 5, seed=3)
    sheet = tmp_path / "audit.csv"
    assert export_sheet(study_store, sheet) == 5
    with sheet.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows[0]["themes"] = "partnership"
    rows[1]["themes"] = "none"
    rows[2]["themes"] = "nonsense"
    rows[3]["themes"] = "learning"
    rows[3]["fingerprint"] = "0" * 20  # tampered: refused, the others go on
    with sheet.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = import_sheet(study_store, sheet, "dee", KNOWN)
    assert (result.marks, result.blank, len(result.problems)) == (2, 1, 2)
    assert "row 4" in result.problems[0] and "nonsense" in result.problems[0]
    assert "row 5" in result.problems[1] and "fingerprint" in result.problems[1]
    again = import_sheet(study_store, sheet, "dee", KNOWN)
    assert (again.marks, again.repeated) == (0, 2)
    with study_store.session() as session:
        assert session.scalar(select(func.count(AuditMark.id))) == 2
    assert export_sheet(study_store, tmp_path / "left.csv", coder="dee") == 3  # what dee has not marked


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_the_workbench_audit_page(study_store) -> None:
    draw_sample(study_store, 10, seed=1)
    hostile = next(s for s in sampled_sentences(study_store) if "script" in str(s["text"]))
    bench = Workbench(study_store, THEMES, title="Audit", single_user="eve")
    with BackgroundServer(standalone_app(bench)) as server, httpx.Client(base_url=server.url) as client:
        page = client.get(f"/review/audit?sentence={hostile['sentence_id']}")
        assert page.status_code == 200
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text and "<script>alert" not in page.text
        # keyboard: a key per theme box, save, none, skip; every box a labelled checkbox
        for key in ('data-key="1"', 'data-key="2"', 'data-key="k"', 'data-key="n"', 'data-key="s"'):
            assert key in page.text
        assert page.text.count('type="checkbox" name="theme"') == 2
        token = _csrf(page.text)
        form = {"sentence_id": str(hostile["sentence_id"]), "theme": "learning"}
        assert client.post("/review/audit/mark", data=form).status_code == 403  # no token
        refused = client.post("/review/audit/mark", data={**form, "csrf": token},
                              headers={"Sec-Fetch-Site": "cross-site"})
        assert refused.status_code == 403
        saved = client.post("/review/audit/mark", data={**form, "csrf": token})
        assert saved.status_code == 303
        none = client.post("/review/audit/mark", data={"sentence_id": str(hostile["sentence_id"]), "none": "1",
                                                       "csrf": token})
        assert none.status_code == 303
        with study_store.session() as session:
            marks = session.execute(select(AuditMark.coder, AuditMark.themes, AuditMark.previous_id)
                                    .order_by(AuditMark.id)).all()
        assert [(c, t) for c, t, _ in marks] == [("eve", ["learning"]), ("eve", [])]
        assert marks[1][2] is not None  # the second names the first: append-only
        page = client.get("/review/audit")
        assert "1 of 10" in page.text
        results = client.get("/review/audit/results")
        assert results.status_code == 200 and "0.75" in results.text and "Wilson 95%" in results.text


def test_the_audit_context_is_cut_at_a_paragraph_or_a_space_with_an_ellipsis(tmp_path: Path) -> None:
    from sibkit.audit.web import CONTEXT, _context

    store = open_store(f"sqlite:///{tmp_path / 'context.sqlite'}")
    filler = "word " * 200  # 1,000 characters of one paragraph either side
    sentence = "The audited sentence."
    document, text = _document(store, ["Heading.\n\nShort before.", sentence, "Short after.\n\nNext paragraph."],
                               "Paragraphs")
    long_id, long_text = _document(store, [filler + "Wordy.", sentence, filler], "Long")
    with store.session() as session:
        start = text.index(sentence)
        assert _context(session, document, start, start + len(sentence)) == ("Short before. ", " Short after.")
        start = long_text.index(sentence)
        before, after = _context(session, long_id, start, start + len(sentence))
    # the window of 400 characters cuts the paragraph: never half a word, and an ellipsis says so
    assert before.startswith("… word ") and before.endswith("Wordy. ") and len(before) <= CONTEXT + 2
    assert after.endswith(" word …") and "wor …" not in after and len(after) <= CONTEXT + 2


def test_report_section_before_any_review_or_audit(tmp_path: Path) -> None:
    from sibkit.report.render import environment
    from sibkit.secondreader.study import reader_summary

    store = open_store(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    _document(store, UNHIT[:3], "Only")
    table = instrument_error(store, ["partnership"])
    section = {"rows": table.to_dict("records"), "attrs": dict(table.attrs),
               "reader": reader_summary(store, SimpleNamespace(count_unreviewed=False))}
    html = environment().get_template("_instrument.html.j2").render(r=SimpleNamespace(instrument=section),
                                                                     names={"partnership": "Partnership"})
    assert "not reviewed yet" in html and "no audit yet" in html and "No audit yet" in html
    assert "was not run on this study" in html
    assert 'id="instrument-error"' in html and "Partnership" in html


def test_the_audit_command_after_a_draw_says_what_to_do_and_prints_precision_to_two_places(
        tmp_path: Path, indigo_dir: Path) -> None:
    from conftest import every_item_example

    from sibkit.corpus import open_study_store
    from sibkit.study import load_study
    from sibkit.testing import run_cli

    study_path = tmp_path / "study.yaml"
    study_path.write_text(every_item_example(indigo_dir).replace("codebook: relational-sib", "codebook: tiny.yaml"),
                          encoding="utf-8")
    (tmp_path / "tiny.yaml").write_text(
        "name: tiny\nthemes:\n  - {id: partnership, name: Partnership, terms: [partnership working]}\n"
        "  - {id: coproduction, name: Co-production, terms: ['co-produc*']}\n", encoding="utf-8")
    (tmp_path / "corpus" / "INDIGO-POJ-0110").mkdir(parents=True)
    (tmp_path / "corpus" / "INDIGO-POJ-0110" / "interim.txt").write_text(
        "Partnership working was close. Plans were co-produced with residents. The weather was fine all week. "
        "Staff met every single week. Nothing else happened that month.", encoding="utf-8")
    for command in (("corpus", "add", str(study_path)), ("code", str(study_path))):
        assert run_cli(*command).returncode == 0
    store = open_study_store(load_study(study_path))
    with store.session() as session:  # one hit accepted, the other rejected
        for reference in session.scalars(select(Reference)):
            session.add(ReviewDecision(reference_id=reference.id, coder="ana",
                                       decision="accept" if reference.theme == "partnership" else "reject"))
    done = run_cli("review", "audit", str(study_path), "--sample", "2")
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    # 5 sentences of 4 words or more; the accepted hit's counts, the rejected one's does not: 4 without one
    assert "Drew 2 of 4 sentences not drawn before (seed" in out
    assert "2 sentences drawn, none marked yet: mark them at /review/audit" in out and "No audit yet" not in out
    rows = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
            for line in done.stdout.splitlines() if line.startswith("│")}
    assert rows["partnership"][:2] == ["1", "1.00"] and rows["coproduction"][:2] == ["1", "0.00"]
