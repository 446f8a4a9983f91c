"""Managing rules (admins: ``admin.settings``), the run log and the dry run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from kernel import permissions
from kernel.db import db, get_by_id, utcnow
from kernel.errors import NotFound, ValidationFailed
from kernel.i18n import N_
from kernel.models import Ticket, TicketEvent, User
from kernel.services.uow import unit_of_work
from plugins.triggers import catalogue, engine
from plugins.triggers.catalogue import Msg
from plugins.triggers.models import Rule, Run

FIELDS = ("name", "description", "active", "events", "conditions", "actions", "position",
          "stop_processing")
PERMISSION = "admin.settings"


def validate(data: Mapping[str, Any], partial: bool = False,
             existing: Rule | None = None, unique_name: bool = True) -> dict[str, Any]:
    """Check a rule (all of it, or for ``partial`` the parts given); raises
    ``ValidationFailed`` naming every bad part, e.g. ``conditions.all.0.op``."""
    if not isinstance(data, Mapping):
        raise ValidationFailed({"_schema": [Msg(N_("Expected a rule object."))]})
    out = catalogue.Problems()
    cleaned: dict[str, Any] = {}
    for key in data:
        if key not in FIELDS:
            out.add(key, Msg(N_("Unknown key; a rule has: {known}."), known=", ".join(FIELDS)))
    if "name" in data or not partial:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            out.add("name", Msg(N_("Give the rule a name.")))
        elif len(name.strip()) > 200:
            out.add("name", Msg(N_("At most 200 characters.")))
        else:
            name = name.strip()
            clash = db.session.scalar(select(Rule).where(Rule.name == name))
            if unique_name and clash is not None and clash is not existing:
                out.add("name", Msg(N_("A rule named {name!r} exists already."), name=name))
            cleaned["name"] = name
    if "description" in data:
        text = data.get("description") or ""
        if not isinstance(text, str) or len(text) > 5000:
            out.add("description", Msg(N_("Text of at most 5000 characters.")))
        cleaned["description"] = text if isinstance(text, str) else ""
    for key in ("active", "stop_processing"):
        if key in data:
            if not isinstance(data[key], bool):
                out.add(key, Msg(N_("Expected true or false.")))
            cleaned[key] = bool(data[key])
    if "position" in data:
        value = data["position"]
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > 1_000_000:
            out.add("position", Msg(N_("Expected a whole number (rules run by position, "
                                       "then id).")))
        else:
            cleaned["position"] = value
    if "events" in data or not partial:
        cleaned["events"] = catalogue.check_events(data.get("events"), out)
    if "conditions" in data or not partial:
        cleaned["conditions"] = catalogue.check_conditions(data.get("conditions"), out)
    if "actions" in data or not partial:
        cleaned["actions"] = catalogue.check_actions(data.get("actions"), out)
    if out:
        failed = ValidationFailed(out.errors)
        failed.errors = out.errors  # the same texts, kept as Msg for the editor to translate
        raise failed
    return cleaned


def problems(rule: Rule) -> dict[str, list[str]]:
    """What is wrong with a stored rule now (a plugin it uses was disabled...)."""
    try:
        validate({k: getattr(rule, k) for k in FIELDS}, existing=rule)
    except ValidationFailed as exc:
        return exc.errors
    return {}


def create(data: Mapping[str, Any], actor: User | None = None) -> Rule:
    permissions.require(actor, PERMISSION)
    cleaned = validate(data)
    with unit_of_work():
        now = utcnow()
        rule = Rule(name=cleaned["name"], description=cleaned.get("description", ""),
                    active=cleaned.get("active", True), events=cleaned["events"],
                    conditions=cleaned["conditions"], actions=cleaned["actions"],
                    position=cleaned.get("position", 100),
                    stop_processing=cleaned.get("stop_processing", False),
                    created_at=now, updated_at=now)
        db.session.add(rule)
        db.session.flush()
    return rule


def update(rule: Rule, data: Mapping[str, Any], actor: User | None = None) -> Rule:
    permissions.require(actor, PERMISSION)
    cleaned = validate(data, partial=True, existing=rule)
    with unit_of_work():
        for key, value in cleaned.items():
            setattr(rule, key, value)
        rule.updated_at = utcnow()
    return rule


def delete(rule: Rule, actor: User | None = None) -> None:
    permissions.require(actor, PERMISSION)
    with unit_of_work():
        db.session.delete(rule)


def get(ref: int | str, actor: User | None = None) -> Rule:
    """A rule by id or by name."""
    permissions.require(actor, PERMISSION)
    rule = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        rule = get_by_id(Rule, ref)
    if rule is None and isinstance(ref, str):
        rule = db.session.scalar(select(Rule).where(Rule.name == ref))
    if rule is None:
        raise NotFound("Rule not found.")
    return rule


def all_rules(actor: User | None = None) -> list[Rule]:
    permissions.require(actor, PERMISSION)
    return list(db.session.scalars(select(Rule).order_by(Rule.position, Rule.id)))


def runs(actor: User | None = None, rule_id: int | None = None, ticket: Ticket | None = None,
         outcome: str | None = None, limit: int = 50) -> list[Run]:
    """The run log, newest first."""
    permissions.require(actor, PERMISSION)
    query = select(Run)
    if rule_id is not None:
        query = query.where(Run.rule_id == rule_id)
    if ticket is not None:
        query = query.where(Run.ticket_id == ticket.id)
    if outcome:
        query = query.where(Run.outcome == outcome)
    return list(db.session.scalars(query.order_by(Run.id.desc()).limit(limit)))


def test(rule: Rule | Mapping[str, Any], ticket_ref: int | str, actor: User | None = None,
         event_id: int | None = None) -> dict[str, Any]:
    """The dry run: would ``rule`` (stored, or an unsaved rule's JSON) fire for the
    ticket, and why. Nothing is written."""
    from kernel.services import tickets

    permissions.require(actor, PERMISSION)
    if isinstance(rule, Mapping):
        data = {"name": "(dry run)", **rule}
        rule = {"active": True, **validate(data, unique_name=False)}
    ticket = tickets.get(ticket_ref, actor)
    event = None
    if event_id is not None:
        event = get_by_id(TicketEvent, event_id)
        if event is None or event.ticket_id != ticket.id:
            raise NotFound("Event not found on this ticket.")
    return engine.test_rule(rule, ticket, event)
