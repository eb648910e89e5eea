"""send control: paused issues, cancelled ledger rows, the claim that holds a row being sent

Revision ID: 0011_send_control
Revises: 0010_mail_auth
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_send_control'
down_revision = '0010_mail_auth'
branch_labels = None
depends_on = None

ISSUE_STATES = ('draft', 'scheduled', 'sending', 'paused', 'sent', 'cancelled')
DELIVERY_STATES = ('queued', 'sending', 'sent', 'failed', 'bounced', 'skipped', 'uncertain', 'cancelled')


def _check(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _replace_checks(issue_states, delivery_states):
    for table, name, column, values in (
        ('issues', 'ck_issues_issue_state', 'state', issue_states),
        ('deliveries', 'ck_deliveries_delivery_status', 'status', delivery_states),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(name), type_='check')
            batch_op.create_check_constraint(op.f(name), sa.text(_check(column, values)))


def upgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim', sa.String(length=32), nullable=True))
    _replace_checks(ISSUE_STATES, DELIVERY_STATES)


def downgrade():
    op.execute("UPDATE issues SET state = 'sending' WHERE state = 'paused'")
    op.execute("UPDATE deliveries SET status = 'skipped' WHERE status = 'cancelled'")
    _replace_checks(tuple(s for s in ISSUE_STATES if s != 'paused'),
                    tuple(s for s in DELIVERY_STATES if s != 'cancelled'))
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('claim')
