"""readers who give: each reader carries when they first gave, kept with their donors' first gifts; the
status index covers sign-up time and first gift on PostgreSQL

Revision ID: 0017_reader_first_gift
Revises: 0016_unsubscribe_blame
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_reader_first_gift"
down_revision = "0016_unsubscribe_blame"
branch_labels = None
depends_on = None

# The least first gift of the donors linked to each reader (payments.reports.first_gifts keeps it from now on).
BACKFILL = """
UPDATE subscribers SET first_gift_at = (
    SELECT min(d.first_gift_at) FROM donors AS d WHERE d.subscriber_id = subscribers.id)
WHERE id IN (SELECT subscriber_id FROM donors WHERE subscriber_id IS NOT NULL)
"""


def backfill(execute, dialect: str) -> None:
    """Set-based, the same on both databases (bench/stats.py runs it after its bulk load)."""
    execute(BACKFILL)


def _status_index(include: str) -> None:
    # Built beside the old one and swapped, so the staff list keeps an index throughout.
    op.execute(f"CREATE INDEX ix_subscribers_status_id_new ON subscribers (status, id){include}")
    op.drop_index("ix_subscribers_status_id", table_name="subscribers")
    op.execute("ALTER INDEX ix_subscribers_status_id_new RENAME TO ix_subscribers_status_id")


def upgrade():
    op.add_column("subscribers", sa.Column("first_gift_at", sa.DateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    backfill(lambda sql: bind.execute(sa.text(sql)), bind.dialect.name)
    if bind.dialect.name == "postgresql":
        _status_index(" INCLUDE (created_at, first_gift_at)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _status_index("")
    op.drop_column("subscribers", "first_gift_at")
