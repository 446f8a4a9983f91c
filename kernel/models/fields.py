"""Field definitions (K4) and the managed choice lists that choice fields draw from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.db import db

FIELD_TYPES = (
    "text",
    "long_text",
    "number",
    "date",
    "datetime",
    "choice",
    "multi_choice",
    "flag",
    "phone",
    "email",
    "file",
    "reference",
)

# What a deployment may override on a declared field without code (seed 000 §1, §3).
OVERRIDABLE = (
    "label",
    "help_text",
    "order",
    "required",
    "shown_in_list",
    "shown_on_card",
    "shown_to_customer",
    "editable_by_customer",
)


class FieldDefinition(db.Model):
    """One field of a ticket form.

    Declared fields (``plugin`` set) are written by ``sync`` from the plugins'
    declarations into the base columns; the deployment's changes live in
    ``overrides`` so a later sync never clobbers them. Custom fields
    (``plugin`` is NULL) are created by an admin at run time. ``storage`` says
    where a value lives: ``column`` for the kernel's own ticket columns
    (subject, priority...), ``values`` for the ticket's JSON column.
    """

    __tablename__ = "field_definitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(200))
    help_text: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    order: Mapped[int] = mapped_column(Integer, default=100)
    shown_in_list: Mapped[bool] = mapped_column(Boolean, default=False)
    shown_on_card: Mapped[bool] = mapped_column(Boolean, default=True)
    shown_to_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    editable_by_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    ticket_types: Mapped[list[str]] = mapped_column(JSON, default=list)  # [] = every type
    choice_list: Mapped[str | None] = mapped_column(String(64))
    choices: Mapped[list[Any]] = mapped_column(JSON, default=list)  # inline [[value, label]]
    reference: Mapped[str | None] = mapped_column(String(64))  # entity name for "reference"
    max_length: Mapped[int | None] = mapped_column(Integer)
    storage: Mapped[str] = mapped_column(String(10), default="values")
    plugin: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    @property
    def is_custom(self) -> bool:
        return self.plugin is None

    def __repr__(self) -> str:
        return f"<FieldDefinition {self.key}:{self.type}>"


class ChoiceList(db.Model):
    """A dictionary an admin maintains: categories, queues, campaigns, outcomes."""

    __tablename__ = "choice_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    plugin: Mapped[str | None] = mapped_column(String(64))

    items: Mapped[list[ChoiceItem]] = relationship(
        back_populates="choice_list", order_by="ChoiceItem.order", cascade="all, delete-orphan",
        lazy="selectin",
    )


class ChoiceItem(db.Model):
    __tablename__ = "choice_items"
    __table_args__ = (UniqueConstraint("list_id", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("choice_lists.id", ondelete="CASCADE"))
    value: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    group: Mapped[str] = mapped_column(String(200), default="")
    parent: Mapped[str | None] = mapped_column(String(64))  # value of a parent item
    order: Mapped[int] = mapped_column(Integer, default=0)
    visible: Mapped[bool] = mapped_column(Boolean, default=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    choice_list: Mapped[ChoiceList] = relationship(back_populates="items")
