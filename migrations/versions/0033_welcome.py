"""welcome mails: each newsletter's welcome as the editor wrote it, the outbox that sends it once per
reader and newsletter, and the import's choice to send it to readers imported with consent

Revision ID: 0033_welcome
Revises: 0031_deliverability
"""

import sqlalchemy as sa
from alembic import op

revision = "0033_welcome"
down_revision = "0032_segments"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "newsletter_welcomes",
        sa.Column("newsletter_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("delay_minutes", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("subject_en", sa.String(length=200), nullable=False),
        sa.Column("intro", sa.Text(), nullable=False),
        sa.Column("intro_en", sa.Text(), nullable=False),
        sa.Column("content", sa.String(length=20), nullable=False),
        sa.Column("article_ids", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["newsletter_id"],
            ["newsletters.id"],
            name=op.f("fk_newsletter_welcomes_newsletter_id_newsletters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("newsletter_id", name=op.f("pk_newsletter_welcomes")),
    )
    op.create_table(
        "welcome_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("newsletter_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["newsletter_id"],
            ["newsletters.id"],
            name=op.f("fk_welcome_mails_newsletter_id_newsletters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_welcome_mails_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_welcome_mails")),
        sa.UniqueConstraint("subscriber_id", "newsletter_id", name=op.f("uq_welcome_mails_subscriber_id")),
    )
    op.create_index("ix_welcome_mails_enqueued_at_due_at", "welcome_mails", ["enqueued_at", "due_at"])
    op.create_index("ix_welcome_mails_newsletter_id_status", "welcome_mails", ["newsletter_id", "status"])
    with op.batch_alter_table("subscriber_imports") as batch:
        batch.add_column(sa.Column("send_welcome", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("subscriber_imports") as batch:
        batch.drop_column("send_welcome")
    op.drop_index("ix_welcome_mails_newsletter_id_status", table_name="welcome_mails")
    op.drop_index("ix_welcome_mails_enqueued_at_due_at", table_name="welcome_mails")
    op.drop_table("welcome_mails")
    op.drop_table("newsletter_welcomes")
