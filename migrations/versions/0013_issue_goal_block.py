"""issue goal block: an issue may show the monthly supporter counter under its ask

Revision ID: 0013_issue_goal_block
Revises: 0012_donations
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_issue_goal_block"
down_revision = "0012_donations"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("issues", sa.Column("show_goal", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.drop_column("show_goal")
