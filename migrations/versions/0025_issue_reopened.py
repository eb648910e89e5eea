"""the send sweep's safety net leaves a mark: when an issue marked sent was sent on because readers still
waited, the issue page says so

Revision ID: 0025_issue_reopened
Revises: 0019_import_resume
"""
import sqlalchemy as sa
from alembic import op

revision = "0025_issue_reopened"
down_revision = "0019_import_resume"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("issues") as batch:
        batch.add_column(sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("issues") as batch:
        batch.drop_column("reopened_at")
