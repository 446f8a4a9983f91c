"""The effective fields of a ticket form: declared defaults + deployment
overrides + run-time custom fields (K4, P7), and the choices each may take."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from kernel import runtime
from kernel.db import db
from kernel.models import ChoiceList, Customer, FieldDefinition, Ticket, TicketType, User
from kernel.models.fields import OVERRIDABLE


@dataclass(frozen=True)
class Field:
    key: str
    type: str
    label: str
    help_text: str
    required: bool
    order: int
    shown_in_list: bool
    shown_on_card: bool
    shown_to_customer: bool
    editable_by_customer: bool
    choice_list: str | None
    choices: tuple[tuple[str, str], ...]
    reference: str | None
    max_length: int | None
    storage: str
    plugin: str | None
    ticket_types: tuple[str, ...]

    @classmethod
    def from_row(cls, row: FieldDefinition) -> Field:
        base = {f.name: getattr(row, f.name) for f in fields(cls) if hasattr(row, f.name)}
        base["choices"] = tuple(tuple(c) for c in (row.choices or []))
        base["ticket_types"] = tuple(row.ticket_types or [])
        for key, value in (row.overrides or {}).items():
            if key in OVERRIDABLE:
                base[key] = value
        return cls(**base)

    @property
    def is_custom(self) -> bool:
        return self.plugin is None


def all_fields(include_inactive: bool = False) -> list[Field]:
    query = db.select(FieldDefinition)
    if not include_inactive:
        query = query.where(FieldDefinition.is_active.is_(True))
    rows = db.session.scalars(query).all()
    return sorted((Field.from_row(r) for r in rows), key=lambda f: (f.order, f.key))


def for_type(ticket_type: TicketType, audience: str = "agent") -> list[Field]:
    """Fields of this type's form, in order. ``audience="customer"``: only those
    a customer fills in; ``"customer_view"``: only those a customer may see."""
    result = [f for f in all_fields() if not f.ticket_types or ticket_type.key in f.ticket_types]
    if audience == "customer":
        result = [f for f in result if f.editable_by_customer]
    elif audience == "customer_view":
        result = [f for f in result if f.shown_to_customer]
    return result


def base_choices(field: Field) -> list[tuple[str, str]] | None:
    """The field's own list (inline or a managed dictionary), None if it has none."""
    if field.choices:
        return [(str(v), str(lbl)) for v, lbl in field.choices]
    if field.choice_list:
        clist = db.session.scalar(db.select(ChoiceList).where(ChoiceList.key == field.choice_list))
        if clist is None:
            return []
        return [(i.value, i.label) for i in clist.items if i.visible]
    return None


def allowed_choices(
    field: Field,
    ticket_type: TicketType | None,
    actor: User | None,
    customer: Customer | None,
    ticket: Ticket | None,
) -> list[tuple[str, str]] | None:
    """The choices allowed in this context, or None for "any valid value".

    Combines the field's own list with every plugin's ``hookdesk_field_choices``
    answer (see the spec: intersection; for a reference field without a list,
    the union of answers is the base)."""
    base = base_choices(field)
    definition = db.session.scalar(db.select(FieldDefinition).where(FieldDefinition.key == field.key))
    answers = [
        [(str(v), str(lbl)) for v, lbl in answer]
        for _plugin, answer in runtime.host().collect(
            "hookdesk_field_choices",
            field=definition,
            ticket_type=ticket_type,
            actor=actor,
            customer=customer,
            ticket=ticket,
        )
    ]
    if base is None:
        if not answers:
            return None
        merged: dict[str, str] = {}
        for answer in answers:
            merged.update(dict(answer))
        base = sorted(merged.items(), key=lambda kv: kv[1])
        answers = answers if len(answers) > 1 else []
    for answer in answers:
        keep = {v for v, _ in answer}
        base = [(v, lbl) for v, lbl in base if v in keep]
    return base

