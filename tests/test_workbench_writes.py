"""The workbench's writes on SQLite: those arriving together share a transaction, and one that fails costs
itself only (a refusal, or a database error after which each is written alone)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from sibkit.errors import SibkitError
from sibkit.store import ReviewDecision, open_store
from sibkit.workbench import hits
from sibkit.workbench.routes import Workbench
from sibkit.workbench.sample import THEMES, add_sample_corpus

THEME_IDS = {t for t, _ in THEMES}


def test_writes_together_keep_the_good_ones(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    references = add_sample_corpus(store, documents=1, references_per_document=3)
    bench = Workbench(store, list(THEMES), single_user="ann")

    def decide(coder: str, reference: int, decision: str = "accept"):  # type: ignore[no-untyped-def]
        return lambda session: hits.decide(session, coder, reference, decision, None, THEME_IDS)

    def broken(session):  # type: ignore[no-untyped-def]  # a database error half-way: an unknown reference
        session.execute(insert(ReviewDecision).values(reference_id=999_999, coder="eve", decision="accept", note=""))

    async def together() -> list[object]:
        writes = [decide("ann", references[0]), decide("bob", references[0]), decide("ann", 999_999),
                  decide("cy", references[1], "maybe"), broken, decide("bob", references[2])]
        return await asyncio.gather(*(bench.write(w) for w in writes), return_exceptions=True)

    outcomes = asyncio.run(together())
    assert [type(o).__name__ for o in outcomes] == ["int", "int", "NotFound", "SibkitError", "IntegrityError",
                                                    "int"]
    assert isinstance(outcomes[2], SibkitError) and "no reference 999999" in str(outcomes[2])
    assert isinstance(outcomes[4], IntegrityError)
    with store.session() as session:
        rows = session.execute(select(ReviewDecision.id, ReviewDecision.coder, ReviewDecision.reference_id)
                               .order_by(ReviewDecision.id)).all()
    assert sorted((coder, reference) for _, coder, reference in rows) == sorted(
        [("ann", references[0]), ("bob", references[0]), ("bob", references[2])])
    assert sorted(number for number, _, _ in rows) == sorted(o for o in outcomes if isinstance(o, int))


def test_a_refused_write_alone_raises_its_error(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    bench = Workbench(store, list(THEMES), single_user="ann")
    with pytest.raises(SibkitError, match="recode needs one of the codebook's themes"):
        asyncio.run(bench.write(lambda session: hits.decide(session, "ann", 1, "recode", "nope", THEME_IDS)))
