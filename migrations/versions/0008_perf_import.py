"""faster imports: one index on lower(email) serves uniqueness and prefix search

``ix_subscribers_email_lower_pattern`` held the same expression as ``uq_subscribers_email_lower``; every
new reader paid for both. On PostgreSQL the unique index is rebuilt with ``text_pattern_ops``, which
serves equality, ``ON CONFLICT`` on ``lower(email)`` and ``LIKE 'abc%'`` alike; on SQLite the two were
identical and the second is simply dropped.

Revision ID: 0008_perf_import
Revises: 0006_subscriber_ids
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_perf_import"
down_revision = "0006_subscriber_ids"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_subscribers_email_lower_pattern", table_name="subscribers")
    if op.get_bind().dialect.name == "postgresql":
        # Built beside the old one and swapped, so uniqueness is enforced throughout.
        op.execute(
            "CREATE UNIQUE INDEX uq_subscribers_email_lower_new ON subscribers (lower(email) text_pattern_ops)"
        )
        op.drop_index("uq_subscribers_email_lower", table_name="subscribers")
        op.execute("ALTER INDEX uq_subscribers_email_lower_new RENAME TO uq_subscribers_email_lower")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE UNIQUE INDEX uq_subscribers_email_lower_old ON subscribers (lower(email))")
        op.drop_index("uq_subscribers_email_lower", table_name="subscribers")
        op.execute("ALTER INDEX uq_subscribers_email_lower_old RENAME TO uq_subscribers_email_lower")
        op.execute(
            "CREATE INDEX ix_subscribers_email_lower_pattern ON subscribers (lower(email) text_pattern_ops)"
        )
    else:
        op.create_index("ix_subscribers_email_lower_pattern", "subscribers", [sa.text("lower(email)")])
