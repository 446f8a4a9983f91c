"""label_translations: admin-written words in the other languages

Revision ID: kernel_0006_labels
Revises: kernel_0005_sessions
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = 'kernel_0006_labels'
down_revision = 'kernel_0005_sessions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'label_translations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('locale', sa.String(length=16), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_label_translations')),
        sa.UniqueConstraint('digest', 'locale', name=op.f('uq_label_translations_digest_locale')),
    )


def downgrade():
    op.drop_table('label_translations')
