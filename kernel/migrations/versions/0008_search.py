"""search_entries: the full-text index of subjects, text fields and messages

PostgreSQL: a tsvector column ('russian' configuration) with a GIN index.
SQLite: the stemmed text, indexed by the FTS5 table search_fts (external content),
kept in step with search_entries by the triggers below.
Builds the index of the tickets and messages already there.

Revision ID: kernel_0006_search
Revises: kernel_0006_list_indexes
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'kernel_0006_search'
down_revision = 'kernel_0006_list_indexes'
branch_labels = None
depends_on = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(document, content='search_entries', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_entries_ai AFTER INSERT ON search_entries BEGIN "
    "INSERT INTO search_fts(rowid, document) VALUES (new.id, new.document); END",
    "CREATE TRIGGER search_entries_ad AFTER DELETE ON search_entries BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, document) VALUES ('delete', old.id, old.document); END",
    "CREATE TRIGGER search_entries_au AFTER UPDATE ON search_entries BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, document) VALUES ('delete', old.id, old.document); "
    "INSERT INTO search_fts(rowid, document) VALUES (new.id, new.document); END",
]


def upgrade():
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    op.create_table(
        'search_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('field_key', sa.String(length=64), nullable=True),
        sa.Column('internal', sa.Boolean(), nullable=False),
        sa.Column('document', postgresql.TSVECTOR() if postgres else sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE',
                                name=op.f('fk_search_entries_ticket_id_tickets')),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE',
                                name=op.f('fk_search_entries_message_id_messages')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_entries')),
    )
    op.create_index(op.f('ix_search_entries_ticket_id'), 'search_entries', ['ticket_id'])
    op.create_index(op.f('ix_search_entries_message_id'), 'search_entries', ['message_id'])
    # GIN on PostgreSQL; on SQLite an empty partial index (FTS5 does the work there).
    op.create_index('ix_search_entries_document', 'search_entries', ['document'],
                    postgresql_using='gin', sqlite_where=sa.text('0'))
    if not postgres:
        for statement in SQLITE_FTS:
            op.execute(statement)
    # The index of what is already there. The code is the service's own, so the
    # index a migration builds is the one the services keep up.
    from kernel.services import search

    search.rebuild(bind)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        for name in ('search_entries_au', 'search_entries_ad', 'search_entries_ai'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_index('ix_search_entries_document', table_name='search_entries')
    op.drop_index(op.f('ix_search_entries_message_id'), table_name='search_entries')
    op.drop_index(op.f('ix_search_entries_ticket_id'), table_name='search_entries')
    op.drop_table('search_entries')
