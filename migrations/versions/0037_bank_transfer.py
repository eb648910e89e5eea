"""bank transfers: donations paid by transfer (payment_method), the imported booking lines and the imports

Revision ID: 0037_bank_transfer
Revises: 0031_deliverability
"""

import sqlalchemy as sa
from alembic import op

revision = "0037_bank_transfer"
down_revision = "0038_tax_receipts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("donations") as batch:
        batch.add_column(sa.Column("payment_method", sa.String(length=20), nullable=True))
    op.create_table(
        "bank_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("encoding", sa.String(length=20), nullable=False),
        sa.Column("delimiter", sa.String(length=1), nullable=False),
        sa.Column("header_line", sa.Integer(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("recorded", sa.Boolean(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_imports")),
    )
    op.create_table(
        "bank_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_key", sa.String(length=80), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("line_number", sa.Integer(), nullable=True),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payer_name", sa.String(length=200), nullable=True),
        sa.Column("payer_iban", sa.String(length=34), nullable=True),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "matched",
                "unmatched",
                "set_aside",
                name="bank_transfer_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("donation_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["bank_imports.id"],
            name=op.f("fk_bank_transfers_import_id_bank_imports"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["donation_id"],
            ["donations.id"],
            name=op.f("fk_bank_transfers_donation_id_donations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_transfers")),
        sa.UniqueConstraint("line_key", name=op.f("uq_bank_transfers_line_key")),
    )
    op.create_index("ix_bank_transfers_state_booked_on", "bank_transfers", ["state", "booked_on"])
    op.create_index(op.f("ix_bank_transfers_donation_id"), "bank_transfers", ["donation_id"])


def downgrade():
    op.drop_index(op.f("ix_bank_transfers_donation_id"), table_name="bank_transfers")
    op.drop_index("ix_bank_transfers_state_booked_on", table_name="bank_transfers")
    op.drop_table("bank_transfers")
    op.drop_table("bank_imports")
    with op.batch_alter_table("donations") as batch:
        batch.drop_column("payment_method")
