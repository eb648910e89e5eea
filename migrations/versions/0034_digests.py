"""automatic digests: a newsletter's schedule (weekdays, time of day, time zone, filters, layout, send or
draft) and one row per slot, unique per digest and slot, which is how a clock claims a slot

Revision ID: 0034_digests
Revises: 0031_deliverability
"""

import sqlalchemy as sa
from alembic import op

revision = "0034_digests"
down_revision = "0033_welcome"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("newsletter_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=150), nullable=False),
        sa.Column("weekdays", sa.String(length=7), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("layout", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("feed_ids", sa.JSON(), nullable=False),
        sa.Column("sender_name", sa.String(length=200), nullable=False),
        sa.Column("sender_address", sa.String(length=320), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("schedule_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["newsletter_id"], ["newsletters.id"], ondelete="CASCADE",
                                name="fk_digests_newsletter_id_newsletters"),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff_users.id"], ondelete="SET NULL",
                                name="fk_digests_created_by_id_staff_users"),
        sa.PrimaryKeyConstraint("id", name="pk_digests"),
    )  # fmt: skip
    op.create_index("ix_digests_newsletter_id", "digests", ["newsletter_id"])
    op.create_table(
        "digest_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("slot_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=True),
        sa.Column("articles", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["digest_id"], ["digests.id"], ondelete="CASCADE",
                                name="fk_digest_runs_digest_id_digests"),
        sa.ForeignKeyConstraint(["issue_id"], ["issues.id"], ondelete="SET NULL",
                                name="fk_digest_runs_issue_id_issues"),
        sa.ForeignKeyConstraint(["by_id"], ["staff_users.id"], ondelete="SET NULL",
                                name="fk_digest_runs_by_id_staff_users"),
        sa.PrimaryKeyConstraint("id", name="pk_digest_runs"),
        sa.UniqueConstraint("digest_id", "slot_at", name="uq_digest_runs_digest_id_slot_at"),
    )  # fmt: skip


def downgrade():
    op.drop_table("digest_runs")
    op.drop_index("ix_digests_newsletter_id", table_name="digests")
    op.drop_table("digests")
