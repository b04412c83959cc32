"""Suggested references (origin ``semantic``): why each was suggested, and a cache of sentence embeddings.

Revision ID: suggestions
Revises: workbench
"""

import sqlalchemy as sa
from alembic import op

revision = "suggestions"
down_revision = "workbench"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sentence_embeddings",
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("spans", sa.JSON, nullable=False),
        sa.Column("dimension", sa.Integer, nullable=False),
        sa.Column("vectors", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "suggestions",
        sa.Column("reference_id", sa.Integer, sa.ForeignKey("references.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(80), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("compared_with", sa.Text, nullable=False),
        sa.Column("rank_score", sa.Float, nullable=True),
        sa.Column("paragraph_start", sa.Integer, nullable=False),
        sa.Column("paragraph_end", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("suggestions")
    op.drop_table("sentence_embeddings")
