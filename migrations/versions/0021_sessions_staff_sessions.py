"""staff sessions kept on the server (signing out ends them and their remember cookie); API tokens say why
they were revoked; the staff users' session version goes (the sessions replace it)

Revision ID: 0021_sessions
Revises: 0025_issue_reopened
"""
import sqlalchemy as sa
from alembic import op

revision = "0021_sessions"
down_revision = "0025_issue_reopened"
branch_labels = None
depends_on = None


def _without_email_index(change):
    """SQLite rebuilds the table for a dropped column and loses expression indexes on the way (Alembic
    cannot reflect them), so the case-insensitive uniqueness of addresses is made again afterwards."""
    op.drop_index("uq_staff_users_email_lower", table_name="staff_users")
    with op.batch_alter_table("staff_users") as batch:
        change(batch)
    op.create_index("uq_staff_users_email_lower", "staff_users", [sa.text("lower(email)")], unique=True)


def upgrade():
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("remembered", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("user_agent", sa.String(length=400), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["staff_user_id"], ["staff_users.id"], ondelete="CASCADE",
                                name=op.f("fk_staff_sessions_staff_user_id_staff_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_sessions_token_hash")),
    )
    op.create_index(op.f("ix_staff_sessions_staff_user_id"), "staff_sessions", ["staff_user_id"])
    with op.batch_alter_table("staff_api_tokens") as batch:
        batch.add_column(sa.Column("revoked_because", sa.String(length=32), nullable=True))
    # Sessions signed in under the version scheme end with the upgrade: their cookies name no session row.
    _without_email_index(lambda batch: batch.drop_column("session_version"))


def downgrade():
    _without_email_index(lambda batch: batch.add_column(
        sa.Column("session_version", sa.Integer(), nullable=False, server_default="1")))
    with op.batch_alter_table("staff_api_tokens") as batch:
        batch.drop_column("revoked_because")
    op.drop_index(op.f("ix_staff_sessions_staff_user_id"), table_name="staff_sessions")
    op.drop_table("staff_sessions")
