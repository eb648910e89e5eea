"""issues reach every reader in the reader's language: the ledger keeps each reader's language, issues and
newsletters may carry an English text beside the German one (empty: the German is used)

Revision ID: 0026_languages
Revises: 0022_accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "0026_languages"
down_revision = "0022_accounts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=8), nullable=False, server_default="de"))
    with op.batch_alter_table("issues") as batch:
        batch.add_column(sa.Column("subject_en", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("preheader_en", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("intro_en", sa.Text(), nullable=True))
    with op.batch_alter_table("newsletters") as batch:
        batch.add_column(sa.Column("name_en", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("description_en", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("newsletters") as batch:
        batch.drop_column("description_en")
        batch.drop_column("name_en")
    with op.batch_alter_table("issues") as batch:
        batch.drop_column("intro_en")
        batch.drop_column("preheader_en")
        batch.drop_column("subject_en")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("locale")
