"""yearly gifts beside one-time and monthly ones, and the fee a donor chose to cover, kept apart from the
gift on the donation and on each of its payments

Revision ID: 0036_yearly_fee
Revises: 0031_deliverability
"""

import sqlalchemy as sa
from alembic import op

revision = "0036_yearly_fee"
down_revision = "0037_bank_transfer"
branch_labels = None
depends_on = None

# donations.kind is a VARCHAR with a CHECK constraint (db.enum_column), not a native enum type: a new kind
# is a new constraint, on SQLite by copying the table (batch mode).
_KIND = "ck_donations_donation_kind"


def upgrade():
    with op.batch_alter_table("donations") as batch:
        batch.drop_constraint(op.f(_KIND), type_="check")
        batch.create_check_constraint(op.f(_KIND), sa.text("kind IN ('one_time', 'monthly', 'yearly')"))
        batch.add_column(sa.Column("fee_covered_cents", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("donation_payments") as batch:
        batch.add_column(sa.Column("fee_covered_cents", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    # Yearly donations have no kind to go back to, and payment records are never dropped silently.
    yearly = op.get_bind().scalar(sa.text("SELECT count(*) FROM donations WHERE kind = 'yearly'"))
    if yearly:
        raise RuntimeError(f"{yearly} yearly donations exist; a downgrade would lose them")
    with op.batch_alter_table("donation_payments") as batch:
        batch.drop_column("fee_covered_cents")
    with op.batch_alter_table("donations") as batch:
        batch.drop_column("fee_covered_cents")
        batch.drop_constraint(op.f(_KIND), type_="check")
        batch.create_check_constraint(op.f(_KIND), sa.text("kind IN ('one_time', 'monthly')"))
