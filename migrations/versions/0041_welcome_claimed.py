"""welcome_mails.claimed_at: when a worker took the welcome to send it, so that one whose worker was killed
mid-send is counted as in doubt, not as waiting

Revision ID: 0041_welcome_claimed
Revises: 0040_digest_told
"""

import sqlalchemy as sa
from alembic import op

revision = "0041_welcome_claimed"
down_revision = "0040_digest_told"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("welcome_mails") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("welcome_mails") as batch:
        batch.drop_column("claimed_at")
