"""digest_runs.editors_told_at: when the editors' mail about a draft reached the queue (a draft whose mail
Redis could not take is told by a later sweep)

Revision ID: 0040_digest_told
Revises: 0039_welcome_clicks
"""

import sqlalchemy as sa
from alembic import op

revision = "0040_digest_told"
down_revision = "0039_welcome_clicks"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("digest_runs") as batch:
        batch.add_column(sa.Column("editors_told_at", sa.DateTime(timezone=True), nullable=True))
    # Drafts built before: their editors were told then, or the desk has shown the draft since.
    op.execute("UPDATE digest_runs SET editors_told_at = built_at WHERE state = 'draft'")


def downgrade():
    with op.batch_alter_table("digest_runs") as batch:
        batch.drop_column("editors_told_at")
