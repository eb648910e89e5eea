"""subscriber ids are never reused (SQLite AUTOINCREMENT)

Unsubscribe links carry a reader's id and never expire. PostgreSQL sequences never hand out an id twice;
SQLite reuses the highest id after a delete unless the table is AUTOINCREMENT. This rebuilds the table
on SQLite only; PostgreSQL is unchanged.

Revision ID: 0006_subscriber_ids
Revises: 0005_editorial
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_subscriber_ids"
down_revision = "0005_editorial"
branch_labels = None
depends_on = None

# Expression indexes do not survive a SQLite table rebuild; they are put back afterwards.
EXPRESSION_INDEXES = {
    "uq_subscribers_email_lower": True,
    "ix_subscribers_email_lower_pattern": False,
}


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "subscribers", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass
    for name, unique in EXPRESSION_INDEXES.items():
        op.create_index(name, "subscribers", [sa.text("lower(email)")], unique=unique, if_not_exists=True)


def upgrade():
    _rebuild(True)


def downgrade():
    _rebuild(False)
