"""resumable imports: the run that holds an import, its lease, and the chunks already settled

Revision ID: 0019_import_resume
Revises: 0018_stripe_delivery
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_import_resume"
down_revision = "0018_stripe_delivery"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("subscriber_imports") as batch:
        batch.add_column(sa.Column("run", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("resumed", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "subscriber_import_chunks",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("first_line", sa.Integer(), nullable=False),
        sa.Column("last_line", sa.Integer(), nullable=False),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("existing", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("suppressed", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["subscriber_imports.id"], ondelete="CASCADE",
                                name="fk_subscriber_import_chunks_import_id_subscriber_imports"),
        sa.PrimaryKeyConstraint("import_id", "first_line", name="pk_subscriber_import_chunks"),
    )


def downgrade():
    op.drop_table("subscriber_import_chunks")
    with op.batch_alter_table("subscriber_imports") as batch:
        batch.drop_column("resumed")
        batch.drop_column("lease_until")
        batch.drop_column("run")
