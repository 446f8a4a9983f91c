"""Admin changes to ticket types, pipelines, statuses, transitions and
numbering (K2, K3, K5, A6) — made at run time, without code."""

from __future__ import annotations

import re

from kernel import numbering, permissions, runtime
from kernel.db import db, utcnow
from kernel.errors import NotFound, ValidationFailed
from kernel.models import Pipeline, Status, Ticket, TicketType, Transition, User
from kernel.models.workflow import STATUS_GROUPS
from kernel.services import storable
from kernel.services.audit import audited
from kernel.services.uow import unit_of_work

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _check_key(key: str, field: str = "key") -> None:
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise ValidationFailed(
            {field: "Use 1-64 lower-case letters, digits and underscores, starting with a letter."}
        )


def pipeline(key: str) -> Pipeline:
    found = None
    if storable(key, 64):
        found = db.session.scalar(db.select(Pipeline).where(Pipeline.key == key))
    if found is None:
        raise NotFound(f"Unknown pipeline {key!r}.")
    return found


@audited("workflow.create_pipeline")
def create_pipeline(key: str, name: str, statuses: list[dict], actor: User | None = None,
                    transitions: list[tuple[str, str]] | str = ()) -> Pipeline:
    """``statuses``: ``[{"key", "name", "group"}]`` in order. A new pipeline
    allows no move until ``transitions`` (``[(from, to)]``, or ``"any"`` for
    every pair) or the admin's matrix says so."""
    permissions.require(actor, "admin.settings")
    _check_key(key)
    errors: dict[str, str] = {}
    if db.session.scalar(db.select(Pipeline).where(Pipeline.key == key)):
        errors["key"] = f"Pipeline {key!r} already exists."
    if not statuses:
        errors["statuses"] = "A pipeline needs at least one status."
    keys = [s.get("key") for s in statuses]
    if len(set(keys)) != len(keys):
        errors["statuses"] = "Status keys repeat."
    for i, status in enumerate(statuses):
        if not isinstance(status.get("key"), str) or not KEY_RE.match(status["key"]):
            errors[f"statuses.{i}.key"] = "Invalid status key."
        if status.get("group", "open") not in STATUS_GROUPS:
            errors[f"statuses.{i}.group"] = f"One of {', '.join(STATUS_GROUPS)}."
    if transitions != "any":
        for src, dst in transitions:
            if src not in keys or dst not in keys:
                errors["transitions"] = f"{src!r} -> {dst!r} names an unknown status."
    if errors:
        raise ValidationFailed(errors)
    with unit_of_work():
        row = Pipeline(key=key, name=name or key)
        row.statuses = [
            Status(key=s["key"], name=s.get("name") or s["key"], group=s.get("group", "open"),
                   order=i, color=s.get("color", ""))
            for i, s in enumerate(statuses)
        ]
        db.session.add(row)
        db.session.flush()
        by_key = {s.key: s for s in row.statuses}
        pairs = (
            [(a, b) for a in keys for b in keys if a != b] if transitions == "any" else transitions
        )
        for src, dst in pairs:
            db.session.add(Transition(pipeline_id=row.id, from_status_id=by_key[src].id,
                                      to_status_id=by_key[dst].id))
    return row


@audited("workflow.add_status")
def add_status(pipeline_key: str, key: str, name: str, group: str = "open",
               actor: User | None = None) -> Status:
    permissions.require(actor, "admin.settings")
    pipe = pipeline(pipeline_key)
    _check_key(key)
    if group not in STATUS_GROUPS:
        raise ValidationFailed({"group": f"One of {', '.join(STATUS_GROUPS)}."})
    if pipe.status(key):
        raise ValidationFailed({"key": f"Status {key!r} already exists in {pipeline_key!r}."})
    with unit_of_work():
        status = Status(pipeline=pipe, key=key, name=name or key, group=group,
                        order=max((s.order for s in pipe.statuses), default=-1) + 1)
        db.session.add(status)
    return status


@audited("workflow.set_transition")
def set_transition(pipeline_key: str, from_key: str, to_key: str, allowed: bool,
                   actor: User | None = None) -> None:
    """Allow or forbid one move between two statuses of a pipeline."""
    permissions.require(actor, "admin.settings")
    pipe = pipeline(pipeline_key)
    src, dst = pipe.status(from_key), pipe.status(to_key)
    if src is None or dst is None:
        raise ValidationFailed({"status": f"Unknown status in {from_key!r} -> {to_key!r}."})
    if src.id == dst.id:
        raise ValidationFailed({"status": "A status cannot transition to itself."})
    with unit_of_work():
        existing = db.session.scalar(db.select(Transition).where(
            Transition.pipeline_id == pipe.id, Transition.from_status_id == src.id,
            Transition.to_status_id == dst.id))
        if allowed and existing is None:
            db.session.add(Transition(pipeline_id=pipe.id, from_status_id=src.id,
                                      to_status_id=dst.id))
        elif allowed:
            existing.archived_at = None  # restored
        elif existing is not None and existing.archived_at is None:
            existing.archived_at = utcnow()  # archived, not deleted
    db.session.expire(pipe)


@audited("workflow.create_type")
def create_type(key: str, name: str, pipeline_key: str, number_template: str = "{seq}",
                initial_status: str | None = None, actor: User | None = None) -> TicketType:
    permissions.require(actor, "admin.settings")
    _check_key(key)
    errors: dict[str, str] = {}
    if db.session.scalar(db.select(TicketType).where(TicketType.key == key)):
        errors["key"] = f"Ticket type {key!r} already exists."
    try:
        pipe = pipeline(pipeline_key)
    except NotFound as exc:
        raise ValidationFailed({"pipeline": exc.message}) from exc
    if pipe.archived_at is not None:
        errors["pipeline"] = f"Pipeline {pipeline_key!r} is archived: restore it first."
    status = pipe.status(initial_status) if initial_status else next(
        iter(pipe.active_statuses), None)
    if status is None or status.archived_at is not None:
        errors["initial_status"] = f"Unknown status {initial_status!r} in {pipeline_key!r}."
    try:
        numbering.validate(number_template, _extra_variables())
    except numbering.TemplateError as exc:
        errors["number_template"] = str(exc)
    if errors:
        raise ValidationFailed(errors)
    with unit_of_work():
        row = TicketType(key=key, name=name or key, pipeline=pipe, initial_status=status,
                         number_template=number_template)
        db.session.add(row)
    return row


@audited("workflow.set_number_template")
def set_number_template(type_key: str, template: str, actor: User | None = None) -> None:
    permissions.require(actor, "admin.settings")
    row = db.session.scalar(db.select(TicketType).where(TicketType.key == type_key))
    if row is None:
        raise NotFound(f"Unknown ticket type {type_key!r}.")
    try:
        numbering.validate(template, _extra_variables())
    except numbering.TemplateError as exc:
        raise ValidationFailed({"number_template": str(exc)}) from exc
    with unit_of_work():
        row.number_template = template


def _extra_variables() -> tuple[str, ...]:
    # Variables that plugins supply through hookdesk_numbering_variables are
    # named by the deployment (HOOKDESK_NUMBERING_VARIABLES) so a template using
    # one can be checked before any ticket is numbered with it.
    return tuple(runtime.config("HOOKDESK_NUMBERING_VARIABLES", ()))


def tickets_in_status(status: Status) -> int:
    return db.session.scalar(db.select(db.func.count()).where(Ticket.status_id == status.id)) or 0


# -- admin edits of types and statuses (A6) -------------------------------------

COLOR_RE = re.compile(r"^(#[0-9a-fA-F]{6})?$")
TYPE_CHANGES = ("name", "initial_status", "is_active", "customer_can_create", "order")


def ticket_type(key: str) -> TicketType:
    """The ticket type ``key``, active or not (admin screens)."""
    found = None
    if storable(key, 64):
        found = db.session.scalar(db.select(TicketType).where(TicketType.key == key))
    if found is None:
        raise NotFound(f"Unknown ticket type {key!r}.")
    return found


def _name(value, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 200:
        raise ValidationFailed({field: "Give a name of 1 to 200 characters."})
    return value.strip()


@audited("workflow.update_type")
def update_type(type_key: str, changes: dict, actor: User | None = None) -> dict:
    """Rename a ticket type, pick its initial status, (de)activate it, let
    customers create it or not. Returns ``{key: [old, new]}`` of real changes.
    The deployment's default type cannot be deactivated."""
    permissions.require(actor, "admin.settings")
    row = ticket_type(type_key)
    errors: dict[str, str] = {}
    clean: dict = {}
    for key, value in (changes or {}).items():
        if key not in TYPE_CHANGES:
            errors[key] = "Cannot be changed here."
        elif key == "name":
            try:
                clean[key] = _name(value)
            except ValidationFailed as exc:
                errors.update({k: v[0] for k, v in exc.errors.items()})
        elif key == "initial_status":
            status = row.pipeline.status(value) if isinstance(value, str) else None
            if status is None or status.archived_at is not None:
                errors[key] = f"Unknown status {value!r} in {row.pipeline.key!r}."
            else:
                clean[key] = status
        elif key in ("is_active", "customer_can_create"):
            if not isinstance(value, bool):
                errors[key] = "Not a valid boolean."
            else:
                clean[key] = value
        elif key == "order":
            if isinstance(value, bool) or not isinstance(value, int):
                errors[key] = "Not a valid integer."
            else:
                clean[key] = value
    if clean.get("is_active") is False:
        from kernel.models import Setting

        default = db.session.get(Setting, "kernel.default_ticket_type")
        if default is not None and default.value == row.key:
            errors["is_active"] = "The default ticket type cannot be deactivated."
    if errors:
        raise ValidationFailed(errors)
    result = {}
    for key, value in clean.items():
        old = getattr(row, key)
        if old is not value and old != value:
            result[key] = [old.key if isinstance(old, Status) else old,
                           value.key if isinstance(value, Status) else value]
    if result:
        with unit_of_work():
            for key in result:
                setattr(row, key, clean[key])
    return result


@audited("workflow.update_status")
def update_status(pipeline_key: str, status_key: str, changes: dict,
                  actor: User | None = None) -> Status:
    """Rename a status, move it to another group or give it a colour (``#rrggbb``
    or empty)."""
    permissions.require(actor, "admin.settings")
    pipe = pipeline(pipeline_key)
    status = pipe.status(status_key)
    if status is None:
        raise NotFound(f"Unknown status {status_key!r} in {pipeline_key!r}.")
    errors: dict[str, str] = {}
    clean: dict = {}
    for key, value in (changes or {}).items():
        if key == "name":
            try:
                clean[key] = _name(value)
            except ValidationFailed as exc:
                errors.update({k: v[0] for k, v in exc.errors.items()})
        elif key == "group":
            if value not in STATUS_GROUPS:
                errors[key] = f"One of {', '.join(STATUS_GROUPS)}."
            else:
                clean[key] = value
        elif key == "color":
            if not isinstance(value, str) or not COLOR_RE.match(value.strip()):
                errors[key] = "A colour like #2563eb, or nothing."
            else:
                clean[key] = value.strip().lower()
        else:
            errors[key] = "Cannot be changed here."
    if errors:
        raise ValidationFailed(errors)
    with unit_of_work():
        for key, value in clean.items():
            setattr(status, key, value)
    return status


@audited("workflow.reorder_statuses")
def reorder_statuses(pipeline_key: str, keys: list[str], actor: User | None = None) -> None:
    """Put the statuses of a pipeline in this order (every key exactly once)."""
    permissions.require(actor, "admin.settings")
    pipe = pipeline(pipeline_key)
    current = [s.key for s in pipe.statuses]
    if not isinstance(keys, list | tuple) or sorted(keys) != sorted(current):
        raise ValidationFailed({"order": "Name every status of the pipeline exactly once."})
    by_key = {s.key: s for s in pipe.statuses}
    with unit_of_work():
        for n, key in enumerate(keys):
            by_key[key].order = n
    db.session.expire(pipe, ["statuses"])


@audited("workflow.move_status")
def move_status(pipeline_key: str, status_key: str, offset: int,
                actor: User | None = None) -> None:
    """Move one status up (``offset=-1``) or down (``+1``) in its pipeline."""
    keys = [s.key for s in pipeline(pipeline_key).statuses]
    if status_key not in keys:
        raise NotFound(f"Unknown status {status_key!r} in {pipeline_key!r}.")
    i = keys.index(status_key)
    j = max(0, min(len(keys) - 1, i + offset))
    keys[i], keys[j] = keys[j], keys[i]
    reorder_statuses(pipeline_key, keys, actor=actor)


# -- archiving (K3): kept for tickets and history, gone from forms ----------------


def _status_of(pipeline_key: str, status_key: str) -> tuple[Pipeline, Status]:
    pipe = pipeline(pipeline_key)
    status = pipe.status(status_key)
    if status is None:
        raise NotFound(f"Unknown status {status_key!r} in {pipeline_key!r}.")
    return pipe, status


@audited("workflow.archive_status")
def archive_status(pipeline_key: str, status_key: str, actor: User | None = None) -> Status:
    """Archive a status: tickets in it keep it (and may move out of it), history
    keeps its name; no form, picker or move offers it any more. Refused for the
    initial status of a ticket type and for a pipeline's last active status."""
    permissions.require(actor, "admin.settings")
    pipe, status = _status_of(pipeline_key, status_key)
    if status.archived_at is not None:
        return status
    starts = [t.key for t in db.session.scalars(db.select(TicketType).where(
        TicketType.initial_status_id == status.id))]
    if starts:
        raise ValidationFailed({"status": f"Tickets of {', '.join(starts)} start in "
                                          f"{status_key!r}: pick another initial status first."})
    if len(pipe.active_statuses) <= 1:
        raise ValidationFailed({"status": "A pipeline keeps at least one active status."})
    with unit_of_work():
        status.archived_at = utcnow()
    return status


@audited("workflow.restore_status")
def restore_status(pipeline_key: str, status_key: str, actor: User | None = None) -> Status:
    """Bring an archived status back into forms and moves (its transitions too)."""
    permissions.require(actor, "admin.settings")
    _pipe, status = _status_of(pipeline_key, status_key)
    with unit_of_work():
        status.archived_at = None
    return status


@audited("workflow.archive_pipeline")
def archive_pipeline(key: str, actor: User | None = None) -> Pipeline:
    """Archive a pipeline no active ticket type uses: kept for the tickets of
    inactive types, gone from the pickers of the type form."""
    permissions.require(actor, "admin.settings")
    pipe = pipeline(key)
    users_of = [t.key for t in db.session.scalars(db.select(TicketType).where(
        TicketType.pipeline_id == pipe.id, TicketType.is_active.is_(True)))]
    if users_of:
        raise ValidationFailed({"pipeline": f"Active ticket types use it: {', '.join(users_of)}."
                                            " Deactivate them or give them another pipeline."})
    with unit_of_work():
        if pipe.archived_at is None:
            pipe.archived_at = utcnow()
    return pipe


@audited("workflow.restore_pipeline")
def restore_pipeline(key: str, actor: User | None = None) -> Pipeline:
    permissions.require(actor, "admin.settings")
    pipe = pipeline(key)
    with unit_of_work():
        pipe.archived_at = None
    return pipe


def preview_number(template: str, type_key: str = "type", when=None) -> str:
    """The number the next ticket would get with ``template`` (nothing is taken);
    raises ``ValidationFailed`` naming ``number_template`` for a bad template."""
    from datetime import UTC, datetime

    from kernel.models import NumberCounter

    try:
        numbering.validate(template, _extra_variables())
    except numbering.TemplateError as exc:
        raise ValidationFailed({"number_template": str(exc)}) from exc
    variables = numbering.variables_for(type_key, when or datetime.now(UTC))
    for name in _extra_variables():
        variables.setdefault(name, name.upper())
    try:
        counter = db.session.get(NumberCounter, numbering.counter_key(template, variables))
        return numbering.render(template, variables, (counter.value if counter else 0) + 1)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValidationFailed({"number_template": f"Template {template!r}: {exc}."}) from exc
