"""Review workbench: the decision each decision follows, accounts, browser sessions, settings.

Revision ID: workbench
Revises: fetch_relations (chained after the migrations on main)
"""

import sqlalchemy as sa
from alembic import op

revision = "workbench"
down_revision = "fetch_relations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("review_decisions", sa.Column("previous_id", sa.Integer, nullable=True))
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "workbench_settings",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_index("ix_review_decisions_coder_reference", "review_decisions", ["coder", "reference_id"])


def downgrade() -> None:
    op.drop_index("ix_review_decisions_coder_reference", "review_decisions")
    op.drop_table("workbench_settings")
    op.drop_table("web_sessions")
    op.drop_table("users")
    with op.batch_alter_table("review_decisions") as batch:
        batch.drop_column("previous_id")
