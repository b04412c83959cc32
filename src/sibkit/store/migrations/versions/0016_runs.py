"""Each ``sibkit run`` of a study remembered: the release it used and what it found, for "since last run".

Revision ID: runs
Revises: review_standing
"""

import sqlalchemy as sa
from alembic import op

revision = "runs"
down_revision = "interop_more"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("release_name", sa.String(40), nullable=False),
        sa.Column("release_date", sa.String(10), nullable=False),
        sa.Column("release_label", sa.Text, nullable=False),
        sa.Column("release_sha256", sa.String(64), nullable=False),
        sa.Column("tables_sha256", sa.String(64), nullable=False),
        sa.Column("study_sha256", sa.String(64), nullable=False),
        sa.Column("sibkit_version", sa.String(40), nullable=False),
        sa.Column("snapshot", sa.JSON, nullable=False),
    )
    op.create_index("ix_runs_tables_sha256", "runs", ["tables_sha256"])


def downgrade() -> None:
    op.drop_index("ix_runs_tables_sha256", "runs")
    op.drop_table("runs")
