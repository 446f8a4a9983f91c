"""Ticket types and their pipelines: ordered statuses and allowed transitions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.db import UTCDateTime, db

STATUS_GROUPS = ("open", "closed_success", "closed_failure")


class Pipeline(db.Model):
    __tablename__ = "pipelines"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    plugin: Mapped[str | None] = mapped_column(String(64))
    # Archived: kept for the tickets and history that name it, gone from forms.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))

    # Loaded when first used, not with every ticket: ``kernel.typecache`` puts
    # the pipelines, loaded, in the session (a selectin load would query again
    # for every ticket loaded, loaded pipeline or not).
    statuses: Mapped[list[Status]] = relationship(
        back_populates="pipeline", order_by="Status.order", cascade="all, delete-orphan",
    )
    transitions: Mapped[list[Transition]] = relationship(
        back_populates="pipeline", cascade="all, delete-orphan",
    )

    def status(self, key: str) -> Status | None:
        return next((s for s in self.statuses if s.key == key), None)

    @property
    def active_statuses(self) -> list[Status]:
        """The statuses forms and pickers offer (archived ones left out)."""
        return [s for s in self.statuses if s.archived_at is None]

    def allows(self, from_status: Status, to_status: Status) -> bool:
        return to_status.archived_at is None and any(
            t.from_status_id == from_status.id and t.to_status_id == to_status.id
            and t.archived_at is None
            for t in self.transitions
        )

    def next_statuses(self, from_status: Status) -> list[Status]:
        targets = {t.to_status_id for t in self.transitions
                   if t.from_status_id == from_status.id and t.archived_at is None}
        return [s for s in self.active_statuses if s.id in targets]


class Status(db.Model):
    __tablename__ = "statuses"
    __table_args__ = (UniqueConstraint("pipeline_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    group: Mapped[str] = mapped_column(String(20), default="open")
    order: Mapped[int] = mapped_column(Integer, default=0)
    color: Mapped[str] = mapped_column(String(20), default="")
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))

    pipeline: Mapped[Pipeline] = relationship(back_populates="statuses")

    @property
    def is_closed(self) -> bool:
        return self.group != "open"

    def __repr__(self) -> str:
        return f"<Status {self.key}>"


class Transition(db.Model):
    __tablename__ = "transitions"
    __table_args__ = (UniqueConstraint("pipeline_id", "from_status_id", "to_status_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    from_status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"))
    to_status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"))
    # A forbidden move that was once allowed: kept (restorable), never offered.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))

    pipeline: Mapped[Pipeline] = relationship(back_populates="transitions")
    from_status: Mapped[Status] = relationship(foreign_keys=[from_status_id])
    to_status: Mapped[Status] = relationship(foreign_keys=[to_status_id])


class TicketType(db.Model):
    """Picks the form (field set) and the pipeline of a ticket."""

    __tablename__ = "ticket_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"))
    initial_status_id: Mapped[int | None] = mapped_column(ForeignKey("statuses.id"))
    number_template: Mapped[str] = mapped_column(String(100), default="{seq}")
    plugin: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    customer_can_create: Mapped[bool] = mapped_column(Boolean, default=True)
    order: Mapped[int] = mapped_column(Integer, default=0)

    pipeline: Mapped[Pipeline] = relationship(lazy="joined")
    initial_status: Mapped[Status | None] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<TicketType {self.key}>"
