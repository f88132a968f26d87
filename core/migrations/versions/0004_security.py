"""Security: wrong-PIN counting and lockout per staff member.

Revision ID: 0004
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff') as batch:
        batch.add_column(sa.Column('failed_pins', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('lockouts', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff') as batch:
        batch.drop_column('locked_until')
        batch.drop_column('lockouts')
        batch.drop_column('failed_pins')
