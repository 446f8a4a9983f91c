"""Admin changes to fields (K4, P7) and dictionaries: overrides of declared
fields, run-time custom fields, choice-list items."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from kernel import permissions, runtime
from kernel.db import db
from kernel.errors import NotFound, ValidationFailed
from kernel.models import ChoiceItem, ChoiceList, FieldDefinition, User
from kernel.models.fields import FIELD_TYPES, OVERRIDABLE
from kernel.models.tickets import COLUMN_FIELDS
from kernel.services import storable
from kernel.services.audit import audited
from kernel.services.uow import unit_of_work
from kernel.services.workflow import KEY_RE


class OverrideSchema(Schema):
    label = fields.String(validate=validate.Length(min=1, max=200))
    help_text = fields.String(validate=validate.Length(max=2000))
    order = fields.Integer(strict=False)
    required = fields.Boolean()
    shown_in_list = fields.Boolean()
    shown_on_card = fields.Boolean()
    shown_to_customer = fields.Boolean()
    editable_by_customer = fields.Boolean()


class CustomFieldSchema(OverrideSchema):
    key = fields.String(required=True, validate=validate.Regexp(KEY_RE, error="Use a-z, 0-9, _."))
    type = fields.String(required=True, validate=validate.OneOf(FIELD_TYPES))
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    ticket_types = fields.List(fields.String(), load_default=list)
    choice_list = fields.String(allow_none=True, load_default=None)
    choices = fields.List(fields.List(fields.String(), validate=validate.Length(equal=2)),
                          load_default=list)
    reference = fields.String(allow_none=True, load_default=None)
    max_length = fields.Integer(allow_none=True, load_default=None,
                                validate=validate.Range(min=1, max=100_000))


def definition(key: str) -> FieldDefinition:
    row = None
    if storable(key, 64):
        row = db.session.scalar(db.select(FieldDefinition).where(FieldDefinition.key == key))
    if row is None:
        raise NotFound(f"Unknown field {key!r}.")
    return row


@audited("fields.override")
def override(key: str, changes: dict[str, Any], actor: User | None = None) -> FieldDefinition:
    """Relabel, reorder, require, describe or show/hide a field."""
    permissions.require(actor, "admin.settings")
    row = definition(key)
    unknown = {k: "Cannot be changed here." for k in changes if k not in OVERRIDABLE}
    if unknown:
        raise ValidationFailed(unknown)
    try:
        loaded = OverrideSchema().load(changes)
    except ValidationError as exc:
        raise ValidationFailed(exc.messages) from exc
    with unit_of_work():
        if row.is_custom:
            for k, v in loaded.items():
                setattr(row, k, v)
        else:
            row.overrides = {**(row.overrides or {}), **loaded}
    return row


@audited("fields.reset_overrides")
def reset_overrides(key: str, actor: User | None = None) -> None:
    permissions.require(actor, "admin.settings")
    row = definition(key)
    with unit_of_work():
        row.overrides = {}


@audited("fields.create_custom")
def create_custom(data: dict[str, Any], actor: User | None = None) -> FieldDefinition:
    """A field an admin adds at run time (доп.поле); its values live in ``values``."""
    permissions.require(actor, "admin.settings")
    try:
        loaded = CustomFieldSchema().load(data)
    except ValidationError as exc:
        raise ValidationFailed(exc.messages) from exc
    errors: dict[str, str] = {}
    if loaded["key"] in COLUMN_FIELDS or db.session.scalar(
        db.select(FieldDefinition).where(FieldDefinition.key == loaded["key"])
    ):
        errors["key"] = f"Field {loaded['key']!r} already exists."
    if loaded["type"] in ("choice", "multi_choice") and not (
        loaded["choices"] or loaded["choice_list"]
    ):
        errors["choices"] = "A choice field needs choices or a choice list."
    if loaded["choice_list"] and not db.session.scalar(
        db.select(ChoiceList).where(ChoiceList.key == loaded["choice_list"])
    ):
        errors["choice_list"] = f"Unknown choice list {loaded['choice_list']!r}."
    if loaded["type"] == "reference":
        # Without a known entity every value would be refused as "does not exist".
        entities = runtime.host().registry.reference_entities
        if loaded["reference"] not in entities:
            errors["reference"] = (
                f"A reference field needs the entity it refers to; "
                f"{loaded['reference']!r} is not one of: {', '.join(sorted(entities))}."
                if loaded["reference"] else
                f"A reference field needs the entity it refers to: {', '.join(sorted(entities))}."
            )
    if errors:
        raise ValidationFailed(errors)
    with unit_of_work():
        row = FieldDefinition(plugin=None, storage="values", overrides={}, **loaded)
        db.session.add(row)
    return row


@audited("fields.deactivate")
def deactivate(key: str, actor: User | None = None) -> None:
    """Hide a custom field from forms; stored values stay in the tickets."""
    permissions.require(actor, "admin.settings")
    row = definition(key)
    if not row.is_custom:
        raise ValidationFailed({"key": "Declared fields are hidden with overrides, not removed."})
    with unit_of_work():
        row.is_active = False


@audited("fields.set_ticket_types")
def set_ticket_types(key: str, types: list[str], actor: User | None = None) -> FieldDefinition:
    """Which ticket types a custom field belongs to (``[]``: every type). Values
    tickets already hold stay; a type taken away no longer shows or asks for the
    field. A declared field's types belong to its plugin: refused."""
    permissions.require(actor, "admin.settings")
    row = definition(key)
    if not row.is_custom:
        raise ValidationFailed({"ticket_types": "A plugin's field keeps the types its plugin "
                                                "gives it."})
    from kernel.models import TicketType

    known = set(db.session.scalars(db.select(TicketType.key)))
    if not isinstance(types, list | tuple) or not all(isinstance(t, str) for t in types):
        raise ValidationFailed({"ticket_types": "A list of ticket type keys."})
    unknown = sorted(set(types) - known)
    if unknown:
        raise ValidationFailed({"ticket_types": f"Unknown ticket types: {', '.join(unknown)}."})
    with unit_of_work():
        row.ticket_types = sorted(set(types))
    return row


def tickets_without_value(key: str) -> int:
    """How many tickets of the field's types hold no value for it: what making
    it required would leave unfilled (they keep no value; the card's edit form
    asks for it the next time the ticket is saved there)."""
    from kernel.models import Ticket, TicketType

    row = definition(key)
    query = db.select(db.func.count()).select_from(Ticket)
    if row.ticket_types:
        query = query.join(TicketType, Ticket.type_id == TicketType.id).where(
            TicketType.key.in_(row.ticket_types))
    if row.storage == "column" and key in COLUMN_FIELDS:
        column = getattr(Ticket, COLUMN_FIELDS[key])
        query = query.where(column.is_(None))
    else:
        value = Ticket.values[key].as_string()
        query = query.where(db.or_(value.is_(None), value == ""))
    return db.session.scalar(query) or 0


def choice_list(key: str) -> ChoiceList:
    row = None
    if storable(key, 64):
        row = db.session.scalar(db.select(ChoiceList).where(ChoiceList.key == key))
    if row is None:
        raise NotFound(f"Unknown choice list {key!r}.")
    return row


@audited("fields.save_choice")
def save_choice(list_key: str, value: str, label: str, actor: User | None = None,
                group: str = "", visible: bool = True, order: int | None = None,
                parent: str | None = None) -> ChoiceItem:
    """Add or rename an item; hide it with ``visible=False`` (S5)."""
    permissions.require(actor, "admin.settings")
    clist = choice_list(list_key)
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise ValidationFailed({"value": "1 to 64 characters."})
    if not isinstance(label, str) or not label.strip():
        raise ValidationFailed({"label": "This field is required."})
    with unit_of_work():
        item = next((i for i in clist.items if i.value == value), None)
        if item is None:
            item = ChoiceItem(value=value, label=label.strip(), group=group, parent=parent,
                              order=order if order is not None else len(clist.items),
                              visible=visible)
            clist.items.append(item)
        else:
            item.label, item.group = label.strip(), group
            item.visible, item.parent = visible, parent
            if order is not None:
                item.order = order
    return item


@audited("fields.create_choice_list")
def create_choice_list(key: str, name: str, actor: User | None = None) -> ChoiceList:
    """A new, empty dictionary an admin fills (categories, outcomes...)."""
    permissions.require(actor, "admin.settings")
    errors: dict[str, str] = {}
    if not isinstance(key, str) or not KEY_RE.match(key):
        errors["key"] = ("Use 1-64 lower-case letters, digits and underscores, "
                         "starting with a letter.")
    elif db.session.scalar(db.select(ChoiceList).where(ChoiceList.key == key)):
        errors["key"] = f"Choice list {key!r} already exists."
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
        errors["name"] = "Give a name of 1 to 200 characters."
    if errors:
        raise ValidationFailed(errors)
    with unit_of_work():
        row = ChoiceList(key=key, name=name.strip(), plugin=None)
        db.session.add(row)
    return row


@audited("fields.reorder_choices")
def reorder_choices(list_key: str, values: list[str], actor: User | None = None) -> None:
    """Put the items of a dictionary in this order (every value exactly once)."""
    permissions.require(actor, "admin.settings")
    clist = choice_list(list_key)
    current = [i.value for i in clist.items]
    if not isinstance(values, list | tuple) or sorted(values) != sorted(current):
        raise ValidationFailed({"order": "Name every item of the list exactly once."})
    by_value = {i.value: i for i in clist.items}
    with unit_of_work():
        for n, value in enumerate(values):
            by_value[value].order = n
    db.session.expire(clist, ["items"])


@audited("fields.move_choice")
def move_choice(list_key: str, value: str, offset: int, actor: User | None = None) -> None:
    """Move one item up (``offset=-1``) or down (``+1``) in its dictionary."""
    values = [i.value for i in sorted(choice_list(list_key).items, key=lambda i: i.order)]
    if value not in values:
        raise NotFound(f"Unknown item {value!r} in {list_key!r}.")
    i = values.index(value)
    j = max(0, min(len(values) - 1, i + offset))
    values[i], values[j] = values[j], values[i]
    reorder_choices(list_key, values, actor=actor)


def fields_using(list_key: str) -> list[FieldDefinition]:
    """Field definitions whose choices come from dictionary ``list_key``."""
    return list(db.session.scalars(
        db.select(FieldDefinition).where(FieldDefinition.choice_list == list_key)
        .order_by(FieldDefinition.order, FieldDefinition.key)))
