"""The study database: migrations create exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from sibkit.errors import SibkitError
from sibkit.store import Base, Document, DocumentCase, Reference, ReviewDecision, head_revision, open_store


def schema_differences(url: str) -> list:
    store = open_store(url)
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    store.close()
    return differences


def test_sqlite_migration_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.sqlite'}"
    assert schema_differences(url) == []
    assert open_store(url).revision() == head_revision()
    assert head_revision()


@pytest.mark.postgres
def test_postgres_migration_matches_the_models(postgres) -> None:
    assert schema_differences(postgres.new_database()) == []


def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    with pytest.raises(RuntimeError), store.session() as session:
        session.add(Document(sha256="a" * 64, title="t", doc_type="other", origin="o", media_type="text/plain",
                             text="x", pages=[0], word_count=1, status="ok", message=""))
        session.flush()
        raise RuntimeError("crash in the middle")
    with store.session() as session:
        assert session.scalars(select(Document)).all() == []


def test_decided_references_cannot_be_deleted(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    with store.session() as session:
        document = Document(sha256="b" * 64, title="t", doc_type="other", origin="o", media_type="text/plain",
                            text="partnership", pages=[0], word_count=1, status="ok", message="")
        session.add(document)
        session.flush()
        session.add(DocumentCase(document_id=document.id, case_id="INDIGO-POJ-0001"))
        reference = Reference(document_id=document.id, theme="partnership", term="partnership", start=0, end=11)
        session.add(reference)
        session.flush()
        session.add(ReviewDecision(reference_id=reference.id, coder="ana", decision="accept"))
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), store.session() as session:
        session.delete(session.scalar(select(Reference)))
        session.flush()


def test_an_unreachable_database_is_one_clear_error() -> None:
    with pytest.raises(SibkitError, match="cannot open the study database"):
        open_store("postgresql+psycopg://nobody@127.0.0.1:1/none")


@pytest.mark.postgres
def test_postgres_compresses_document_texts_with_lz4_where_the_server_has_it(postgres) -> None:
    from sqlalchemy import text

    store = open_store(postgres.new_database())
    with store.session() as session:
        session.add(Document(sha256="a" * 64, text="the partners worked closely together. " * 400))
        session.commit()
    with store.engine.connect() as connection:
        lz4 = "lz4" in connection.execute(text(
            "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")).scalar_one()
        stored = connection.execute(text("SELECT pg_column_compression(text) FROM documents")).scalar_one()
    store.close()
    assert stored == ("lz4" if lz4 else "pglz")


def test_every_file_a_sqlite_study_leaves_beside_it_is_ignored_by_git(tmp_path: Path) -> None:
    """A study's database writes its own files beside it (the WAL, its index, the writers' lock file); a study
    kept in the repository (``examples/``) must leave ``git status`` clean, so each name is in .gitignore."""
    import shutil
    import subprocess

    root = Path(__file__).resolve().parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("needs git and the repository's checkout")
    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    with store.session() as session:
        session.add(Document(sha256="c" * 64, title="t", doc_type="other", origin="o", media_type="text/plain",
                             text="x", pages=[0], word_count=1, status="ok", message=""))
        session.flush()
        left = sorted(p.name for p in tmp_path.iterdir())
    assert "study.sqlite-writers" in left and "study.sqlite" in left
    paths = [f"examples/{name}" for name in left]
    checked = subprocess.run(["git", "-C", str(root), "check-ignore", "--no-index", "--verbose", "--non-matching",
                              *paths], capture_output=True, text=True, check=False)
    not_ignored = [line.split("\t")[-1] for line in checked.stdout.splitlines() if line.startswith("::")]
    assert not_ignored == [], checked.stdout
