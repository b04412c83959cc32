"""REFI-QDA exchange: GUIDs kept on documents and references; users, codes, cases, variables, values,
sets and notes of imported projects.

Revision ID: interop
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "interop"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("guid", sa.String(38), nullable=True))
    with op.batch_alter_table("references") as batch:
        batch.add_column(sa.Column("selection_guid", sa.String(38), nullable=True))
        batch.add_column(sa.Column("coding_guid", sa.String(38), nullable=True))
    op.create_table(
        "qda_users",
        sa.Column("guid", sa.String(38), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
    )
    op.create_table(
        "qda_codes",
        sa.Column("guid", sa.String(38), primary_key=True),
        sa.Column("theme", sa.String(80), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("parent_guid", sa.String(38), nullable=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("codable", sa.Boolean, nullable=False),
        sa.Column("color", sa.String(7), nullable=True),
    )
    op.create_table(
        "qda_cases",
        sa.Column("guid", sa.String(38), primary_key=True),
        sa.Column("case_id", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
    )
    op.create_table(
        "qda_variables",
        sa.Column("guid", sa.String(38), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("type", sa.String(10), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
    )
    op.create_table(
        "qda_values",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("variable_guid", sa.String(38), sa.ForeignKey("qda_variables.guid", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("target_kind", sa.String(10), nullable=False),
        sa.Column("target_id", sa.String(80), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.UniqueConstraint("variable_guid", "target_kind", "target_id", name="uq_qda_value"),
    )
    op.create_table(
        "qda_sets",
        sa.Column("guid", sa.String(38), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("members", sa.JSON, nullable=False),
    )
    op.create_table(
        "qda_notes",
        sa.Column("guid", sa.String(38), primary_key=True),
        sa.Column("memo_id", sa.Integer, sa.ForeignKey("memos.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
    )


def downgrade() -> None:
    for table in ("qda_notes", "qda_sets", "qda_values", "qda_variables", "qda_cases", "qda_codes", "qda_users"):
        op.drop_table(table)
    with op.batch_alter_table("references") as batch:
        batch.drop_column("coding_guid")
        batch.drop_column("selection_guid")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("guid")
