"""test readers: the newsroom's own addresses that test sends of an issue go to

Revision ID: 0028_test_readers
Revises: 0027_article_pages
"""

import sqlalchemy as sa
from alembic import op

revision = "0028_test_readers"
down_revision = "0027_article_pages"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "test_readers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff_users.id"], ondelete="SET NULL",
                                name="fk_test_readers_created_by_id_staff_users"),
        sa.PrimaryKeyConstraint("id", name="pk_test_readers"),
        sa.UniqueConstraint("email", name="uq_test_readers_email"),
    )  # fmt: skip


def downgrade():
    op.drop_table("test_readers")
