"""Before and after the event: the call log and the daily call plan (issue 12).

Incentive tiers, the counting basis, the WeCom webhook URL and the notifier's last check-in
are Setting rows (no schema).

Revision ID: 0008
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0008'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calllog',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=False),
    sa.Column('caller_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('party_size', sa.Integer(), nullable=False),
    sa.Column('expected_arrival', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sms_sent', sa.Boolean(), nullable=False),
    sa.Column('sms_receipt', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['caller_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('calllog', schema=None) as batch_op:
        batch_op.create_index('ix_calllog_event_at', ['event_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_calllog_invitation_id'), ['invitation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calllog_caller_id'), ['caller_id'], unique=False)

    op.create_table('callplan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('planned_calls', sa.Integer(), nullable=False),
    sa.Column('planned_sms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'day', name='uq_callplan_event_day')
    )
    with op.batch_alter_table('callplan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callplan_event_id'), ['event_id'], unique=False)


def downgrade() -> None:
    op.drop_table('callplan')
    op.drop_table('calllog')
