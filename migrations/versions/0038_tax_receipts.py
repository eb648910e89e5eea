"""Zuwendungsbestätigungen: the donor's name and address for receipts, the receipt number counter, the
receipts issued (with their PDF) and the gifts each confirms (a gift in one receipt only)

Revision ID: 0038_tax_receipts
Revises: 0031_deliverability
"""
import sqlalchemy as sa
from alembic import op

revision = "0038_tax_receipts"
down_revision = "0035_sharing"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "receipt_addresses",
        sa.Column("donor_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["donor_id"], ["donors.id"], name=op.f("fk_receipt_addresses_donor_id_donors"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("donor_id", name=op.f("pk_receipt_addresses")),
    )
    counters = op.create_table(
        "receipt_counters",
        sa.Column("series", sa.String(length=40), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("series", name=op.f("pk_receipt_counters")),
    )
    op.bulk_insert(counters, [{"series": "tax_receipt", "last_number": 0}])
    op.create_table(
        "tax_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("donor_id", sa.Integer(), nullable=True),
        sa.Column("collective", sa.Boolean(), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("donor_name", sa.String(length=200), nullable=False),
        sa.Column("donor_address", sa.String(length=500), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["donor_id"], ["donors.id"], name=op.f("fk_tax_receipts_donor_id_donors"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_receipts")),
        sa.UniqueConstraint("number", name=op.f("uq_tax_receipts_number")),
    )
    op.create_index(op.f("ix_tax_receipts_year"), "tax_receipts", ["year"])
    op.create_index(op.f("ix_tax_receipts_donor_id"), "tax_receipts", ["donor_id"])
    op.create_table(
        "tax_receipt_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("cents", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["receipt_id"], ["tax_receipts.id"],
                                name=op.f("fk_tax_receipt_items_receipt_id_tax_receipts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["payment_id"], ["donation_payments.id"],
                                name=op.f("fk_tax_receipt_items_payment_id_donation_payments"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_receipt_items")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_tax_receipt_items_payment_id")),
    )
    op.create_index(op.f("ix_tax_receipt_items_receipt_id"), "tax_receipt_items", ["receipt_id"])


def downgrade():
    op.drop_index(op.f("ix_tax_receipt_items_receipt_id"), table_name="tax_receipt_items")
    op.drop_table("tax_receipt_items")
    op.drop_index(op.f("ix_tax_receipts_donor_id"), table_name="tax_receipts")
    op.drop_index(op.f("ix_tax_receipts_year"), table_name="tax_receipts")
    op.drop_table("tax_receipts")
    op.drop_table("receipt_counters")
    op.drop_table("receipt_addresses")
