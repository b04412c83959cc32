"""The learned reader's scores of keyword hits, and the recall audit: samples of sentences no counted hit
touched, and coders' append-only marks of the themes each expresses.

Revision ID: audit
Revises: structure
"""

import sqlalchemy as sa
from alembic import op

revision = "audit"
down_revision = "structure"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reader_scores",
        sa.Column("reference_id", sa.Integer, sa.ForeignKey("references.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(80), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("flagged", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "audit_samples",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("drawn_at", sa.DateTime, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("requested", sa.Integer, nullable=False),
        sa.Column("population", sa.Integer, nullable=False),
        sa.Column("codebook_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_sentences",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sample_id", sa.Integer, sa.ForeignKey("audit_samples.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("end", sa.Integer, nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.UniqueConstraint("document_id", "start", "end", name="uq_audit_sentence_span"),
    )
    op.create_index("ix_audit_sentences_sample_id", "audit_sentences", ["sample_id"])
    op.create_index("ix_audit_sentences_document_id", "audit_sentences", ["document_id"])
    op.create_table(
        "audit_marks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sentence_id", sa.Integer, sa.ForeignKey("audit_sentences.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("coder", sa.String(80), nullable=False),
        sa.Column("marked_at", sa.DateTime, nullable=False),
        sa.Column("themes", sa.JSON, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("previous_id", sa.Integer, nullable=True),
    )
    op.create_index("ix_audit_marks_sentence_id", "audit_marks", ["sentence_id"])
    op.create_index("ix_audit_marks_coder_sentence", "audit_marks", ["coder", "sentence_id"])


def downgrade() -> None:
    op.drop_table("audit_marks")
    op.drop_table("audit_sentences")
    op.drop_table("audit_samples")
    op.drop_table("reader_scores")
