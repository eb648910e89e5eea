"""money under Stripe's real delivery: parked events, Stripe's own times on payments, monthly amounts as
history, and the Product, Prices and portal configuration Beitrag made at Stripe

Revision ID: 0018_stripe_delivery
Revises: 0017_reader_first_gift
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_stripe_delivery"
down_revision = "0017_reader_first_gift"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("stripe_events") as batch:
        batch.add_column(sa.Column(
            "state", sa.Enum("applied", "ignored", "parked", name="stripe_event_state", native_enum=False,
                             create_constraint=True, length=32),
            nullable=False, server_default="applied",
        ))  # fmt: skip
        batch.add_column(sa.Column("outcome", sa.String(200), nullable=True))
        batch.add_column(sa.Column("waits_for", sa.String(300), nullable=True))
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_stripe_events_waits_for", "stripe_events", ["waits_for"])

    with op.batch_alter_table("donation_payments") as batch:
        batch.add_column(sa.Column("billing_reason", sa.String(40), nullable=True))
        batch.add_column(sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("disputed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("donations") as batch:
        batch.add_column(sa.Column("stripe_price_id", sa.String(255), nullable=True))

    op.create_table(
        "donation_amount_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("donation_id", sa.Integer(), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("previous_cents", sa.Integer(), nullable=False),
        sa.Column("stripe_price_id", sa.String(255), nullable=True),
        sa.Column("stripe_event_id", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["donation_id"], ["donations.id"], ondelete="CASCADE",
                                name="fk_donation_amount_changes_donation_id_donations"),
        sa.PrimaryKeyConstraint("id", name="pk_donation_amount_changes"),
        sa.UniqueConstraint("stripe_event_id", name="uq_donation_amount_changes_stripe_event_id"),
    )  # fmt: skip
    op.create_index(
        "ix_donation_amount_changes_donation_id", "donation_amount_changes", ["donation_id"]
    )
    op.create_table(
        "stripe_catalog",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("stripe_id", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_stripe_catalog"),
    )


def downgrade():
    op.drop_table("stripe_catalog")
    op.drop_index("ix_donation_amount_changes_donation_id", table_name="donation_amount_changes")
    op.drop_table("donation_amount_changes")
    with op.batch_alter_table("donations") as batch:
        batch.drop_column("stripe_price_id")
    with op.batch_alter_table("donation_payments") as batch:
        batch.drop_column("disputed_at")
        batch.drop_column("refunded_at")
        batch.drop_column("billing_reason")
    op.drop_index("ix_stripe_events_waits_for", table_name="stripe_events")
    with op.batch_alter_table("stripe_events") as batch:
        batch.drop_column("attempts")
        batch.drop_column("payload")
        batch.drop_column("waits_for")
        batch.drop_column("outcome")
        batch.drop_column("state")
