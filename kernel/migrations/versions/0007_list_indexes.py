"""Indexes the ticket lists walk at 10^6 tickets (issue 14): one per sort the
lists offer, (assignee_id, created_at) and (customer_id, created_at) for the
"mine" view and a customer's "my tickets", and the customers' phones and
e-mails by customer (the customer column read them by full scans).

Revision ID: kernel_0006_list_indexes
Revises: kernel_0006_labels
Create Date: 2026-12-03
"""
from alembic import op


revision = 'kernel_0006_list_indexes'
down_revision = 'kernel_0006_labels'
branch_labels = None
depends_on = None

INDEXES = (
    ('ix_tickets_assignee_created', 'tickets', ['assignee_id', 'created_at']),
    ('ix_tickets_customer_created', 'tickets', ['customer_id', 'created_at']),
    ('ix_tickets_updated_at', 'tickets', ['updated_at']),
    ('ix_tickets_subject', 'tickets', ['subject']),
    ('ix_tickets_priority', 'tickets', ['priority']),
    ('ix_customer_phones_customer_id', 'customer_phones', ['customer_id']),
    ('ix_customer_emails_customer_id', 'customer_emails', ['customer_id']),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
