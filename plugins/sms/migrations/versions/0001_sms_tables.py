"""sms tables

Revision ID: sms_0001
Revises: 
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
import kernel.db


revision = 'sms_0001'
down_revision = None
branch_labels = ('sms',)
depends_on = 'kernel_0004'  # messages belong to kernel tickets and users


def upgrade():
    op.create_table('sms_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('encoding', sa.String(length=8), nullable=False),
    sa.Column('parts', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('gateway', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('via', sa.String(length=100), nullable=False),
    sa.Column('sent_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reported_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_sms_messages_ticket_id_tickets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sent_by_id'], ['users.id'], name=op.f('fk_sms_messages_sent_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_messages')),
    sa.UniqueConstraint('key', name=op.f('uq_sms_messages_key'))
    )
    op.create_index(op.f('ix_sms_messages_ticket_id'), 'sms_messages', ['ticket_id'], unique=False)
    op.create_index('ix_sms_messages_phone_created', 'sms_messages', ['phone', 'created_at'], unique=False)
    op.create_table('sms_parts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('gateway', sa.String(length=16), nullable=False),
    sa.Column('provider_id', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['sms_messages.id'], name=op.f('fk_sms_parts_message_id_sms_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_parts')),
    sa.UniqueConstraint('gateway', 'provider_id', name=op.f('uq_sms_parts_gateway_provider_id'))
    )
    op.create_index(op.f('ix_sms_parts_message_id'), 'sms_parts', ['message_id'], unique=False)
    op.create_table('sms_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('body_ru', sa.Text(), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_templates')),
    sa.UniqueConstraint('name', name=op.f('uq_sms_templates_name'))
    )
    op.create_table('sms_opt_outs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_opt_outs')),
    sa.UniqueConstraint('phone', name=op.f('uq_sms_opt_outs_phone'))
    )
    op.create_table('sms_dev_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.String(length=40), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('sender', sa.String(length=20), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('parts', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_dev_messages')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_sms_dev_messages_idempotency_key')),
    sa.UniqueConstraint('provider_id', name=op.f('uq_sms_dev_messages_provider_id'))
    )


def downgrade():
    op.drop_table('sms_dev_messages')
    op.drop_table('sms_opt_outs')
    op.drop_table('sms_templates')
    op.drop_index(op.f('ix_sms_parts_message_id'), table_name='sms_parts')
    op.drop_table('sms_parts')
    op.drop_index('ix_sms_messages_phone_created', table_name='sms_messages')
    op.drop_index(op.f('ix_sms_messages_ticket_id'), table_name='sms_messages')
    op.drop_table('sms_messages')
