"""An idempotency key per workbench decision: a decide POST sent twice (a retry, a double click, a
flaky network) is stored once.

``review_decisions.request_key`` holds the key of the form the decision came from (NULL for decisions
from the XLSX loop and REFI-QDA imports); a unique index on (coder, request_key) lets one decision per
key and coder in, even when two requests with the same key arrive at once (NULLs never clash).

Revision ID: decision_keys
Revises: audit
"""

import sqlalchemy as sa
from alembic import op

revision = "decision_keys"
down_revision = "audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("review_decisions", sa.Column("request_key", sa.String(64), nullable=True))
    op.create_index("uq_review_decisions_request_key", "review_decisions", ["coder", "request_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_review_decisions_request_key", "review_decisions")
    with op.batch_alter_table("review_decisions") as batch:
        batch.drop_column("request_key")
