"""No statement grows with the data: 100,000 references on SQLite and on a real PostgreSQL server.

PostgreSQL takes at most 65,535 parameters in one statement and SQLite 32,766; statements that sent
one parameter per reference (``review export``, ``suggest``) failed beyond that. The rows are put in
with one SQL statement each (a recursive CTE on SQLite, ``generate_series`` on PostgreSQL), so the
setup is quick."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from sibkit.coding import export_rows, parse_codebook
from sibkit.store import Reference, Suggestion, open_store
from sibkit.study.model import Suggest
from sibkit.suggest import HashingEmbedder, suggest

REFERENCES = 100_000
SEMANTIC = 70_000  # of them suggestions nobody decided on: `suggest` replaces them
BOOK = """
name: small
themes:
  - id: trust
    name: Trusted relationship
    terms: [trusted relationship]
    examples: ["The mentor became an adult she could trust at last."]
"""


def _numbers(dialect: str, count: int) -> str:
    """A FROM clause of the numbers 1..count as ``n.i``."""
    if dialect == "postgresql":
        return f"generate_series(1, {count}) AS n(i)"
    return f"(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {count}) SELECT i FROM s) AS n"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def big_store(request, tmp_path: Path):
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").new_database()
    else:
        url = f"sqlite:///{tmp_path / 'big.sqlite'}"
    store = open_store(url)
    dialect = store.engine.dialect.name
    body = "A trusted relationship was built with each young person. " * 2000  # 118,000 characters
    with store.engine.begin() as connection:
        connection.execute(text("INSERT INTO documents (id, sha256, title, doc_type, origin, media_type, text, "
                                "pages, word_count, status, message, added_at) VALUES (1, :sha, 'Big', 'evaluation', "
                                "'big.txt', 'text/plain', :body, '[0]', 18000, 'ok', '', CURRENT_TIMESTAMP)"),
                           {"sha": "0" * 64, "body": body})
        connection.execute(text("INSERT INTO document_cases (document_id, case_id) VALUES (1, 'INDIGO-POJ-0121')"))
        connection.execute(text(
            'INSERT INTO "references" (id, document_id, theme, term, start, "end", page, origin, codebook_hash, '
            "created_at, negated) SELECT n.i, 1, 'trust', 'trusted relationship', n.i, n.i + 5, 0, "
            f"CASE WHEN n.i <= {SEMANTIC} THEN 'semantic' ELSE 'auto' END, '', CURRENT_TIMESTAMP, "
            f"{'false' if dialect == 'postgresql' else '0'} FROM {_numbers(dialect, REFERENCES)}"))
        connection.execute(text(
            "INSERT INTO suggestions (reference_id, model, model_version, score, compared_with, paragraph_start, "
            "paragraph_end, created_at) SELECT n.i, 'sibkit-hashing 1', '1', 0.7, 'example 1', 0, 100, "
            f"CURRENT_TIMESTAMP FROM {_numbers(dialect, SEMANTIC)}"))
        if dialect == "postgresql":  # the ids were given: move the sequence past them
            connection.execute(text("SELECT setval('references_id_seq', (SELECT max(id) FROM \"references\"))"))
    yield store
    store.close()


def test_review_export_and_suggest_over_100000_references(big_store) -> None:
    frame = export_rows(big_store)
    assert len(frame) == REFERENCES
    assert frame["term"].str.endswith("(suggested)").sum() in (0, SEMANTIC)  # however export marks them
    assert frame["score"].notna().sum() == SEMANTIC  # each suggestion's score was read (one statement)
    report = suggest(big_store, parse_codebook(BOOK), HashingEmbedder(), Suggest(model="hashing", threshold=0.99))
    assert report.removed == SEMANTIC  # every undecided suggestion replaced in one statement
    with big_store.session() as session:
        assert session.scalar(select(func.count()).select_from(Suggestion)) == sum(report.suggestions.values())
        assert session.scalar(select(func.count()).select_from(Reference)) == \
            REFERENCES - SEMANTIC + sum(report.suggestions.values())
