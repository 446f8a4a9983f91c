"""mailchannel tables

Revision ID: mailchannel_0001
Revises: 
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
import kernel.db


revision = 'mailchannel_0001'
down_revision = None
branch_labels = ('mailchannel',)
depends_on = 'kernel_0004'  # letters belong to kernel tickets, messages and attachments


def upgrade():
    op.create_table('mail_mailboxes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('ticket_type', sa.String(length=64), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('create_customers', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('imap_host', sa.String(length=255), nullable=False),
    sa.Column('imap_port', sa.Integer(), nullable=False),
    sa.Column('imap_security', sa.String(length=16), nullable=False),
    sa.Column('imap_verify', sa.Boolean(), nullable=False),
    sa.Column('imap_username', sa.String(length=254), nullable=False),
    sa.Column('imap_password', sa.String(length=500), nullable=False),
    sa.Column('imap_folder', sa.String(length=200), nullable=False),
    sa.Column('delete_after', sa.Boolean(), nullable=False),
    sa.Column('last_polled_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_mailboxes')),
    sa.UniqueConstraint('name', name=op.f('uq_mail_mailboxes_name'))
    )
    op.create_index(op.f('ix_mail_mailboxes_address'), 'mail_mailboxes', ['address'], unique=False)
    op.create_table('mail_letters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox_id', sa.Integer(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=500), nullable=False),
    sa.Column('raw_sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('thread_message_id', sa.Integer(), nullable=True),
    sa.Column('original_id', sa.Integer(), nullable=True),
    sa.Column('received_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mail_mailboxes.id'], name=op.f('fk_mail_letters_mailbox_id_mail_mailboxes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_mail_letters_ticket_id_tickets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['thread_message_id'], ['messages.id'], name=op.f('fk_mail_letters_thread_message_id_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['original_id'], ['attachments.id'], name=op.f('fk_mail_letters_original_id_attachments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_letters')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_mail_letters_dedupe_key'))
    )
    op.create_index(op.f('ix_mail_letters_mailbox_id'), 'mail_letters', ['mailbox_id'], unique=False)
    op.create_index(op.f('ix_mail_letters_raw_sha256'), 'mail_letters', ['raw_sha256'], unique=False)
    op.create_index(op.f('ix_mail_letters_ticket_id'), 'mail_letters', ['ticket_id'], unique=False)
    op.create_index('ix_mail_letters_sender_received', 'mail_letters', ['sender', 'received_at'], unique=False)
    op.create_table('mail_quarantine',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox_id', sa.Integer(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=64), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mail_mailboxes.id'], name=op.f('fk_mail_quarantine_mailbox_id_mail_mailboxes'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_quarantine')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_mail_quarantine_dedupe_key'))
    )
    op.create_index(op.f('ix_mail_quarantine_mailbox_id'), 'mail_quarantine', ['mailbox_id'], unique=False)
    op.create_index(op.f('ix_mail_quarantine_status'), 'mail_quarantine', ['status'], unique=False)
    op.create_table('mail_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('sender_name', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['letter_id'], ['mail_letters.id'], name=op.f('fk_mail_reviews_letter_id_mail_letters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_mail_reviews_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_mail_reviews_decided_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_reviews'))
    )
    op.create_index(op.f('ix_mail_reviews_letter_id'), 'mail_reviews', ['letter_id'], unique=False)
    op.create_index(op.f('ix_mail_reviews_ticket_id'), 'mail_reviews', ['ticket_id'], unique=False)
    op.create_index(op.f('ix_mail_reviews_status'), 'mail_reviews', ['status'], unique=False)
    op.create_table('mail_bounces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('diagnostic', sa.Text(), nullable=False),
    sa.Column('first_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_at', kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_bounces')),
    sa.UniqueConstraint('address', name=op.f('uq_mail_bounces_address'))
    )


def downgrade():
    op.drop_table('mail_bounces')
    op.drop_index(op.f('ix_mail_reviews_status'), table_name='mail_reviews')
    op.drop_index(op.f('ix_mail_reviews_ticket_id'), table_name='mail_reviews')
    op.drop_index(op.f('ix_mail_reviews_letter_id'), table_name='mail_reviews')
    op.drop_table('mail_reviews')
    op.drop_index(op.f('ix_mail_quarantine_status'), table_name='mail_quarantine')
    op.drop_index(op.f('ix_mail_quarantine_mailbox_id'), table_name='mail_quarantine')
    op.drop_table('mail_quarantine')
    op.drop_index('ix_mail_letters_sender_received', table_name='mail_letters')
    op.drop_index(op.f('ix_mail_letters_ticket_id'), table_name='mail_letters')
    op.drop_index(op.f('ix_mail_letters_raw_sha256'), table_name='mail_letters')
    op.drop_index(op.f('ix_mail_letters_mailbox_id'), table_name='mail_letters')
    op.drop_table('mail_letters')
    op.drop_index(op.f('ix_mail_mailboxes_address'), table_name='mail_mailboxes')
    op.drop_table('mail_mailboxes')
