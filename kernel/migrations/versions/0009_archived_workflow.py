"""pipelines, statuses, transitions: archived_at (archived instead of deleted)

Revision ID: kernel_0006_archive
Revises: kernel_0006_search
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
import kernel.db


revision = 'kernel_0006_archive'
down_revision = 'kernel_0006_search'
branch_labels = None
depends_on = None

TABLES = ('pipelines', 'statuses', 'transitions')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('archived_at', kernel.db.UTCDateTime(timezone=True),
                                          nullable=True))


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('archived_at')
