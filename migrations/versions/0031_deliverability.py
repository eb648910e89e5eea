"""sends paused automatically when their complaint or hard-bounce rate passed its threshold: why, and
whether an editor resumed them

Revision ID: 0031_deliverability
Revises: 0029_feed_controls
"""
import sqlalchemy as sa
from alembic import op

revision = "0031_deliverability"
down_revision = "0029_feed_controls"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "auto_pauses",
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["issue_id"], ["issues.id"], name=op.f("fk_auto_pauses_issue_id_issues"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("issue_id", name=op.f("pk_auto_pauses")),
    )


def downgrade():
    op.drop_table("auto_pauses")
