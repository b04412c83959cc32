"""``review_standing``: the database keeps each coder's latest decision per reference beside the append-only
log, whoever appends (any order of times, equal times, undo, an existing log when the table is added), on
SQLite and PostgreSQL. Expected values are computed here from the log rows, in Python."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from sibkit.store import ReviewDecision, ReviewStanding, Store, open_store
from sibkit.store import _alembic_config as alembic_config
from sibkit.workbench import hits
from sibkit.workbench.sample import THEMES, add_sample_corpus

CODERS = ("ann", "bob", "cy")
DECISIONS = ("accept", "reject", "recode", "clear")
BASE = dt.datetime(2026, 5, 1, 9, 0, 0)


def expected(store: Store) -> dict[tuple[str, int], tuple[int, str, str | None]]:
    """(coder, reference) -> (decision id, decision, new theme) of the latest row by (time, id), in Python."""
    with store.session() as session:
        rows = session.execute(select(ReviewDecision.coder, ReviewDecision.reference_id, ReviewDecision.decided_at,
                                      ReviewDecision.id, ReviewDecision.decision, ReviewDecision.new_theme)).all()
    latest: dict[tuple[str, int], tuple[dt.datetime, int, str, str | None]] = {}
    for coder, reference, at, number, decision, theme in rows:
        key = (coder, reference)
        if key not in latest or (at, number) > latest[key][:2]:
            latest[key] = (at, number, decision, theme)
    return {key: (number, decision, theme) for key, (_, number, decision, theme) in latest.items()}


def kept(store: Store) -> dict[tuple[str, int], tuple[int, str, str | None]]:
    with store.session() as session:
        rows = session.execute(select(ReviewStanding.coder, ReviewStanding.reference_id, ReviewStanding.decision_id,
                                      ReviewStanding.decision, ReviewStanding.new_theme)).all()
    return {(coder, reference): (number, decision, theme) for coder, reference, number, decision, theme in rows}


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list[int]]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('standing') / 'study.sqlite'}")
    return store, add_sample_corpus(store, documents=2, references_per_document=3)


decision_rows = st.lists(st.tuples(st.sampled_from(CODERS), st.integers(0, 5), st.sampled_from(DECISIONS),
                                   st.integers(0, 4)), min_size=1, max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=decision_rows)
def test_the_standing_decision_is_the_latest_by_time_then_id(sqlite_store, rows) -> None:
    """Rows appended in any order of time (equal times too, where the larger id wins), one by one and in
    bulk: the table always equals the latest row per coder and reference."""
    store, references = sqlite_store
    values = [{"reference_id": references[r], "coder": coder, "decision": decision, "note": "",
               "new_theme": "learning" if decision == "recode" else None,
               "decided_at": BASE + dt.timedelta(minutes=minute)} for coder, r, decision, minute in rows]
    half = len(values) // 2
    with store.session(write=True) as session:
        if half:
            session.execute(insert(ReviewDecision), values[:half])  # several rows in one statement
        for value in values[half:]:
            session.add(ReviewDecision(**value))
    assert kept(store) == expected(store)


def test_workbench_writes_and_undo_keep_it(sqlite_store) -> None:
    store, references = sqlite_store
    themes = {t for t, _ in THEMES}
    with store.session(write=True) as session:
        first = hits.decide(session, "dee", references[0], "accept", None, themes)
        second = hits.decide(session, "dee", references[0], "recode", "learning", themes)
    assert kept(store)[("dee", references[0])] == (second, "recode", "learning")
    with store.session(write=True) as session:
        assert hits.undo(session, "dee") == references[0]
    (restored_id, decision, theme) = kept(store)[("dee", references[0])]
    assert (decision, theme) == ("accept", None) and restored_id > second
    with store.session() as session:
        assert session.get(ReviewDecision, restored_id).previous_id == second
        assert session.get(ReviewDecision, second).previous_id == first
    assert kept(store) == expected(store)


def test_the_migration_builds_it_from_an_existing_log(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    store = open_store(url, migrate=False)
    config = alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "suggestions")  # the schema before review_standing
    references = add_sample_corpus(store, documents=1, references_per_document=3)
    with store.session(write=True) as session:
        session.execute(insert(ReviewDecision), [
            {"reference_id": references[0], "coder": "ann", "decision": "accept", "decided_at": BASE, "note": ""},
            {"reference_id": references[0], "coder": "ann", "decision": "reject", "decided_at": BASE, "note": ""},
            {"reference_id": references[1], "coder": "ann", "decision": "reject",
             "decided_at": BASE + dt.timedelta(hours=1), "note": ""},
            {"reference_id": references[1], "coder": "ann", "decision": "accept", "decided_at": BASE, "note": ""},
            {"reference_id": references[1], "coder": "bob", "decision": "clear", "decided_at": BASE, "note": ""},
        ])
    store.close()
    store = open_store(url)
    assert {key: value[1] for key, value in kept(store).items()} == {
        ("ann", references[0]): "reject", ("ann", references[1]): "reject", ("bob", references[1]): "clear"}
    assert kept(store) == expected(store)


@pytest.mark.postgres
def test_postgresql_keeps_it_too(postgres) -> None:
    store = open_store(postgres.new_database())
    references = add_sample_corpus(store, documents=1, references_per_document=3)
    themes = {t for t, _ in THEMES}
    with store.session(write=True) as session:
        session.execute(insert(ReviewDecision), [
            {"reference_id": references[0], "coder": "ann", "decision": "accept", "note": "",
             "decided_at": BASE + dt.timedelta(hours=2)},
            {"reference_id": references[0], "coder": "ann", "decision": "reject", "note": "", "decided_at": BASE},
            {"reference_id": references[1], "coder": "bob", "decision": "reject", "note": "", "decided_at": BASE},
            {"reference_id": references[1], "coder": "bob", "decision": "accept", "note": "", "decided_at": BASE},
        ])
    with store.session(write=True) as session:
        hits.decide(session, "cy", references[2], "recode", "learning", themes)
    assert {key: value[1:] for key, value in kept(store).items()} == {
        ("ann", references[0]): ("accept", None), ("bob", references[1]): ("accept", None),
        ("cy", references[2]): ("recode", "learning")}
    assert kept(store) == expected(store)
