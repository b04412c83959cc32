"""Memos on cases, documents, references and the study.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "memos",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("target_kind", sa.String(10), nullable=False),
        sa.Column("target_id", sa.String(80), nullable=False),
        sa.Column("author", sa.String(80), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("replaces", sa.Integer, sa.ForeignKey("memos.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_memos_target", "memos", ["target_kind", "target_id"])


def downgrade() -> None:
    op.drop_table("memos")
