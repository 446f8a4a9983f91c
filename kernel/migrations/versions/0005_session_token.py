"""users.session_token: a random value in every session id, renewed to end sessions

Revision ID: kernel_0005_sessions
Revises: kernel_0004
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = 'kernel_0005_sessions'
down_revision = 'kernel_0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_token')
