"""The invitation SMS needs where and when: the event's address and start time.

Revision ID: 0005
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('start_time', sa.String(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('start_time')
        batch_op.drop_column('address')
