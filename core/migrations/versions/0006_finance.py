"""The cashier closes the day: seats and last year's 商业险 on the vehicle (plausibility guard),
invoice details and a confirmed-amount note on the renewal.

Revision ID: 0006
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0006'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('vehicle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seats', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('commercial_last_fen', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('renewal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invoice_kind', sqlmodel.sql.sqltypes.AutoString(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('invoice_title', sqlmodel.sql.sqltypes.AutoString(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('invoice_tax_id', sqlmodel.sql.sqltypes.AutoString(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('amount_note', sqlmodel.sql.sqltypes.AutoString(), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('renewal', schema=None) as batch_op:
        batch_op.drop_column('amount_note')
        batch_op.drop_column('invoice_tax_id')
        batch_op.drop_column('invoice_title')
        batch_op.drop_column('invoice_kind')
    with op.batch_alter_table('vehicle', schema=None) as batch_op:
        batch_op.drop_column('commercial_last_fen')
        batch_op.drop_column('seats')
