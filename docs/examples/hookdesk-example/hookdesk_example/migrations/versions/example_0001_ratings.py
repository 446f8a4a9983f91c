"""example: satisfaction ratings

The first revision of the ``example`` branch, generated with
``hookdesk db revision --plugin example -m ratings`` (which writes the readable
revision id, the branch label and ``depends_on`` the kernel's head by itself;
this file depends on ``kernel_0001``, the oldest kernel revision it needs).

Revision ID: example_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import kernel.db

revision = "example_0001"
down_revision = None
branch_labels = ("example",)
depends_on = "kernel_0001"  # example_ratings refers to tickets and users


def upgrade():
    op.create_table(
        "example_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "score >= 1 AND score <= 5", name=op.f("ck_example_ratings_score_range")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"],
            name=op.f("fk_example_ratings_author_id_users"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"],
            name=op.f("fk_example_ratings_ticket_id_tickets"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_example_ratings")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_example_ratings_ticket_id")),
    )
    with op.batch_alter_table("example_ratings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_example_ratings_created_at"), ["created_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("example_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_example_ratings_created_at"))
    op.drop_table("example_ratings")
