"""Admin changes to ticket types, pipelines, statuses, transitions and
numbering (K2, K3, K5, A6) — made at run time, without code."""

from __future__ import annotations

import re

from kernel import numbering, permissions, runtime
from kernel.db import db
from kernel.errors import NotFound, ValidationFailed
from kernel.models import Pipeline, Status, Ticket, TicketType, Transition, User
from kernel.models.workflow import STATUS_GROUPS
from kernel.services import storable
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


def create_pipeline(key: str, name: str, statuses: list[dict], actor: User | None = None,
                    transitions: list[tuple[str, str]] | str = "any") -> Pipeline:
    """``statuses``: ``[{"key", "name", "group"}]`` in order."""
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
        elif not allowed and existing is not None:
            db.session.delete(existing)
    db.session.expire(pipe)


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
    status = pipe.status(initial_status) if initial_status else pipe.statuses[0]
    if status is None:
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
