"""bounces: soft bounces counted per reader, applied bounce events remembered

Revision ID: 0010_mail_auth
Revises: 0009_send_ledger
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_mail_auth"
down_revision = "0009_send_ledger"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN on both databases (SQLite needs no table rebuild for it).
    op.add_column("subscribers", sa.Column("soft_bounces", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "bounce_events",
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_bounce_events")),
    )


def downgrade():
    op.drop_table("bounce_events")
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_column("soft_bounces")
    # SQLite rebuilt the table above and cannot carry the expression index over.
    op.create_index(
        "uq_subscribers_email_lower", "subscribers", [sa.text("lower(email)")], unique=True, if_not_exists=True
    )
