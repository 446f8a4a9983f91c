"""The effective fields of a ticket form: declared defaults + deployment
overrides + run-time custom fields (K4, P7), and the choices each may take.

Field definitions and choice lists are read once per transaction, not once per
call: one ticket creation asks for the form three times and for the choices of
every choice and reference field, which used to cost a dozen identical queries
(see ``docs/performance.md``). The memo lives in ``session.info`` and is dropped

* when the transaction (or a savepoint) ends — commit, rollback, close;
* when a flush writes a field definition, choice list or choice item, or an ORM
  ``insert``/``update``/``delete`` statement targets one of those tables;
* before it is used while such a change is still pending in the session (what
  autoflush would have written before the old queries).

So a reader never sees other definitions than a fresh query in the same
transaction would show. Raw SQL on these tables that bypasses the ORM session
is not seen until the transaction ends.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from dataclasses import field as dc_field
from itertools import chain

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from kernel import runtime
from kernel.db import db
from kernel.models import (
    ChoiceItem,
    ChoiceList,
    Customer,
    FieldDefinition,
    Ticket,
    TicketType,
    User,
)
from kernel.models.fields import OVERRIDABLE

_MEMO = "hookdesk.fieldset_memo"
_WATCHED = (FieldDefinition, ChoiceList, ChoiceItem)


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


# -- the per-transaction memo -------------------------------------------------


@dataclass
class _Memo:
    active: list[Field] | None = None  # active fields in form order
    rows: dict[str, FieldDefinition] = dc_field(default_factory=dict)  # their rows, by key
    choice_lists: dict[str, list[tuple[str, str]]] = dc_field(default_factory=dict)


def _memo() -> _Memo:
    session = db.session()
    memo = session.info.get(_MEMO)
    if memo is not None and _pending_changes(session):
        memo = None  # the next query autoflushes them; read again afterwards
    if memo is None:
        memo = session.info[_MEMO] = _Memo()
    return memo


def _pending_changes(session: Session) -> bool:
    return any(
        isinstance(obj, _WATCHED) for obj in chain(session.new, session.deleted, session.dirty)
    )


def _forget(session: Session) -> None:
    session.info.pop(_MEMO, None)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session, transaction):
    _forget(session)


@sa_event.listens_for(Session, "before_flush")
def _forget_before_writing_fields(session, flush_context, instances):
    if _MEMO in session.info and _pending_changes(session):
        _forget(session)


@sa_event.listens_for(Session, "do_orm_execute")
def _forget_on_bulk_writes(state):
    if _MEMO in state.session.info and not state.is_select and any(
        issubclass(mapper.class_, _WATCHED) for mapper in state.all_mappers
    ):
        _forget(state.session)


# -- reading ----------------------------------------------------------------


def all_fields(include_inactive: bool = False) -> list[Field]:
    if include_inactive:
        rows = db.session.scalars(db.select(FieldDefinition)).all()
        return sorted((Field.from_row(r) for r in rows), key=lambda f: (f.order, f.key))
    memo = _memo()
    if memo.active is None:
        rows = db.session.scalars(
            db.select(FieldDefinition).where(FieldDefinition.is_active.is_(True))
        ).all()
        active = sorted((Field.from_row(r) for r in rows), key=lambda f: (f.order, f.key))
        memo.rows = {r.key: r for r in rows}
        memo.active = active
    return list(memo.active)


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
        memo = _memo()
        items = memo.choice_lists.get(field.choice_list)
        if items is None:
            clist = db.session.scalar(
                db.select(ChoiceList).where(ChoiceList.key == field.choice_list)
            )
            items = [] if clist is None else [(i.value, i.label) for i in clist.items if i.visible]
            memo.choice_lists[field.choice_list] = items
        return list(items)
    return None


def _definition(key: str) -> FieldDefinition | None:
    all_fields()  # fills the memo's rows if this transaction has not read them yet
    row = _memo().rows.get(key)
    if row is None:  # an inactive field
        row = db.session.scalar(db.select(FieldDefinition).where(FieldDefinition.key == key))
    return row


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
    definition = _definition(field.key)
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
