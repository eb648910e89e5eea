"""donors and clicks: issue links counted per link; the donor address index serves prefix search

Revision ID: 0015_donors_clicks
Revises: 0013_issue_goal_block
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_donors_clicks"
down_revision = "0014_stats"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "issue_links",
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("link_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name=op.f("fk_issue_links_issue_id_issues"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("issue_id", "link_no", name=op.f("pk_issue_links")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Built beside the old one and swapped, so one donor per address is enforced throughout.
        op.execute("CREATE UNIQUE INDEX uq_donors_email_lower_new ON donors (lower(email) text_pattern_ops)")
        op.drop_index("uq_donors_email_lower", table_name="donors")
        op.execute("ALTER INDEX uq_donors_email_lower_new RENAME TO uq_donors_email_lower")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE UNIQUE INDEX uq_donors_email_lower_old ON donors (lower(email))")
        op.drop_index("uq_donors_email_lower", table_name="donors")
        op.execute("ALTER INDEX uq_donors_email_lower_old RENAME TO uq_donors_email_lower")
    op.drop_table("issue_links")
