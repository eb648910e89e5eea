"""staff accounts: two-factor sign-in (TOTP secret, last step, recovery codes), invitations, staff settings

Revision ID: 0022_accounts
Revises: 0024_content
"""
import sqlalchemy as sa
from alembic import op

revision = "0022_accounts"
down_revision = "0024_content"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["staff_user_id"], ["staff_users.id"], ondelete="CASCADE",
                                name="fk_staff_recovery_codes_staff_user_id_staff_users"),
        sa.PrimaryKeyConstraint("id", name="pk_staff_recovery_codes"),
        sa.UniqueConstraint("staff_user_id", "code_hash", name="uq_staff_recovery_codes_staff_user_id"),
    )
    op.create_table(
        "staff_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.Enum("editor", "admin", name="staff_role", native_enum=False,
                                  create_constraint=True, length=32), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("staff_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["invited_by_id"], ["staff_users.id"], ondelete="SET NULL",
                                name="fk_staff_invitations_invited_by_id_staff_users"),
        sa.ForeignKeyConstraint(["staff_user_id"], ["staff_users.id"], ondelete="SET NULL",
                                name="fk_staff_invitations_staff_user_id_staff_users"),
        sa.PrimaryKeyConstraint("id", name="pk_staff_invitations"),
    )
    op.create_table(
        "staff_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_staff_settings"),
    )


def downgrade():
    op.drop_table("staff_settings")
    op.drop_table("staff_invitations")
    op.drop_table("staff_recovery_codes")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_enabled_at")
        batch.drop_column("totp_secret")
