"""notifications: the administrator's rules for others (A5)

Revision ID: notifications_0002
Revises: notifications_0001
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = 'notifications_0002'
down_revision = 'notifications_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notifications_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=80), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('event', sa.String(length=100), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_rules_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications_rules')),
    sa.UniqueConstraint('target', 'event', 'channel', name=op.f('uq_notifications_rules_target_event_channel'))
    )
    with op.batch_alter_table('notifications_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_rules_target'), ['target'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_rules_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_rules_event'), ['event'], unique=False)


def downgrade():
    with op.batch_alter_table('notifications_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_rules_event'))
        batch_op.drop_index(batch_op.f('ix_notifications_rules_user_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_rules_target'))
    op.drop_table('notifications_rules')
