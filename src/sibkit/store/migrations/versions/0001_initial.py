"""The study database: documents, cases, fetch attempts, references, review decisions, coding states.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("doc_type", sa.String(20), nullable=False),
        sa.Column("date", sa.String(10), nullable=True),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("media_type", sa.String(80), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("pages", sa.JSON, nullable=False),
        sa.Column("word_count", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("added_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "document_cases",
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("case_id", sa.String(40), primary_key=True),
    )
    op.create_table(
        "fetch_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("case_id", sa.String(40), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id", ondelete="SET NULL"), nullable=True),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "references",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("theme", sa.String(80), nullable=False),
        sa.Column("term", sa.Text, nullable=False),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("end", sa.Integer, nullable=False),
        sa.Column("page", sa.Integer, nullable=True),
        sa.Column("origin", sa.String(10), nullable=False),
        sa.Column("codebook_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("document_id", "theme", "term", "start", "end", "origin", name="uq_reference_span"),
    )
    op.create_index("ix_references_theme", "references", ["theme"])
    op.create_index("ix_references_document_id", "references", ["document_id"])
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference_id", sa.Integer, sa.ForeignKey("references.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("coder", sa.String(80), nullable=False),
        sa.Column("decided_at", sa.DateTime, nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("new_theme", sa.String(80), nullable=True),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_index("ix_review_decisions_reference_id", "review_decisions", ["reference_id"])
    op.create_table(
        "coding_states",
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("theme", sa.String(80), primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("coded_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("coding_states", "review_decisions", "references", "fetch_attempts", "document_cases", "documents"):
        op.drop_table(table)
