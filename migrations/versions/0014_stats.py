"""statistics: staff API tokens, the indexes the statistics' aggregates read by, and the summaries kept
in the ledgers' own transactions (payment_tallies, donor_first_gifts, donors.first_gift_at, issue_tallies), filled from the
ledgers here by ``backfill`` (bench/stats.py runs the same function after its bulk load)

Revision ID: 0014_stats
Revises: 0013_issue_goal_block
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_stats"
down_revision = "0013_issue_goal_block"
branch_labels = None
depends_on = None

# name, table, columns: the statistics filter by these times (see payments/reports/money.py, newsletter/stats/figures.py)
INDEXES = (
    ("ix_donation_payments_paid_at", "donation_payments", ["paid_at"]),
    ("ix_donations_kind_paid_at", "donations", ["kind", "paid_at"]),
    ("ix_donations_kind_ended_at", "donations", ["kind", "ended_at"]),
    ("ix_donations_issue_id", "donations", ["issue_id"]),
    ("ix_donations_donor_id_paid_at", "donations", ["donor_id", "paid_at"]),
    ("ix_subscriber_events_kind_created_at", "subscriber_events", ["kind", "created_at"]),
    ("ix_subscribers_created_at", "subscribers", ["created_at"]),
    ("ix_subscribers_confirmed_at", "subscribers", ["confirmed_at"]),
    ("ix_deliveries_subscriber_id_sent_at", "deliveries", ["subscriber_id", "sent_at"]),
)

# Covering on PostgreSQL: MRR, starts, ends, churn and donations per issue read the index alone.
INCLUDE = {
    "ix_donations_kind_paid_at": ["currency", "status", "amount_cents", "ended_at"],
    "ix_donations_kind_ended_at": ["currency", "status", "amount_cents", "paid_at", "cancel_reason"],
    "ix_donations_issue_id": ["paid_at", "currency", "kind", "amount_cents", "source_link"],
}

# Readers are written in time order (a million at once by an import), so on PostgreSQL their time indexes
# are BRIN: a few pages to keep up instead of a B-tree entry per reader, and a month's readers are still
# found by block range.
USING = {"ix_subscribers_created_at": "brin", "ix_subscribers_confirmed_at": "brin"}

SPAN = {  # payments.reports.payment_tallies.span_of(paid_at): the UTC hour on a month's first and last day, else the UTC day
    "postgresql": "(CASE WHEN extract(day FROM p.paid_at AT TIME ZONE 'UTC') = 1"
                  " OR extract(day FROM (p.paid_at AT TIME ZONE 'UTC') + interval '1 day') = 1"
                  " THEN date_trunc('hour', p.paid_at AT TIME ZONE 'UTC')"
                  " ELSE date_trunc('day', p.paid_at AT TIME ZONE 'UTC') END) AT TIME ZONE 'UTC'",
    "sqlite": "CASE WHEN strftime('%d', p.paid_at) = '01' OR strftime('%d', p.paid_at, '+1 day') = '01'"
              " THEN strftime('%Y-%m-%d %H:00:00.000000', p.paid_at)"
              " ELSE strftime('%Y-%m-%d 00:00:00.000000', p.paid_at) END",
}  # fmt: skip

BACKFILL = (
    """
    INSERT INTO payment_tallies (starts_at, currency, monthly, amount_cents, recovered, payments, refunded_cents,
                                 lost_cents)
    SELECT {span}, p.currency, d.kind = 'monthly', p.amount_cents, p.failure_count > 0, count(*),
           sum(p.refunded_cents),
           sum(CASE WHEN p.dispute_status = 'lost' THEN p.amount_cents - p.refunded_cents ELSE 0 END)
    FROM donation_payments p JOIN donations d ON d.id = p.donation_id
    WHERE p.status IN ('paid', 'refunded') AND p.paid_at IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
    """,
    """
    INSERT INTO donor_first_gifts (donor_id, currency, first_at)
    SELECT donor_id, currency, min(paid_at) FROM donations
    WHERE donor_id IS NOT NULL AND paid_at IS NOT NULL
    GROUP BY donor_id, currency
    """,
    """
    UPDATE donors SET first_gift_at = (SELECT min(f.first_at) FROM donor_first_gifts f WHERE f.donor_id = donors.id)
    WHERE id IN (SELECT donor_id FROM donor_first_gifts)
    """,
    """
    INSERT INTO issue_tallies (issue_id, recipients, accepted, failed, bounced)
    SELECT d.issue_id, count(*),
           sum(CASE WHEN d.status IN ('sent', 'bounced') THEN 1 ELSE 0 END),
           sum(CASE WHEN d.status = 'failed' THEN 1 ELSE 0 END),
           sum(CASE WHEN d.status = 'bounced' THEN 1 ELSE 0 END)
    FROM deliveries d JOIN issues i ON i.id = d.issue_id
    WHERE i.state = 'sent'
    GROUP BY d.issue_id
    """,
)


def backfill(execute, dialect: str) -> None:
    """Fill the (empty) summaries from the ledgers, set-based: ``execute(sql)`` runs one statement."""
    for statement in BACKFILL:
        execute(statement.format(span=SPAN[dialect]))


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
        using = USING.get(name, "btree")
        op.create_index(name, table, columns, postgresql_include=INCLUDE.get(name, []), postgresql_using=using)
    op.create_table(
        "payment_tallies",
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("monthly", sa.Boolean(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("recovered", sa.Boolean(), nullable=False),
        sa.Column("payments", sa.Integer(), nullable=False),
        sa.Column("refunded_cents", sa.BigInteger(), nullable=False),
        sa.Column("lost_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("starts_at", "currency", "monthly", "amount_cents", "recovered",
                                name=op.f("pk_payment_tallies")),
    )
    op.create_table(
        "donor_first_gifts",
        sa.Column("donor_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["donor_id"], ["donors.id"], name=op.f("fk_donor_first_gifts_donor_id_donors"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("donor_id", "currency", name=op.f("pk_donor_first_gifts")),
    )
    op.create_index("ix_donor_first_gifts_currency_first_at", "donor_first_gifts", ["currency", "first_at"])
    op.add_column("donors", sa.Column("first_gift_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "issue_tallies",
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("bounced", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["issue_id"], ["issues.id"], name=op.f("fk_issue_tallies_issue_id_issues"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("issue_id", name=op.f("pk_issue_tallies")),
    )
    bind = op.get_bind()
    backfill(lambda sql: bind.execute(sa.text(sql)), bind.dialect.name)


def downgrade():
    op.drop_table("issue_tallies")
    op.drop_index("ix_donor_first_gifts_currency_first_at", table_name="donor_first_gifts")
    op.drop_column("donors", "first_gift_at")
    op.drop_table("donor_first_gifts")
    op.drop_table("payment_tallies")
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index(op.f("ix_staff_api_tokens_staff_user_id"), table_name="staff_api_tokens")
    op.drop_table("staff_api_tokens")
