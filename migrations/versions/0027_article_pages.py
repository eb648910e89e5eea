"""article pages: an article written here gets its own public page, and its image a description for
readers who cannot see it

Revision ID: 0027_article_pages
Revises: 0022_accounts
"""
import sqlalchemy as sa
from alembic import op

revision = "0027_article_pages"
down_revision = "0022_accounts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("image_alt", sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("image_alt")
