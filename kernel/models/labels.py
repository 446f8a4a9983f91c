"""Translations of the words an admin writes (X2, K4): a field's label, a status,
a pipeline, a ticket type, a dictionary and its items.

Words the kernel and plugins declare are translated by the message catalogues; an
admin's own words cannot be, so their other-language texts live here, keyed by the
text as it is stored on the row (``source``) — the same way gettext keys a msgid.
"""

from __future__ import annotations

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import db


class LabelTranslation(db.Model):
    __tablename__ = "label_translations"
    # A help text may be long: the key is its SHA-256, not the text (an index on a
    # 2,000-character text exceeds PostgreSQL's B-tree row limit).
    __table_args__ = (UniqueConstraint("digest", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<LabelTranslation {self.locale}:{self.source[:20]}>"
