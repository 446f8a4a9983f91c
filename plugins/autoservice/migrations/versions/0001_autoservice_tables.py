"""autoservice tables

Revision ID: autoservice_0001
Revises: 
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
import kernel.db


revision = 'autoservice_0001'
down_revision = None
branch_labels = ('autoservice',)
depends_on = 'kernel_0004'  # contacts are kernel tickets; work orders belong to customers


def upgrade():
    op.create_table('autoservice_contacts',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('auto_category', sa.String(length=64), nullable=True),
    sa.Column('rule', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.JSON(), nullable=False),
    sa.Column('overridden', sa.Boolean(), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=64), nullable=True),
    sa.Column('outcome_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('service_request_id', sa.Integer(), nullable=True),
    sa.Column('continued_request_id', sa.Integer(), nullable=True),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_autoservice_contacts_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_autoservice_contacts_customer_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_request_id'], ['tickets.id'], name=op.f('fk_autoservice_contacts_service_request_id_tickets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['continued_request_id'], ['tickets.id'], name=op.f('fk_autoservice_contacts_continued_request_id_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_autoservice_contacts'))
    )
    with op.batch_alter_table('autoservice_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_autoservice_contacts_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_autoservice_contacts_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_autoservice_contacts_outcome'), ['outcome'], unique=False)
        batch_op.create_index(batch_op.f('ix_autoservice_contacts_created_at'), ['created_at'], unique=False)

    op.create_table('autoservice_work_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=True),
    sa.Column('number', sa.String(length=50), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('car_make', sa.String(length=100), nullable=False),
    sa.Column('car_model', sa.String(length=100), nullable=False),
    sa.Column('plate', sa.String(length=20), nullable=False),
    sa.Column('vin', sa.String(length=17), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_autoservice_work_orders_customer_id_customers'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_autoservice_work_orders')),
    sa.UniqueConstraint('external_id', name=op.f('uq_autoservice_work_orders_external_id')),
    sa.UniqueConstraint('number', name=op.f('uq_autoservice_work_orders_number'))
    )
    with op.batch_alter_table('autoservice_work_orders', schema=None) as batch_op:
        batch_op.create_index('ix_autoservice_work_orders_customer_status', ['customer_id', 'status'], unique=False)


def downgrade():
    op.drop_table('autoservice_work_orders')
    op.drop_table('autoservice_contacts')
