"""References remember whether their hit lies in a negated clause.

Revision ID: negation
Revises: interop
"""

import sqlalchemy as sa
from alembic import op

revision = "negation"
down_revision = "interop"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("references") as batch:
        batch.add_column(sa.Column("negated", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("references") as batch:
        batch.drop_column("negated")
