"""The full-text index (issue 14 item 5): one row per searchable text of a ticket.

Written only by ``kernel.services.search`` (in the unit of work that changes the
ticket or message). ``document`` is a PostgreSQL ``tsvector`` ('russian'
configuration); on SQLite it is the stemmed text, indexed by the FTS5 table
``search_fts`` (external content: the triggers of migration ``kernel_0006``
keep it in step with this table).
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import db


class SearchEntry(db.Model):
    """One indexed text: a field of a ticket (``field_key`` set) or a message
    (``message_id`` set). ``internal``: an internal note, read only by agents
    allowed to read them."""

    __tablename__ = "search_entries"
    # PostgreSQL: a GIN index. SQLite indexes ``document`` with FTS5 (``search_fts``);
    # there the index of this name is partial and empty (``WHERE 0``): the schema
    # keeps one shape on both back ends at no cost.
    __table_args__ = (Index("ix_search_entries_document", "document", postgresql_using="gin",
                            sqlite_where=text("0")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    field_key: Mapped[str | None] = mapped_column(String(64))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    document: Mapped[str] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"))
