"""References remember the zone of the text their hit lies in.

``zone`` is ``body`` (the document's own prose: the hit counts), ``references`` (a reference list or
bibliography), ``contents`` (a table of contents), ``header`` (a running header or footer) or
``repeat`` (a sentence the document already said). Hits outside the body are stored and shown with
their zone but do not count, unless a coder overrules that (decision ``overrule``). Existing
references are ``body``; re-coding (matcher version 3) fills the zone in.

Revision ID: structure
Revises: review_standing
"""

import sqlalchemy as sa
from alembic import op

revision = "structure"
down_revision = "runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("references") as batch:
        batch.add_column(sa.Column("zone", sa.String(12), nullable=False, server_default="body"))


def downgrade() -> None:
    with op.batch_alter_table("references") as batch:
        batch.drop_column("zone")
