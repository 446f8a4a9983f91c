"""Creating and changing tickets: the only way tickets change (K1-K6).

Every function validates first (nothing is written on a refusal), writes the
change and its history row in one unit of work, asks plugins through hooks, and
announces what happened through signals after commit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update as sa_update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from kernel import fieldset, numbering, permissions, runtime, schema, signals, typecache
from kernel.db import db, get_by_id, utcnow
from kernel.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    TransitionRefused,
    ValidationFailed,
)
from kernel.models import Customer, Setting, Status, Ticket, TicketType, User
from kernel.models.tickets import COLUMN_FIELDS
from kernel.services import history, storable
from kernel.services.uow import after_commit, outermost_unit_of_work, unit_of_work

SENDER = "kernel.tickets"


# -- lookups ----------------------------------------------------------------


def ticket_type(key: str | None) -> TicketType:
    """The active type with this key, or the deployment's default type."""
    if not key:
        setting = db.session.get(Setting, "kernel.default_ticket_type")
        key = setting.value if setting else None
        if not key:
            raise ValidationFailed({"type": "No ticket type given and no default type is set."})
    found = typecache.get(key) if storable(key, 64) else None
    if found is None or not found.is_active:
        raise ValidationFailed({"type": f"Unknown ticket type {key!r}."})
    return found


def get(ref: int | str, viewer: User | None = None) -> Ticket:
    """A ticket by id or number that ``viewer`` may see; else ``NotFound``."""
    typecache.prime()  # the ticket's type, status and pipeline without SQL
    ticket = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        ticket = get_by_id(Ticket, ref)
    if ticket is None and storable(ref, 64):
        ticket = db.session.scalar(db.select(Ticket).where(Ticket.number == ref))
    return permissions.require_view(viewer, ticket)


# -- validation -------------------------------------------------------------


def _references_exist(field: fieldset.Field, ident: int) -> bool:
    from kernel.models import Attachment

    if field.type == "file":
        return get_by_id(Attachment, ident) is not None
    entry = runtime.host().registry.reference_entities.get(field.reference or "")
    return entry is not None and entry.decl.lookup(ident) is not None


def _validate(
    ttype: TicketType,
    raw: dict[str, Any],
    actor: User | None,
    customer: Customer | None,
    ticket: Ticket | None,
    uploading: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Raw input -> python values for the fields given; raises ``ValidationFailed``.
    ``uploading``: ``file`` fields whose upload comes with the new ticket (a
    required one is then satisfied; the file is attached once the ticket exists)."""
    if not isinstance(raw, dict):
        raise ValidationFailed({"_schema": "Expected an object of field values."})
    audience = "customer" if actor is not None and actor.is_customer else "agent"
    known = {f.key: f for f in fieldset.for_type(ttype, "agent")}
    allowed = {f.key: f for f in fieldset.for_type(ttype, audience)}
    if ticket is not None and audience == "customer":
        # A customer changes only what they also see (P7): never a hidden field.
        allowed = {k: f for k, f in allowed.items() if f.shown_to_customer}
    errors: dict[str, list[str]] = {}
    for key in raw:
        if key not in known:
            errors.setdefault(key, []).append(f"Unknown field for type {ttype.key!r}.")
        elif key not in allowed:
            errors.setdefault(key, []).append("Customers cannot set this field.")
    # Creating checks every field of the form (required ones too); updating only
    # the fields given.
    form = list(allowed.values()) if ticket is None else [allowed[k] for k in raw if k in allowed]
    for key in sorted(uploading):
        if key not in known or known[key].type != "file":
            errors.setdefault(key, []).append("Not a file field of this type.")
        elif key not in allowed:
            errors.setdefault(key, []).append("Customers cannot set this field.")
        elif key in raw:
            errors.setdefault(key, []).append("Give either a file or an attachment id.")
    form = [dataclasses.replace(f, required=False) if f.key in uploading else f for f in form]

    def choices(field: fieldset.Field):
        return fieldset.allowed_choices(field, ttype, actor, customer, ticket, "check")

    loaded: dict[str, Any] = {}
    try:
        loaded = schema.build(form, choices, _references_exist, partial=ticket is not None).load(
            {k: v for k, v in raw.items() if k in allowed}
        )
    except Exception as exc:  # marshmallow.ValidationError
        messages = getattr(exc, "messages", None)
        if messages is None:
            raise
        for key, msgs in messages.items():
            errors.setdefault(key, []).extend(msgs if isinstance(msgs, list) else [str(msgs)])
    assignee = loaded.get("assignee")
    if assignee is not None:
        user = get_by_id(User, assignee)
        if user is None or not user.is_agent or not user.is_active:
            errors.setdefault("assignee", []).append("Only an active agent can be the manager.")
    if errors:
        raise ValidationFailed(errors)
    problems = runtime.host().collect(
        "hookdesk_validate_ticket", ticket_type=ttype, values=loaded, ticket=ticket, actor=actor
    )
    for _plugin, answer in problems:
        for key, message in answer:
            errors.setdefault(key, []).append(message)
    if errors:
        raise ValidationFailed(errors)
    return loaded


# What clearing an optional field means for a ticket column that cannot be NULL.
_EMPTY_COLUMN_VALUES = {"subject": "", "text": "", "priority": "normal", "urgent": False}


def _apply(ticket: Ticket, values: dict[str, Any], fields: dict[str, fieldset.Field]) -> dict:
    """Write values onto the ticket; return ``{key: [old, new]}`` for real changes."""
    changes: dict[str, list[Any]] = {}
    stored = dict(ticket.values or {})
    for key, value in values.items():
        if key in COLUMN_FIELDS:
            column = COLUMN_FIELDS[key]
            old = getattr(ticket, column)
            if value is None and key in _EMPTY_COLUMN_VALUES:
                value = _EMPTY_COLUMN_VALUES[key]  # these columns are NOT NULL
            if _differs(old, value):
                setattr(ticket, column, value)
                changes[key] = [old, value]
        else:
            new = schema.to_storage(fields[key], value)
            old = stored.get(key)
            if _differs(old, new):
                if new is None:
                    stored.pop(key, None)
                else:
                    stored[key] = new
                changes[key] = [old, new]
    if stored != (ticket.values or {}):
        ticket.values = stored
    return changes


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, datetime) and isinstance(new, datetime):
        return _aware(old) != _aware(new)
    return old != new


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _classify(ttype: TicketType, raw: dict, customer: Customer | None, actor: User | None) -> dict:
    proposals = runtime.host().collect(
        "hookdesk_classify_ticket",
        ticket_type=ttype,
        values=dict(raw),
        customer=customer,
        actor=actor,
    )
    if not proposals:
        return raw
    # Highest confidence; on a tie the plugin name that sorts first.
    plugin, best = min(proposals, key=lambda pair: (-pair[1].confidence, pair[0]))
    filled = dict(raw)
    for key, value in best.values.items():
        if filled.get(key) in (None, "", []):
            filled[key] = value
    return filled


# -- commands ---------------------------------------------------------------


def create(
    values: dict[str, Any],
    actor: User | None = None,
    type: str | None = None,
    via: str | None = None,
    files: list[Any] | None = None,
    field_files: Mapping[str, Any] | None = None,
) -> Ticket:
    """Create a ticket of ``type`` (default type if None) from raw field values.

    A customer actor creates for their own customer (a ``customer`` value is
    refused). Raises ``ValidationFailed`` naming each bad field; nothing is
    written then. ``files``: uploads (``.stream``/``.read``, ``.filename``)
    attached in the same transaction; ``field_files``: uploads for ``file``
    fields by key — attached, and the fields set to them, in the same transaction
    (so a required file field can be filled when the ticket is created)."""
    permissions.require(actor, "tickets.create")
    ttype = ticket_type(type)
    if actor is not None and actor.is_customer and not ttype.customer_can_create:
        raise ValidationFailed({"type": f"Customers cannot create {ttype.name!r} tickets."})
    raw = _raw(values)
    customer = _customer_for(raw, actor)
    raw = _classify(ttype, raw, customer, actor)
    field_files = dict(field_files or {})
    loaded = _validate(ttype, raw, actor, customer, None, frozenset(field_files))
    if actor is not None and actor.is_customer:
        loaded["customer"] = actor.customer_id
    elif actor is not None and actor.is_agent and "assignee" not in raw:
        loaded["assignee"] = actor.id  # seed 001: the manager defaults to the creator
    status = ttype.initial_status or ttype.pipeline.statuses[0]
    fields = {f.key: f for f in fieldset.for_type(ttype, "agent")}
    with unit_of_work(keep_loaded=True):  # the caller answers from the new ticket
        now = utcnow()
        ticket = Ticket(
            number="",
            type_id=ttype.id,
            status_id=status.id,
            author_id=actor.id if actor else None,
            created_at=now,
            updated_at=now,
            status_changed_at=now,
            values={},
            priority="normal",
            urgent=False,
        )
        ticket.type = ttype
        ticket.status = status
        _apply(ticket, loaded, fields)
        if status.is_closed:
            ticket.closed_at = now
        extra: dict[str, Any] = {}
        owners: dict[str, str] = {}
        for plugin, answer in runtime.host().collect(
            "hookdesk_numbering_variables", ticket_type=ttype, ticket=ticket
        ):
            clash = sorted(set(answer) & set(extra))
            if clash:
                by = sorted({owners[k] for k in clash} | {plugin})
                raise ValidationFailed(
                    {"number": f"Numbering variable(s) {clash} given by both {' and '.join(by)}."}
                )
            extra.update(answer)
            owners.update(dict.fromkeys(answer, plugin))
        variables = numbering.variables_for(ttype.key, now, extra)
        ticket.number = numbering.next_number(ttype.number_template, variables)
        db.session.add(ticket)
        db.session.flush()
        data = {
            "number": ticket.number,
            "type": ttype.key,
            "status": status.key,
            "values": {k: ticket.value(k) for k in loaded},
        }
        event = history.record(ticket, "created", data, actor=actor, via=via)
        after_commit(signals.ticket_created, SENDER, ticket=ticket, event=event, actor=actor)
        if files or field_files:
            from kernel.services import attachments

            # Creating the ticket (``tickets.create``) covers its own files.
            for upload in files or []:
                attachments._attach(ticket, upload, actor=actor, via=via)
            for key, upload in sorted(field_files.items()):
                try:
                    attachment = attachments._attach(ticket, upload, actor=actor, via=via)
                except ValidationFailed as exc:  # named after the field, not "file"
                    raise exc.__class__({key: [m for ms in exc.errors.values()
                                                for m in ms]}) from exc
                _apply(ticket, {key: attachment.id}, fields)
            _flush(ticket)
    return ticket


def _raw(values: Any) -> dict[str, Any]:
    if values is not None and not isinstance(values, Mapping):
        raise ValidationFailed({"_schema": "Expected an object of field values."})
    return dict(values or {})


def _customer_for(raw: dict, actor: User | None) -> Customer | None:
    if actor is not None and actor.is_customer:
        if actor.customer_id is None:
            raise ValidationFailed({"customer": "Your account is not linked to a customer."})
        return actor.customer
    ident = raw.get("customer")
    if isinstance(ident, dict):
        ident = ident.get("id")
    try:
        return get_by_id(Customer, ident)
    except (TypeError, ValueError):
        return None  # the schema reports the bad value


def update(
    ticket: Ticket,
    values: dict[str, Any],
    actor: User | None = None,
    via: str | None = None,
    expected_version: int | None = None,
) -> dict[str, list[Any]]:
    """Change field values; returns ``{key: [old, new]}`` of what really changed."""
    permissions.require_view(actor, ticket)
    if actor is not None and actor.is_customer:
        permissions.require(actor, "tickets.edit_own")
        if ticket.is_closed:
            raise PermissionDenied("This ticket is closed and can no longer be changed.")
    else:
        permissions.require(actor, "tickets.edit")
    _check_version(ticket, expected_version)
    raw = _raw(values)
    if "assignee" in raw:
        permissions.require(actor, "tickets.assign")
    loaded = _validate(ticket.type, raw, actor, ticket.customer, ticket)
    fields = {f.key: f for f in fieldset.for_type(ticket.type, "agent")}
    with unit_of_work():
        _current(ticket, expected_version)
        old_assignee = ticket.assignee_id
        changes = _apply(ticket, loaded, fields)
        if not changes:
            return {}
        ticket.updated_at = utcnow()
        _flush(ticket)
        assignment = changes.pop("assignee", None)
        if changes:
            event = history.record(
                ticket, "fields_changed", {"changes": changes}, actor=actor, via=via
            )
            after_commit(
                signals.ticket_updated, SENDER, ticket=ticket, event=event, actor=actor,
                changes=changes,
            )
        if assignment is not None:
            _record_assignment(ticket, old_assignee, actor, via)
            changes["assignee"] = assignment
    return changes


def transition(
    ticket: Ticket,
    to_status: str,
    actor: User | None = None,
    via: str | None = None,
    comment: str | None = None,
    expected_version: int | None = None,
    comment_visible_to_customer: bool = False,
) -> Ticket:
    """Move the ticket to ``to_status`` (a status key) if its pipeline allows it.

    ``comment`` is the agents' working note on the move; the customer sees it
    (card, API, letters) only with ``comment_visible_to_customer=True``, which
    the event records as ``comment_public``."""
    permissions.require_view(actor, ticket)
    permissions.require(actor, "tickets.transition")
    _check_version(ticket, expected_version)
    pipeline = ticket.type.pipeline
    target: Status | None = pipeline.status(to_status)
    current = ticket.status
    if target is None:
        raise ValidationFailed(
            {"status": f"Unknown status {to_status!r} in pipeline {pipeline.key!r}; known: "
             f"{', '.join(s.key for s in pipeline.statuses)}."}
        )
    if target.id == current.id:
        raise TransitionRefused(
            f"The ticket is already in status {current.name!r}.", current.key, target.key
        )
    if not pipeline.allows(current, target):
        allowed = ", ".join(s.key for s in pipeline.next_statuses(current)) or "none"
        raise TransitionRefused(
            f"Moving from {current.key!r} to {target.key!r} is not allowed in pipeline "
            f"{pipeline.key!r}; allowed next: {allowed}.",
            current.key,
            target.key,
        )
    vetoes = runtime.host().collect(
        "hookdesk_validate_transition",
        ticket=ticket, from_status=current, to_status=target, actor=actor,
    )
    if vetoes:
        raise TransitionRefused("; ".join(msg for _p, msg in vetoes), current.key, target.key)
    with unit_of_work():
        _current(ticket, expected_version)
        if ticket.status_id != current.id:
            raise Conflict(
                f"Ticket {ticket.number} was moved to another status meanwhile. Reload."
            )
        now = utcnow()
        ticket.status = target
        ticket.status_id = target.id
        ticket.status_changed_at = now
        ticket.updated_at = now
        if target.is_closed and not current.is_closed:
            ticket.closed_at = now
        elif not target.is_closed:
            ticket.closed_at = None
        _flush(ticket)
        data = {"from": current.key, "to": target.key, "group": target.group}
        if comment:
            data["comment"] = comment
            if comment_visible_to_customer:
                data["comment_public"] = True
        event = history.record(ticket, "status_changed", data, actor=actor, via=via)
        after_commit(
            signals.ticket_status_changed, SENDER, ticket=ticket, event=event, actor=actor,
            from_status=current.key, to_status=target.key,
        )
    return ticket


def assign(
    ticket: Ticket,
    assignee: User | int | None,
    actor: User | None = None,
    via: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Make ``assignee`` (an agent, or None) responsible for the ticket."""
    permissions.require_view(actor, ticket)
    permissions.require(actor, "tickets.assign")
    _check_version(ticket, expected_version)
    user = get_by_id(User, assignee) if isinstance(assignee, int) else assignee
    if assignee is not None and (user is None or not user.is_agent or not user.is_active):
        raise ValidationFailed({"assignee": "Only an active agent can be the manager."})
    if (user.id if user else None) == ticket.assignee_id:
        return ticket
    with unit_of_work():
        _current(ticket, expected_version)
        old = ticket.assignee_id
        ticket.assignee_id = user.id if user else None
        ticket.assignee = user
        ticket.updated_at = utcnow()
        _flush(ticket)
        _record_assignment(ticket, old, actor, via)
    return ticket


def _record_assignment(ticket: Ticket, old: int | None, actor: User | None, via: str | None):
    event = history.record(
        ticket, "assigned", {"from": old, "to": ticket.assignee_id}, actor=actor, via=via
    )
    after_commit(
        signals.ticket_assigned, SENDER, ticket=ticket, event=event, actor=actor,
        from_user_id=old, to_user_id=ticket.assignee_id,
    )


def record_custom_event(
    ticket: Ticket, kind: str, data: dict[str, Any], actor: User | None = None,
    via: str | None = None,
):
    """Let a plugin put its own event (declared with ``hookdesk_register_event_kinds``)
    on a ticket's timeline, e.g. a logged phone call."""
    if kind not in runtime.host().registry.event_kinds:
        raise ValidationFailed({"kind": f"Unknown event kind {kind!r}; declare it first."})
    with unit_of_work():
        touch(ticket, utcnow())
        return history.record(ticket, kind, data, actor=actor, via=via)


def touch(ticket: Ticket, when: datetime) -> None:
    """Stamp ``updated_at`` without a new version.

    Adding a message, a file or a plugin's event changes no field of the ticket,
    so it must not collide with a concurrent edit or another message (only a
    stale ``If-Match`` is a conflict): a plain UPDATE, not the versioned one."""
    db.session.execute(
        sa_update(Ticket).where(Ticket.id == ticket.id).values(updated_at=when)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(ticket, "updated_at", when)


def _current(ticket: Ticket, expected: int | None) -> None:
    """Inside the write transaction: without an expected version the last write
    wins, so edit the row as it is now (locked on PostgreSQL), not as it was read."""
    # A nested unit of work (a rule's action) shares the outer writer's transaction:
    # nobody else can have changed the row, and a refresh could drop its changes.
    if expected is None and outermost_unit_of_work():
        if db.session.get_bind().dialect.name != "sqlite":  # SQLite: the writer lock is held
            db.session.execute(db.select(Ticket.id).where(Ticket.id == ticket.id)
                               .with_for_update())
        db.session.refresh(ticket)


def _check_version(ticket: Ticket, expected: int | None) -> None:
    if expected is not None and int(expected) != ticket.version:
        raise Conflict(
            f"Ticket {ticket.number} changed since you loaded it (version {ticket.version}, "
            f"you had {expected}). Reload and try again."
        )


def _flush(ticket: Ticket) -> None:
    number = ticket.number  # after a failed flush the session cannot load it any more
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise Conflict(
            f"Ticket {number} was changed by someone else at the same time. Reload."
        ) from exc


def require_ticket(ticket_id: int, viewer: User | None) -> Ticket:
    typecache.prime()
    ticket = get_by_id(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("Ticket not found.")
    return permissions.require_view(viewer, ticket)
