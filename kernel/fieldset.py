"""The effective fields of a ticket form: declared defaults + deployment
overrides + run-time custom fields (K4, P7), and the choices each may take.

Caching (see ``docs/performance.md``). Creating one ticket asks for the form three
times and for the choices of every choice and reference field; read naively
that is a dozen identical queries per ticket. Instead:

* A **view** — the active fields in form order and the visible items of the
  choice lists read so far — is kept per application, tagged with a **stamp**:
  the hidden setting ``kernel.fieldset_stamp``, a random token written in the
  same transaction as every change to ``field_definitions``, ``choice_lists``,
  ``choice_items``, ``ticket_types``, ``pipelines``, ``statuses`` or
  ``transitions`` made through the ORM session (flushed objects, ORM
  ``insert``/``update``/``delete`` statements). Each transaction reads the stamp
  once (one primary-key lookup) and reuses the view only if the stamp matches,
  so a change made by another process is seen by the next transaction.
* Within a transaction the view is remembered in ``session.info`` and dropped
  when the transaction or a savepoint ends, when a flush writes one of those
  tables, and before use while such a change is still pending in the session
  (what autoflush would have written before a query).
* A transaction that has written those tables and not committed yet builds a
  private view and never shares it; the stamp is read before the data, so a
  shared view is never older than its stamp.

Raw SQL that bypasses the ORM session (a hand-written ``UPDATE``, a migration)
is not seen by other transactions until a stamp changes: write a new stamp
(``fieldset.touch()``) or restart the processes after such an edit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from itertools import chain
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel import runtime
from kernel.db import db
from kernel.models import (
    ChoiceItem,
    ChoiceList,
    Customer,
    FieldDefinition,
    LabelTranslation,
    Pipeline,
    Setting,
    Status,
    Ticket,
    TicketType,
    Transition,
    User,
)
from kernel.models.fields import OVERRIDABLE

STAMP_KEY = "kernel.fieldset_stamp"
# Ticket types and their pipelines share the stamp: ``kernel.typecache`` keeps
# them in the same view.
_WATCHED = (FieldDefinition, ChoiceList, ChoiceItem, LabelTranslation, TicketType, Pipeline, Status,
            Transition)
_MEMO = "hookdesk.fieldset.memo"  # session.info: this transaction's _Memo
_PRIVATE = "hookdesk.fieldset.private"  # session.info: uncommitted writes to watched tables
_BUMP = "hookdesk.fieldset.bump"  # session.info: a new stamp is due before commit
_CACHE = "hookdesk.fieldset"  # app.extensions: the shared _View


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


# -- the cache ----------------------------------------------------------------


class _View:
    """Active fields and the choice lists read so far, as of one stamp."""

    def __init__(self, stamp: str | None, active: list[Field]) -> None:
        self.stamp = stamp
        self.active = active
        self.choice_lists: dict[str, list[tuple[str, str]]] = {}
        # source text -> {locale: text}: the admin's words in other languages.
        self.labels: dict[str, dict[str, str]] | None = None
        self.extra: dict[str, Any] = {}


def cached(name: str, build: Callable[[], Any]) -> Any:
    """``build()``'s answer, kept with the view of this transaction's stamp: for
    what is derived from the watched tables (``kernel.typecache``). Rebuilt when
    any of them changes; never shared while this transaction has changed them."""
    view = _memo().view
    if name not in view.extra:
        view.extra[name] = build()
    return view.extra[name]


class _Memo:
    """One transaction's view, and the definition rows handed to plugins."""

    def __init__(self, view: _View) -> None:
        self.view = view
        self.rows: dict[str, FieldDefinition] | None = None


def _load_active() -> list[Field]:
    rows = db.session.scalars(
        select(FieldDefinition).where(FieldDefinition.is_active.is_(True))
    ).all()
    return sorted((Field.from_row(r) for r in rows), key=lambda f: (f.order, f.key))


def _memo() -> _Memo:
    session = db.session()
    memo = session.info.get(_MEMO)
    if memo is not None and not _pending_changes(session):
        return memo
    # Read the stamp first (this autoflushes pending changes, which marks the
    # transaction private), then the data: a shared view is never older than its stamp.
    stamp = session.execute(select(Setting.value).where(Setting.key == STAMP_KEY)).scalar()
    # No stamp yet: nothing watched was changed since the tables were created.
    shared = (not session.info.get(_PRIVATE)
              and not _pending_changes(session))  # still pending: inside no_autoflush
    cache = runtime.app().extensions.setdefault(_CACHE, {})
    view = cache.get("view") if shared else None
    if view is None or view.stamp != stamp:
        view = _View(stamp, _load_active())
        if shared:
            cache["view"] = view
    memo = session.info[_MEMO] = _Memo(view)
    return memo


def _pending_changes(session: Session) -> bool:
    return any(
        isinstance(obj, _WATCHED) for obj in chain(session.new, session.deleted, session.dirty)
    )


def _write_stamp(session: Session) -> None:
    token = uuid.uuid4().hex
    row = session.get(Setting, STAMP_KEY)
    if row is None:
        session.add(Setting(key=STAMP_KEY, value=token))
    else:
        row.value = token
    session.info.pop(_BUMP, None)


def touch() -> None:
    """Make every process re-read fields and choice lists at its next transaction
    (after changing those tables with raw SQL). Commit to publish."""
    session = db.session()
    session.info[_PRIVATE] = True
    session.info.pop(_MEMO, None)
    _write_stamp(session)


@sa_event.listens_for(Session, "before_flush")
def _stamp_field_writes(session, flush_context, instances):
    if _pending_changes(session):
        session.info[_PRIVATE] = True
        session.info.pop(_MEMO, None)
        _write_stamp(session)  # flushed with the change itself


@sa_event.listens_for(Session, "do_orm_execute")
def _note_bulk_field_writes(state):
    if not state.is_select and any(
        issubclass(mapper.class_, _WATCHED) for mapper in state.all_mappers
    ):
        state.session.info[_PRIVATE] = True
        state.session.info[_BUMP] = True
        state.session.info.pop(_MEMO, None)


@sa_event.listens_for(Session, "before_commit")
def _stamp_bulk_field_writes(session):
    if session.info.get(_BUMP):
        _write_stamp(session)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session, transaction):
    session.info.pop(_MEMO, None)
    if transaction.parent is None:
        session.info.pop(_PRIVATE, None)
        session.info.pop(_BUMP, None)


# -- reading ----------------------------------------------------------------


def all_fields(include_inactive: bool = False) -> list[Field]:
    if include_inactive:
        rows = db.session.scalars(select(FieldDefinition)).all()
        return sorted((Field.from_row(r) for r in rows), key=lambda f: (f.order, f.key))
    return list(_memo().view.active)


def get(key: str) -> Field | None:
    """The active field ``key``, or None."""
    return next((f for f in all_fields() if f.key == key), None)


def python_value(field_type: str, stored: Any) -> Any:
    """A value as the ticket's JSON column keeps it -> as Python: a ``date`` field's
    ISO text -> ``date``, a ``datetime`` field's -> an aware UTC ``datetime``; the
    other types are kept in JSON as they are in Python (see docs/internals.md)."""
    if not isinstance(stored, str) or not stored:
        return stored
    try:
        if field_type == "date":
            return date.fromisoformat(stored)
        if field_type == "datetime":
            moment = datetime.fromisoformat(stored)
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except ValueError:
        return stored
    return stored


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
        view = _memo().view
        items = view.choice_lists.get(field.choice_list)
        if items is None:
            clist = db.session.scalar(select(ChoiceList).where(ChoiceList.key == field.choice_list))
            items = [] if clist is None else [(i.value, i.label) for i in clist.items if i.visible]
            view.choice_lists[field.choice_list] = items
        return list(items)
    return None


def label_catalogue() -> dict[str, dict[str, str]]:
    """The translations of admin-written words, ``{source: {locale: text}}``,
    shared like the fields (same stamp; read once per stamp per process)."""
    view = _memo().view
    if view.labels is None:
        catalogue: dict[str, dict[str, str]] = {}
        for source, locale, text in db.session.execute(
            select(LabelTranslation.source, LabelTranslation.locale, LabelTranslation.text)
        ):
            catalogue.setdefault(source, {})[locale] = text
        view.labels = catalogue
    return view.labels


def _definition(key: str) -> FieldDefinition | None:
    """The row of field ``key`` (active or not) in the current session."""
    memo = _memo()
    if memo.rows is None:
        session = db.session()
        if not unchanged(session):  # a merge would overwrite the session's own changes
            memo.rows = {r.key: r for r in db.session.scalars(select(FieldDefinition))}
            return memo.rows.get(key)
        with session.no_autoflush:  # copies of the cached rows, no SQL
            memo.rows = {key: session.merge(row, load=False)
                         for key, row in cached("field_rows", _load_rows).items()}
    return memo.rows.get(key)


def unchanged(session: Session) -> bool:
    """Whether this transaction has neither written nor pending changes to the
    watched tables: then cached copies may be merged into the session."""
    return not session.info.get(_PRIVATE) and not _pending_changes(session)


def _load_rows() -> dict[str, FieldDefinition]:
    """Every definition row, detached (a session of its own on this transaction's
    connection), for ``cached``."""
    with Session(bind=db.session.connection()) as own:
        rows = own.scalars(select(FieldDefinition)).all()
        own.expunge_all()
    return {r.key: r for r in rows}


def allowed_choices(
    field: Field,
    ticket_type: TicketType | None,
    actor: User | None,
    customer: Customer | None,
    ticket: Ticket | None,
    purpose: str = "offer",
) -> list[tuple[str, str]] | None:
    """The choices allowed in this context, or None for "any valid value".
    ``purpose``: ``"offer"`` (a form, a listing) or ``"check"`` (validating a value).

    Combines the field's own list with every plugin's ``hookdesk_field_choices``
    answer (see the spec: intersection; for a reference field without a list,
    the union of answers is the base)."""
    base = base_choices(field)
    host = runtime.host()
    answers = []
    if host.pm.hook.hookdesk_field_choices.get_hookimpls():
        answers = [
            [(str(v), str(lbl)) for v, lbl in answer]
            for _plugin, answer in host.collect(
                "hookdesk_field_choices",
                field=_definition(field.key),
                ticket_type=ticket_type,
                actor=actor,
                customer=customer,
                ticket=ticket,
                purpose=purpose,
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
