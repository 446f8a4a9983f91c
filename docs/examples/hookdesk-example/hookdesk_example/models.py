"""The plugin's own table. Kernel tables are never altered: a plugin adds its own
tables, prefixed with its name (``example_``), and refers to kernel rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.db import UTCDateTime, db, utcnow
from kernel.models import Ticket, User

SCORE_MIN = 1
SCORE_MAX = 5


class Rating(db.Model):
    """A customer's satisfaction rating of one ticket (one per ticket; rating
    again replaces the score and records another ``example.rated`` event)."""

    __tablename__ = "example_ratings"
    __table_args__ = (
        CheckConstraint(f"score >= {SCORE_MIN} AND score <= {SCORE_MAX}", name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    ticket: Mapped[Ticket] = relationship()
    author: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Rating {self.ticket_id}: {self.score}>"
