"""unsubscribe blame: a leaving event names the issue it is blamed on, decided when it is written

Revision ID: 0016_unsubscribe_blame
Revises: 0015_donors_clicks
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_unsubscribe_blame"
down_revision = "0015_donors_clicks"
branch_labels = None
depends_on = None

WEEK_BEFORE = {
    "postgresql": "e.created_at - interval '7 days'",
    "sqlite": "datetime(e.created_at, '-604800 seconds')",
}

# The same rule as newsletter.sending.tallies: the last issue sent to the reader at or before the moment they left,
# if it was sent within the 7 days before.
BLAME = """
UPDATE subscriber_events AS e SET issue_id = (
    SELECT d.issue_id FROM deliveries AS d
    WHERE d.subscriber_id = e.subscriber_id AND d.sent_at IS NOT NULL
      AND d.sent_at <= e.created_at AND d.sent_at >= {week_before}
    ORDER BY d.sent_at DESC LIMIT 1)
WHERE e.kind = 'unsubscribed' AND e.issue_id IS NULL
"""


def backfill(execute, dialect: str) -> None:
    """Blame the leaving events written before this column existed (or bulk-loaded), set-based."""
    execute(BLAME.format(week_before=WEEK_BEFORE[dialect]))


def upgrade():
    with op.batch_alter_table("subscriber_events") as batch:
        batch.add_column(sa.Column("issue_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_subscriber_events_issue_id_issues"), "issues", ["issue_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_subscriber_events_issue_id_kind", ["issue_id", "kind"])
    bind = op.get_bind()
    backfill(lambda sql: bind.execute(sa.text(sql)), bind.dialect.name)


def downgrade():
    with op.batch_alter_table("subscriber_events") as batch:
        batch.drop_index("ix_subscriber_events_issue_id_kind")
        batch.drop_constraint(op.f("fk_subscriber_events_issue_id_issues"), type_="foreignkey")
        batch.drop_column("issue_id")
