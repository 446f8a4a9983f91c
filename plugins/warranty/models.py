"""Tables of the warranty plugin (prefix ``warranty_``).

Houses hold apartments; buyers (the kernel's customers) own apartments; a claim
is a kernel ticket whose ``apartment`` field points at one, and its defects live
here, each with photos (kernel attachments of the claim) and a mark on the plan.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.db import UTCDateTime, db, utcnow

# A defect is done when fixed or rejected; the claim's progress counts those.
DEFECT_STATUSES = ("new", "in_progress", "fixed", "rejected")
DONE_STATUSES = ("fixed", "rejected")


class House(db.Model):
    """A building under warranty until ``warranty_until`` (inclusive)."""

    __tablename__ = "warranty_houses"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str] = mapped_column(String(500), default="")
    warranty_until: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    apartments: Mapped[list[Apartment]] = relationship(
        back_populates="house", order_by="Apartment.id", lazy="select")

    def warranty_active(self, today: date) -> bool:
        return self.warranty_until >= today


class Apartment(db.Model):
    """One apartment; its floor plan is a stored image (content-addressed blob)."""

    __tablename__ = "warranty_apartments"
    __table_args__ = (UniqueConstraint("house_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    house_id: Mapped[int] = mapped_column(ForeignKey("warranty_houses.id", ondelete="RESTRICT"),
                                          index=True)
    number: Mapped[str] = mapped_column(String(20))
    floor: Mapped[int | None] = mapped_column(Integer)
    plan_sha256: Mapped[str | None] = mapped_column(String(64))
    plan_content_type: Mapped[str | None] = mapped_column(String(50))
    plan_width: Mapped[int | None] = mapped_column(Integer)
    plan_height: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    house: Mapped[House] = relationship(back_populates="apartments", lazy="joined")
    owners: Mapped[list[Ownership]] = relationship(
        back_populates="apartment", cascade="all, delete-orphan", lazy="select")

    @property
    def has_plan(self) -> bool:
        return self.plan_sha256 is not None


class Ownership(db.Model):
    """A buyer (kernel customer) owns an apartment; an apartment may have several."""

    __tablename__ = "warranty_ownerships"
    __table_args__ = (UniqueConstraint("apartment_id", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    apartment_id: Mapped[int] = mapped_column(
        ForeignKey("warranty_apartments.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    apartment: Mapped[Apartment] = relationship(back_populates="owners")


class Defect(db.Model):
    """One defect of a claim: category, text, an optional mark on the plan
    (``x``, ``y`` as fractions 0..1 of the image's width and height) and its own
    status. ``position`` is its number on the claim (1, 2, ...)."""

    __tablename__ = "warranty_defects"
    __table_args__ = (UniqueConstraint("ticket_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    position: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    x: Mapped[float | None] = mapped_column(Float)
    y: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    photos: Mapped[list[DefectPhoto]] = relationship(
        cascade="all, delete-orphan", order_by="DefectPhoto.attachment_id", lazy="selectin")

    @property
    def is_done(self) -> bool:
        return self.status in DONE_STATUSES

    @property
    def marked(self) -> bool:
        return self.x is not None and self.y is not None


class DefectPhoto(db.Model):
    """A photo of a defect: an attachment of the claim, tied to the defect."""

    __tablename__ = "warranty_defect_photos"

    defect_id: Mapped[int] = mapped_column(
        ForeignKey("warranty_defects.id", ondelete="CASCADE"), primary_key=True)
    attachment_id: Mapped[int] = mapped_column(
        ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True)
