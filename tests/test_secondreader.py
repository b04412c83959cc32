"""The learned second reader: reproducible training, a file that is safe to load, flags and proposals in a real
SQLite study database that count only when the study says so, evaluation cross-validated on its own training
passages, and the packaged reader kept in step with the built-in codebook."""

from __future__ import annotations

import hashlib
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from sibkit.coding import case_theme_counts, export_rows, load_codebook, parse_codebook, references
from sibkit.corpus.extraction import Extracted
from sibkit.corpus.importer import store_document
from sibkit.errors import SibkitError
from sibkit.secondreader import LearnedReader, evaluate_with_reader, read_documents, train
from sibkit.secondreader.counting import READER_MODEL, READER_TERM
from sibkit.secondreader.files import packaged_path, staleness
from sibkit.secondreader.study import flagged_hits
from sibkit.secondreader.training import Examples
from sibkit.store import ReaderScore, Reference, Suggestion, open_store
from sibkit.study.model import Reader
from sibkit.testing import run_cli

CASE = "INDIGO-POJ-0121"
BOOK = parse_codebook("""
name: small
version: "1"
themes:
  - id: trust
    name: Trusted relationship
    terms: [trust*]
  - id: learning
    name: Mutual learning
    terms: [lessons learned]
""")
POSITIVE = ["The mentor became an adult she could trust at last.", "Young people said they trusted their link worker.",
            "Each coach built trust with the family over many months.", "She could finally trust someone to listen.",
            "The navigator earned the trust of every young person.", "Workers stayed long enough to be trusted."]
NEGATIVE = ["The trust fund paid the invoices every quarter.", "A charitable trust lent the working capital.",
            "The investment trust bought the outcomes bonds.", "Trustees of the fund approved the loan.",
            "The council paid the outcome payments on time.", "Investors were repaid with interest in 2020."]
LEARNING = ["Partners shared lessons learned with one another each month.",
            "The providers learned from each other's mistakes at joint workshops."]


def small_examples() -> Examples:
    examples = Examples(["trust", "learning"])
    for text in POSITIVE:
        examples.add(text, {"trust": 1, "learning": 0}, "test")
    for text in NEGATIVE:
        examples.add(text, {"trust": 0, "learning": 0}, "test")
    for text in LEARNING:
        examples.add(text, {"trust": 0, "learning": 1}, "test")
    return examples


@pytest.fixture(scope="module")
def reader() -> LearnedReader:
    return train(BOOK, small_examples(), seed=5, described="the test's sentences")


def test_training_is_reproducible(reader: LearnedReader) -> None:
    again = train(BOOK, small_examples(), seed=5, described="the test's sentences")
    assert again.to_bytes() == reader.to_bytes()  # same seed, same examples: the same file, byte for byte
    texts = ["A key worker she could trust.", "The trust fund closed."]
    assert np.array_equal(again.scores(texts), reader.scores(texts))
    loaded = LearnedReader.from_bytes(reader.to_bytes())
    assert np.array_equal(loaded.scores(texts), reader.scores(texts))
    assert loaded.both(texts)[1].shape == (2, 2)
    assert loaded.meta["seed"] == 5 and loaded.meta["codebook"] == "small 1" and len(loaded.examples) == 14
    # the sense head learned from texts the keywords found (trust*: six right, six other senses)
    assert loaded.meta["sense_heads"] == [True, False]
    _, sense = loaded.both(["Young people trusted their coach.", "The trust fund paid the invoices."])
    assert sense[0, 0] > sense[1, 0]


def _zip(members: dict[str, bytes]) -> bytes:
    body = io.BytesIO()
    with zipfile.ZipFile(body, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return body.getvalue()


def test_the_reader_file_is_safe_to_load(reader: LearnedReader, tmp_path: Path) -> None:
    data = reader.to_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    # an object array needs pickle to load: refused, nothing executed
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(SibkitError, match="cannot read"):
        LearnedReader.from_bytes(_zip({**members, "intercepts.npy": buffer.getvalue()}))
    with pytest.raises(SibkitError, match="cannot read"):
        LearnedReader.from_bytes(_zip({**members, "weights_data.npy": pickle.dumps([1, 2])}))
    with pytest.raises(SibkitError, match="cannot read"):
        LearnedReader.from_bytes(data[: len(data) // 2])
    with pytest.raises(SibkitError, match="not a sibkit reader"):
        LearnedReader.from_bytes(_zip({"meta.json": b'{"format": "other"}'}))
    path = reader.save(tmp_path / "small.reader")
    assert LearnedReader.load(path).to_bytes() == data
    with pytest.raises(SibkitError, match="no such reader file"):
        LearnedReader.load(tmp_path / "missing.reader")


def _store_with_documents(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    text = ("The trust fund paid the invoices every quarter. Her link worker listened and she trusted him.\n\n"
            "The coach stayed with the family for a year and they came to rely on him completely.")
    store_document(store, sha256=hashlib.sha256(text.encode()).hexdigest(),
                   extracted=Extracted(text=text, pages=[0], kind="text"), case_ids=[CASE], title="Evaluation",
                   doc_type="evaluation", origin="test")
    from sibkit.coding import code_documents

    code_documents(store, BOOK)
    return store, text


def test_flags_and_proposals_count_only_when_the_study_says(reader: LearnedReader, tmp_path: Path) -> None:
    store, text = _store_with_documents(tmp_path)
    keyword = references(store)
    assert sorted(keyword["text"]) == ["trust", "trusted"]
    # thresholds given: every keyword hit flagged, every other sentence of four words or more proposed
    report = read_documents(store, BOOK, reader, propose_at=0.0001, flag_below=0.9999)
    assert report.scored_hits == 2 and report.flagged == {"trust": 2}
    with store.session() as session:
        scores = session.scalars(select(ReaderScore)).all()
        proposals = session.execute(select(Reference.theme, Reference.start, Reference.term, Suggestion.model,
                                           Suggestion.score).join(Suggestion)).all()
    assert all(s.flagged and s.model.startswith(READER_MODEL) for s in scores)
    listed = flagged_hits(store)
    assert sorted(r["text"] for r in listed) == ["trust", "trusted"] and "fund paid" in str(listed[0]["right"]) + \
        str(listed[1]["right"])
    third = text.index("The coach")
    # trust: only the sentence without a trust hit; learning: all three sentences
    assert sorted((t, s) for t, s, *_ in proposals) == [("learning", 0), ("learning", text.index("Her link")),
                                                        ("learning", third), ("trust", third)]
    assert all(term == READER_TERM and model.startswith(READER_MODEL) for _, _, term, model, _ in proposals)
    kwargs = {"case_ids": [CASE], "themes": ["trust", "learning"]}
    before = case_theme_counts(store, **kwargs).set_index("theme")
    assert before.loc["trust", "effective_references"] == 2 and before.loc["learning", "effective_references"] == 0
    counted = case_theme_counts(store, **kwargs, count_learned=True).set_index("theme")
    assert counted.loc["trust", "effective_references"] == 1  # the two flagged hits out, the proposal in
    assert counted.loc["learning", "effective_references"] == 3
    # proposals go to review like the embedding suggestions: after the keyword hits, with their score
    rows = export_rows(store)
    assert list(rows["term"]).count(READER_TERM) == 4
    # a second read replaces the undecided proposals and the scores
    again = read_documents(store, BOOK, reader, propose_at=0.9999, flag_below=0.0)
    assert again.replaced == 4 and sum(again.proposed.values()) == 0 and again.flagged == {}
    assert Reader().count_unreviewed is False and Reader(count_unreviewed=True).count_unreviewed


def test_evaluation_cross_validates_the_readers_own_passages(reader: LearnedReader) -> None:
    import pandas as pd

    def frame(texts: list[str], themes: list[tuple[str, ...]]) -> pd.DataFrame:
        return pd.DataFrame({"id": [f"p{i}" for i in range(len(texts))], "split": "", "text": texts,
                             "themes": themes})

    own = small_examples()
    labels = [tuple(t for t, v in zip(own.themes, row, strict=True) if v == 1) for row in own.labels]
    seen = evaluate_with_reader(BOOK, frame(own.texts, labels), reader)
    assert seen.cross_validated == 14  # every passage was a training example: all scored out of fold
    fresh = ["Her key worker was someone she could trust.", "The trust paid for the building work.",
             "Lessons learned were shared between the partners.", "The council met the provider twice."]
    unseen = evaluate_with_reader(BOOK, frame(fresh, [("trust",), (), ("learning",), ()]), reader)
    assert unseen.cross_validated == 0
    # what the reader changed is exactly the difference between the two evaluations
    for result in (seen, unseen):
        fired_alone = result.alone.themes.set_index("theme")["fired"]
        fired_with = result.combined.themes.set_index("theme")["fired"]
        for row in result.table().itertuples():
            assert fired_with[row.theme] == fired_alone[row.theme] - row.flagged + row.proposed


def test_train_and_evaluate_from_the_command_line(tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.csv"
    rows = [(t, "trust") for t in POSITIVE] + [(t, "") for t in NEGATIVE] + [(t, "learning") for t in LEARNING]
    import csv

    with labelled.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "split", "text", "themes"])
        writer.writerows((f"p{i}", "dev", text, themes) for i, (text, themes) in enumerate(rows))
    book = tmp_path / "small.yaml"
    book.write_text("name: small\nversion: '1'\nthemes:\n  - id: trust\n    name: Trust\n    terms: ['trust*']\n"
                    "  - id: learning\n    name: Learning\n    terms: [lessons learned]\n")
    output = tmp_path / "small.reader"
    ran = run_cli("codebook", "train", str(book), "--labelled", str(labelled), "--split", "dev", "-o", str(output),
                  "--seed", "5")
    assert ran.returncode == 0, ran.stderr
    assert "Trained on 14 examples" in ran.stdout and output.exists()
    ran = run_cli("codebook", "evaluate", str(book), str(labelled), "--reader", str(output), "--json")
    assert ran.returncode == 0, ran.stderr
    import json

    payload = json.loads(ran.stdout)
    assert payload["cross_validated"] == 14 and {r["theme"] for r in payload["themes"]} == {"trust", "learning"}


def test_the_packaged_reader_is_trained_for_the_built_in_codebook() -> None:
    codebook = load_codebook("relational-sib")
    path = packaged_path(codebook)
    assert path.exists(), f"train it: sibkit codebook train relational-sib --labelled ... -o {path}"
    packaged = LearnedReader.load(path)
    assert staleness(packaged, codebook) is None, (
        "the built-in codebook changed since its reader was trained: run `sibkit codebook train relational-sib "
        "--labelled tests/data/relational-sib-labelled.csv --split dev --split hard-dev -o " + str(path) + "`")
    assert set(packaged.themes) == {t.id for t in codebook.themes if t.terms}
    assert set(packaged.meta["sources"]) == {"labelled relational-sib-labelled.csv dev",
                                             "labelled relational-sib-labelled.csv hard-dev"}


def test_a_reader_goes_stale_when_the_hits_can_change_and_not_when_the_words_about_them_do(
        reader: LearnedReader) -> None:
    assert staleness(reader, BOOK) is None
    trust, learning = BOOK.themes
    reworded = BOOK.model_copy(update={"version": "1.1", "description": "Edited.", "themes": [
        trust.model_copy(update={"name": "Trust", "description": "A trusted relationship."}), learning]})
    assert reworded.hash() != BOOK.hash() and staleness(reader, reworded) is None
    new_term = BOOK.model_copy(update={"themes": [trust.model_copy(update={"terms": [*trust.terms,
                                                                                     *learning.terms]}), learning]})
    assert "train it again" in (staleness(reader, new_term) or "")
    renamed = BOOK.model_copy(update={"themes": [trust.model_copy(update={"id": "trusting"}), learning]})
    assert "train it again" in (staleness(reader, renamed) or "")
    # a reader file written before the hits' own hash was recorded must match the whole codebook
    older = LearnedReader.from_bytes(reader.to_bytes())
    del older.meta["matching_hash"]
    assert staleness(older, BOOK) is None and "train it again" in (staleness(older, reworded) or "")
