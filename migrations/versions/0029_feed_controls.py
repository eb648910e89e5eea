"""feeds an editor can pause, and that pause themselves after repeated failures: when a feed was paused,
and how many imports in a row have failed

Revision ID: 0029_feed_controls
Revises: 0028_test_readers
"""
import sqlalchemy as sa
from alembic import op

revision = "0029_feed_controls"
down_revision = "0028_test_readers"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("failures")
        batch.drop_column("paused_at")
