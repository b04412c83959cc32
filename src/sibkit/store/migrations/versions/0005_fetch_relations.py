"""Fetch attempts say how a URL was reached: listed in INDIGO, an attachment of a landing page, or
the archive copy of a live URL (``relation``), and from which URL (``source_url``).

Revision ID: fetch_relations
Revises: negation
"""

import sqlalchemy as sa
from alembic import op

revision = "fetch_relations"
down_revision = "negation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("fetch_attempts", sa.Column("relation", sa.String(12), nullable=False, server_default="listed"))
    op.add_column("fetch_attempts", sa.Column("source_url", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fetch_attempts") as batch:
        batch.drop_column("source_url")
        batch.drop_column("relation")
