"""Each coder's standing decision per reference, kept by the database beside the append-only review log.

``review_standing`` holds one row per (coder, reference): the coder's latest decision (by time, then id),
so the workbench reads "what does this coder say about this reference" with one index lookup instead of
ranking the whole log. Triggers on ``review_decisions`` keep it whoever appends (the workbench, the XLSX
import, REFI-QDA import); the log stays the source of truth and the table is rebuilt from it here.

Revision ID: review_standing
Revises: suggestions
"""

import sqlalchemy as sa
from alembic import op

revision = "review_standing"
down_revision = "suggestions"
branch_labels = None
depends_on = None

# a new row replaces the standing one only when it is later (time, then id): a decision imported with an
# earlier time, or a concurrent transaction that committed a later one first, never wins
_UPSERT = """
INSERT INTO review_standing (coder, reference_id, decision_id, decided_at, decision, new_theme)
VALUES (NEW.coder, NEW.reference_id, NEW.id, NEW.decided_at, NEW.decision, NEW.new_theme)
ON CONFLICT (coder, reference_id) DO UPDATE SET decision_id = excluded.decision_id,
    decided_at = excluded.decided_at, decision = excluded.decision, new_theme = excluded.new_theme
WHERE excluded.decided_at > review_standing.decided_at
   OR (excluded.decided_at = review_standing.decided_at AND excluded.decision_id > review_standing.decision_id);
"""


def upgrade() -> None:
    op.create_table(
        "review_standing",
        sa.Column("coder", sa.String(80), primary_key=True),
        sa.Column("reference_id", sa.Integer, sa.ForeignKey("references.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("decision_id", sa.Integer, nullable=False),
        sa.Column("decided_at", sa.DateTime, nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("new_theme", sa.String(80), nullable=True),
    )
    op.create_index("ix_review_standing_reference_id", "review_standing", ["reference_id"])
    op.execute("""
        INSERT INTO review_standing (coder, reference_id, decision_id, decided_at, decision, new_theme)
        SELECT coder, reference_id, id, decided_at, decision, new_theme FROM (
            SELECT coder, reference_id, id, decided_at, decision, new_theme,
                   row_number() OVER (PARTITION BY coder, reference_id ORDER BY decided_at DESC, id DESC) AS rank
            FROM review_decisions) AS ranked
        WHERE rank = 1
    """)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION review_standing_keep() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
            {_UPSERT}
            RETURN NULL;
            END $$
        """)
        op.execute("CREATE TRIGGER review_standing_keep AFTER INSERT ON review_decisions "
                   "FOR EACH ROW EXECUTE FUNCTION review_standing_keep()")
    else:
        op.execute(f"CREATE TRIGGER review_standing_keep AFTER INSERT ON review_decisions BEGIN {_UPSERT} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER review_standing_keep ON review_decisions")
        op.execute("DROP FUNCTION review_standing_keep()")
    else:
        op.execute("DROP TRIGGER review_standing_keep")
    op.drop_index("ix_review_standing_reference_id", "review_standing")
    op.drop_table("review_standing")
