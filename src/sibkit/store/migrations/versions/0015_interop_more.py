"""REFI-QDA: who created each imported selection, and when (a selection's creator is not always its
coder: NVivo records both), so an export gives the other tool back its own selection creators; and
which memos came from a source's or the project's Description (``qda_notes.kind``), so they go back
as descriptions, not as notes.

Revision ID: interop_more
Revises: review_standing
"""

import sqlalchemy as sa
from alembic import op

revision = "interop_more"
down_revision = "review_standing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qda_selections",
        sa.Column("guid", sa.String(38), primary_key=True),
        sa.Column("creator", sa.String(80), nullable=True),
        sa.Column("created", sa.DateTime, nullable=True),
    )
    with op.batch_alter_table("qda_notes") as batch:
        batch.add_column(sa.Column("kind", sa.String(12), nullable=False, server_default="note"))


def downgrade() -> None:
    with op.batch_alter_table("qda_notes") as batch:
        batch.drop_column("kind")
    op.drop_table("qda_selections")
