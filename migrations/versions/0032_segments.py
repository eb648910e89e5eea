"""segments: saved filters over a newsletter's readers; an issue may go to one, and the ledger records it

Revision ID: 0032_segments
Revises: 0031_deliverability
"""
import sqlalchemy as sa
from alembic import op

revision = "0032_segments"
down_revision = "0031_deliverability"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("newsletter_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("supporter_state", sa.String(length=20), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=True),
        sa.Column("source", sa.String(length=255), nullable=True),
        sa.Column("signed_up_from", sa.Date(), nullable=True),
        sa.Column("signed_up_to", sa.Date(), nullable=True),
        sa.Column("confirmed_from", sa.Date(), nullable=True),
        sa.Column("confirmed_to", sa.Date(), nullable=True),
        sa.Column("ask_frequency", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["newsletter_id"], ["newsletters.id"],
                                name=op.f("fk_segments_newsletter_id_newsletters"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
    )
    op.create_index(op.f("ix_segments_newsletter_id"), "segments", ["newsletter_id"])
    with op.batch_alter_table("issues") as batch:
        batch.add_column(sa.Column("segment_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_issues_segment_id_segments"), "segments", ["segment_id"], ["id"])
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("segment_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_deliveries_segment_id_segments"), "segments", ["segment_id"],
                                 ["id"])


def downgrade():
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint(op.f("fk_deliveries_segment_id_segments"), type_="foreignkey")
        batch.drop_column("segment_id")
    with op.batch_alter_table("issues") as batch:
        batch.drop_constraint(op.f("fk_issues_segment_id_segments"), type_="foreignkey")
        batch.drop_column("segment_id")
    op.drop_index(op.f("ix_segments_newsletter_id"), table_name="segments")
    op.drop_table("segments")
