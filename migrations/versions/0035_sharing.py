"""readers' share links: who signed up through whose link, and whether they confirmed

Revision ID: 0035_sharing
Revises: 0031_deliverability
"""

import sqlalchemy as sa
from alembic import op

revision = "0035_sharing"
down_revision = "0034_digests"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "referrals",
        sa.Column("referred_id", sa.Integer(), nullable=False),
        sa.Column("sharer_id", sa.Integer(), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["referred_id"],
            ["subscribers.id"],
            name=op.f("fk_referrals_referred_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sharer_id"],
            ["subscribers.id"],
            name=op.f("fk_referrals_sharer_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("referred_id", name=op.f("pk_referrals")),
    )
    op.create_index("ix_referrals_sharer_id", "referrals", ["sharer_id", "confirmed_at"])


def downgrade():
    op.drop_index("ix_referrals_sharer_id", table_name="referrals")
    op.drop_table("referrals")
