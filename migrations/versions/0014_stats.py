"""statistics: staff API tokens, and the indexes the statistics' aggregates read by

Revision ID: 0014_stats
Revises: 0013_issue_goal_block
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_stats"
down_revision = "0013_issue_goal_block"
branch_labels = None
depends_on = None

# name, table, columns: the statistics filter by these times (see payments/stats.py, newsletter/stats.py)
INDEXES = (
    ("ix_donation_payments_paid_at", "donation_payments", ["paid_at"]),
    ("ix_donations_kind_paid_at", "donations", ["kind", "paid_at"]),
    ("ix_donations_issue_id", "donations", ["issue_id"]),
    ("ix_donations_donor_id_paid_at", "donations", ["donor_id", "paid_at"]),
    ("ix_subscriber_events_kind_created_at", "subscriber_events", ["kind", "created_at"]),
    ("ix_subscribers_created_at", "subscribers", ["created_at"]),
    ("ix_subscribers_confirmed_at", "subscribers", ["confirmed_at"]),
    ("ix_deliveries_subscriber_id_sent_at", "deliveries", ["subscriber_id", "sent_at"]),
)


def upgrade():
    op.create_table(
        "staff_api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["staff_user_id"], ["staff_users.id"],
                                name=op.f("fk_staff_api_tokens_staff_user_id_staff_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_staff_api_tokens_staff_user_id"), "staff_api_tokens", ["staff_user_id"])
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index(op.f("ix_staff_api_tokens_staff_user_id"), table_name="staff_api_tokens")
    op.drop_table("staff_api_tokens")
