"""Event-day desks: check-in, renewal, gifts, the draw box, receipts and printers.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deskprinter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('desk', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('connection', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('host', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('usb_vendor', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('usb_product', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('serial_device', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('render', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('paper_mm', sa.Integer(), nullable=False),
    sa.Column('timeout_s', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('desk')
    )
    op.create_table('gifttype',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('value_fen', sa.BigInteger(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.Column('initial_stock', sa.Integer(), nullable=False),
    sa.Column('substitute_id', sa.Integer(), nullable=True),
    sa.Column('low_threshold', sa.Integer(), nullable=False),
    sa.Column('release_after', sa.DateTime(), nullable=True),
    sa.Column('is_consolation', sa.Boolean(), nullable=False),
    sa.CheckConstraint('stock >= 0', name='ck_gift_type_stock_nonnegative'),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
    sa.ForeignKeyConstraint(['substitute_id'], ['gifttype.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'name', name='uq_gift_type_event_name')
    )
    with op.batch_alter_table('gifttype', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gifttype_event_id'), ['event_id'], unique=False)

    op.create_table('printjob',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('receipt_no', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('desk', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('preview', sa.Text(), server_default='', nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('is_copy', sa.Boolean(), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('printjob', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_printjob_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_printjob_receipt_no'), ['receipt_no'], unique=False)

    op.create_table('checkin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('desk', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('party_size', sa.Integer(), nullable=False),
    sa.Column('undone_at', sa.DateTime(), nullable=True),
    sa.Column('undone_by', sa.Integer(), nullable=True),
    sa.Column('undo_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['undone_by'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('invitation_id')
    )
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_event_id'), ['event_id'], unique=False)

    op.create_table('renewal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('receipt_no', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('insurer', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('compulsory_fen', sa.BigInteger(), nullable=False),
    sa.Column('commercial_fen', sa.BigInteger(), nullable=False),
    sa.Column('vehicle_tax_fen', sa.BigInteger(), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('coverage', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('policy_numbers', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('payment_method', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('payment_ref', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('advisor_id', sa.Integer(), nullable=True),
    sa.Column('credit_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('cashier_id', sa.Integer(), nullable=True),
    sa.Column('desk', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('invoice_no', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('invoiced_at', sa.DateTime(), nullable=True),
    sa.Column('invoiced_by', sa.Integer(), nullable=True),
    sa.Column('voided_at', sa.DateTime(), nullable=True),
    sa.Column('voided_by', sa.Integer(), nullable=True),
    sa.Column('void_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['advisor_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['cashier_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], ),
    sa.ForeignKeyConstraint(['invoiced_by'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle.id'], ),
    sa.ForeignKeyConstraint(['voided_by'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('receipt_no')
    )
    with op.batch_alter_table('renewal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_renewal_advisor_id'), ['advisor_id'], unique=False)
        batch_op.create_index('ix_renewal_event_created', ['event_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_renewal_invitation_id'), ['invitation_id'], unique=False)
        batch_op.create_index('uq_renewal_vehicle_live', ['event_id', 'vehicle_id'], unique=True, sqlite_where=sa.text('voided_at IS NULL'), postgresql_where=sa.text('voided_at IS NULL'))

    op.create_table('drawresult',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=False),
    sa.Column('renewal_id', sa.Integer(), nullable=False),
    sa.Column('chance_no', sa.Integer(), nullable=False),
    sa.Column('prize_id', sa.Integer(), nullable=True),
    sa.Column('drawn_prize_id', sa.Integer(), nullable=True),
    sa.Column('box_seen', sa.Text(), server_default='', nullable=False),
    sa.Column('random_value', sa.Integer(), nullable=False),
    sa.Column('mode', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('desk', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('receipt_no', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reclaim', sa.Boolean(), nullable=False),
    sa.Column('reclaimed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['drawn_prize_id'], ['gifttype.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], ),
    sa.ForeignKeyConstraint(['prize_id'], ['gifttype.id'], ),
    sa.ForeignKeyConstraint(['renewal_id'], ['renewal.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('renewal_id', 'chance_no', name='uq_draw_renewal_chance')
    )
    with op.batch_alter_table('drawresult', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drawresult_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drawresult_renewal_id'), ['renewal_id'], unique=False)

    op.create_table('giftissue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=False),
    sa.Column('renewal_id', sa.Integer(), nullable=True),
    sa.Column('gift_type_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('substituted_for', sa.Integer(), nullable=True),
    sa.Column('desk', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('receipt_no', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reclaim', sa.Boolean(), nullable=False),
    sa.Column('reclaimed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
    sa.ForeignKeyConstraint(['gift_type_id'], ['gifttype.id'], ),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], ),
    sa.ForeignKeyConstraint(['renewal_id'], ['renewal.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['substituted_for'], ['gifttype.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('giftissue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_giftissue_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_giftissue_invitation_id'), ['invitation_id'], unique=False)
        batch_op.create_index('uq_gift_arrival', ['invitation_id'], unique=True, sqlite_where=sa.text("kind = 'arrival'"), postgresql_where=sa.text("kind = 'arrival'"))
        batch_op.create_index('uq_gift_renewal', ['renewal_id'], unique=True, sqlite_where=sa.text("kind = 'renewal'"), postgresql_where=sa.text("kind = 'renewal'"))


def downgrade() -> None:
    op.drop_table('giftissue')
    op.drop_table('drawresult')
    op.drop_table('renewal')
    op.drop_table('checkin')
    op.drop_table('printjob')
    op.drop_table('gifttype')
    op.drop_table('deskprinter')
