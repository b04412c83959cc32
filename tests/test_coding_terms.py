"""Negated references in the counts, ``codebook terms`` and ``codebook diff``, on a real SQLite study
whose figures are worked out by hand."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from sibkit.coding import (
    case_theme_counts,
    code_documents,
    codebook_diff,
    diff_summary,
    parse_codebook,
    references,
    term_table,
)
from sibkit.corpus.extraction import Extracted
from sibkit.corpus.importer import store_document
from sibkit.store import Reference, ReviewDecision, open_store

BOOK = """
name: small
version: "1"
themes:
  - id: partnership
    name: Partnership
    terms: [partnership working, joint working]
  - id: coproduction
    name: Co-production
    terms: [co-produc*, co-design*]
"""
NEW_BOOK = """
name: small
version: "2"
themes:
  - id: partnership
    name: Partnership
    terms: [joint working, close]
  - id: coproduction
    name: Co-production
    terms: [co-produc*, co-design*]
"""
DOC1 = "Partnership working was close. There was no joint working at first. Plans were co-produced."
DOC2 = "Partnership working grew; partnership working held."
DOC3 = "Joint working and co-production."


def add_text(store, text: str, case_ids: list[str]) -> int:
    return store_document(store, sha256=hashlib.sha256(text.encode()).hexdigest(),
                          extracted=Extracted(text=text, pages=[0], kind="text"), case_ids=case_ids,
                          title=text[:12], doc_type="evaluation", origin=text[:12]).document_id


@pytest.fixture()
def coded(tmp_path: Path):
    """Three documents coded with BOOK and four review decisions:
    doc1 'Partnership working' accepted, doc2's first 'partnership working' rejected, doc3 'Joint
    working' recoded to coproduction, doc1 'co-produced' accepted."""
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    docs = [add_text(store, DOC1, ["A"]), add_text(store, DOC2, ["A", "B"]), add_text(store, DOC3, ["C"])]
    code_documents(store, parse_codebook(BOOK))
    with store.session() as session:
        def ref(doc: int, start: int) -> int:
            return session.scalar(select(Reference.id).where(Reference.document_id == docs[doc],
                                                             Reference.start == start))
        for reference_id, decision, new_theme in ((ref(0, 0), "accept", None), (ref(1, 0), "reject", None),
                                                  (ref(2, 0), "recode", "coproduction"),
                                                  (ref(0, DOC1.index("co-produced")), "accept", None)):
            session.add(ReviewDecision(reference_id=reference_id, coder="ann", decision=decision, new_theme=new_theme))
    return store, docs


def test_negated_hits_are_stored_marked_and_left_out_of_counts(coded) -> None:
    store, docs = coded
    refs = references(store)
    negated = refs[refs["negated"]]
    assert negated[["document_id", "term", "start", "end"]].values.tolist() == [
        [docs[0], "joint working", DOC1.index("joint"), DOC1.index("joint") + len("joint working")]]
    # case A, partnership: doc1 'Partnership working' (accepted) and 'joint working' (negated), doc2 two
    # hits (one rejected); the negated one counts only when asked
    counts = case_theme_counts(store, ["A"], ["partnership"]).iloc[0]
    assert (counts["references"], counts["accepted_references"], counts["effective_references"]) == (3, 1, 1)
    with_negated = case_theme_counts(store, ["A"], ["partnership"], count_negated=True).iloc[0]
    assert with_negated["references"] == 4


def test_term_table_worked_out_by_hand(coded) -> None:
    store, _ = coded
    table = term_table(store, parse_codebook(BOOK)).set_index(["theme", "term"])
    columns = ["hits", "negated", "reviewed", "accepted", "rejected", "recoded", "cases"]
    # 3 hits: doc1 accepted (A), doc2 rejected, doc2 unreviewed (A, B) -> precision 1/2, cases A and B
    assert table.loc[("partnership", "partnership working"), columns].tolist() == [3, 0, 2, 1, 1, 0, 2]
    assert table.loc[("partnership", "partnership working"), "precision"] == 0.5
    # 2 hits: doc1 negated and unreviewed (reaches no case), doc3 recoded -> precision 0, no case
    assert table.loc[("partnership", "joint working"), columns].tolist() == [2, 1, 1, 0, 0, 1, 0]
    assert table.loc[("partnership", "joint working"), "precision"] == 0.0
    # doc1 accepted (A), doc3 unreviewed (C)
    assert table.loc[("coproduction", "co-produc*"), columns].tolist() == [2, 0, 1, 1, 0, 0, 2]
    assert table.loc[("coproduction", "co-design*"), columns].tolist() == [0, 0, 0, 0, 0, 0, 0]
    assert math.isnan(table.loc[("coproduction", "co-design*"), "precision"])


def test_codebook_diff_worked_out_by_hand(coded) -> None:
    store, docs = coded
    old, new = parse_codebook(BOOK), parse_codebook(NEW_BOOK)
    diff = codebook_diff(old, new, store)
    # NEW drops 'partnership working' (3 references, one accepted, one rejected) and adds 'close' (doc1)
    assert diff[["change", "theme", "term", "document_id", "text", "review"]].values.tolist() == [
        ["added", "partnership", "close", docs[0], "close", ""],
        ["removed", "partnership", "partnership working", docs[0], "Partnership working", "accepted"],
        ["removed", "partnership", "partnership working", docs[1], "Partnership working", "rejected"],
        ["removed", "partnership", "partnership working", docs[1], "partnership working", ""],
    ]
    assert diff_summary(diff, old, new).values.tolist() == [["partnership", 1, 3, 1], ["coproduction", 0, 0, 0]]
    assert codebook_diff(old, old, store).empty


def test_cli_terms_and_diff(coded, tmp_path: Path) -> None:
    (tmp_path / "old.yaml").write_text(BOOK, encoding="utf-8")
    (tmp_path / "new.yaml").write_text(NEW_BOOK, encoding="utf-8")
    study = tmp_path / "study.yaml"
    study.write_text("title: t\ncodebook: old.yaml\ncorpus:\n  database: study.sqlite\n", encoding="utf-8")

    def sibkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sibkit", *args], capture_output=True, text=True, timeout=120,
                              cwd=tmp_path)

    done = sibkit("codebook", "terms", str(study), "--json")
    assert done.returncode == 0, done.stderr
    rows = {(r["theme"], r["term"]): r for r in json.loads(done.stdout)}
    assert rows[("partnership", "partnership working")]["precision"] == 0.5
    assert rows[("coproduction", "co-design*")]["precision"] is None
    done = sibkit("codebook", "diff", "old.yaml", "new.yaml", str(study))
    assert done.returncode == 0, done.stderr
    assert "small 1 -> small 2: 1 reference added, 3 removed" in done.stdout
    bad = sibkit("codebook", "terms", str(study), "--theme", "nope")
    assert bad.returncode == 2 and "no theme 'nope'" in bad.stderr
