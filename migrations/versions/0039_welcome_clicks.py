"""welcome_links: the counted links of each newsletter's welcome mail (CLICK_COUNTING)

Revision ID: 0039_welcome_clicks
Revises: 0037_bank_transfer
"""

import sqlalchemy as sa
from alembic import op

revision = "0039_welcome_clicks"
down_revision = "0036_yearly_fee"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "welcome_links",
        sa.Column("newsletter_id", sa.Integer(), nullable=False),
        sa.Column("link_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["newsletter_id"],
            ["newsletters.id"],
            name=op.f("fk_welcome_links_newsletter_id_newsletters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("newsletter_id", "link_no", name=op.f("pk_welcome_links")),
    )


def downgrade():
    op.drop_table("welcome_links")
