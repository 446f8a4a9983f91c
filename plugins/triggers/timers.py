"""Time-based rules: "deadline passed" and "N hours in a status".

The periodic job ``triggers.scan`` (every 5 minutes) finds, for each active rule
with a time-based event, the tickets that are due and for which that rule has
not fired at this *occurrence*, evaluates the rule's conditions, and fires it:

* the firing is claimed first with a ``triggers_timer_fires`` row, unique per
  (rule, ticket, marker) — so a rule fires once per ticket per occurrence, even
  with two scans at once;
* the marker is the deadline (``triggers.deadline_passed``) or the moment the
  ticket entered its status (``triggers.time_in_status``): a new deadline or a
  new status is a new occurrence, and the rule is armed again;
* the ticket gets a history event of that kind (one for the rules due at the
  same occurrence), and the rules' actions run for it as for any event.

A due ticket whose conditions do not hold is looked at again at the next scan
(the conditions may come to hold later: the priority was raised).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kernel.db import db, utcnow
from kernel.models import Status, Ticket
from plugins.triggers import conditions as c
from plugins.triggers import engine
from plugins.triggers.catalogue import DEADLINE_PASSED, TIME_IN_STATUS
from plugins.triggers.models import TimerFire

log = logging.getLogger("hookdesk.triggers")

JOB_KEY = "triggers.scan"
SCHEDULE = "*/5 * * * *"


def _candidates(rule: engine.CompiledRule, spec: engine.EventSpec, now: datetime):
    threshold = now - timedelta(hours=spec.hours)
    if spec.kind == DEADLINE_PASSED:
        marker = Ticket.deadline
        where = [Status.group == "open", Ticket.deadline.is_not(None),
                 Ticket.deadline <= threshold]
    else:
        marker = Ticket.status_changed_at
        where = [Ticket.status_changed_at <= threshold,
                 Status.key.in_(spec.statuses) if spec.statuses else Status.group == "open"]
    fired = (select(TimerFire.id)
             .where(TimerFire.rule_id == rule.id, TimerFire.ticket_id == Ticket.id,
                    TimerFire.marker == marker)
             .exists())
    query = (select(Ticket.id, marker).join(Status, Ticket.status_id == Status.id)
             .where(*where, ~fired).order_by(Ticket.id))
    return db.session.execute(query).all()


def marker_of(ticket: Ticket, spec: engine.EventSpec, now: datetime) -> datetime | None:
    """The occurrence ``spec`` is due for on ``ticket`` now, or None."""
    due_by = now - timedelta(hours=spec.hours)
    if spec.kind == DEADLINE_PASSED:
        if ticket.status.group == "open" and ticket.deadline and ticket.deadline <= due_by:
            return ticket.deadline
        return None
    in_scope = (ticket.status.key in spec.statuses if spec.statuses
                else ticket.status.group == "open")
    if in_scope and ticket.status_changed_at <= due_by:
        return ticket.status_changed_at
    return None


def _data(ticket: Ticket, spec: engine.EventSpec, marker: datetime) -> dict[str, Any]:
    if spec.kind == DEADLINE_PASSED:
        return {"deadline": marker.isoformat(), "hours": spec.hours}
    return {"status": ticket.status.key, "since": marker.isoformat(), "hours": spec.hours}


def prune_runs(now: datetime | None = None) -> int:
    """Forget run-log rows older than ``HOOKDESK_TRIGGERS_KEEP_RUNS_DAYS`` (90)."""
    from sqlalchemy import delete

    from kernel import runtime
    from kernel.services.uow import unit_of_work
    from plugins.triggers.models import Run

    days = int(runtime.config("HOOKDESK_TRIGGERS_KEEP_RUNS_DAYS", 90))
    with unit_of_work():
        return db.session.execute(
            delete(Run).where(Run.at < (now or utcnow()) - timedelta(days=days))
            .execution_options(synchronize_session=False)).rowcount


def periodic() -> None:
    """The job ``triggers.scan``: fire due time-based rules, prune the run log."""
    scan()
    prune_runs()


def scan(now: datetime | None = None) -> int:
    """Fire every time-based rule that is due; returns how many firings."""
    now = now or utcnow()
    due: dict[int, list[tuple[engine.CompiledRule, engine.EventSpec, datetime]]] = {}
    for rule, spec in engine.current_index().timed:
        for ticket_id, marker in _candidates(rule, spec, now):
            due.setdefault(ticket_id, []).append((rule, spec, marker))
    db.session.rollback()  # end the read before writing
    fired = 0
    for ticket_id in sorted(due):
        try:
            fired += _fire(ticket_id, due[ticket_id], now)
        except Exception:  # one ticket's trouble must not stop the others
            log.exception("Time-based rules failed for ticket #%s", ticket_id)
    return fired


def _fire(ticket_id: int, items, now: datetime) -> int:
    from kernel.services import tickets
    from kernel.services.uow import unit_of_work

    fired = 0
    with unit_of_work():
        ticket = db.session.get(Ticket, ticket_id, populate_existing=True)
        if ticket is None:
            return 0
        groups: dict[tuple[str, datetime, float], list[tuple[Any, TimerFire]]] = {}
        for rule, spec, marker in items:
            if marker_of(ticket, spec, now) != marker:
                continue  # changed since the scan looked
            stand_in = SimpleNamespace(id=None, kind=spec.kind, data=_data(ticket, spec, marker),
                                       via="triggers", actor=None, actor_id=None,
                                       ticket_id=ticket.id, at=now)
            try:
                if not rule.condition.evaluate(c.Facts(ticket, stand_in, now)):
                    continue
            except Exception:
                log.exception("Rule %r: a condition failed on %s", rule.name, ticket.number)
                continue
            try:
                with unit_of_work():
                    fire = TimerFire(rule_id=rule.id, ticket_id=ticket.id, marker=marker, at=now)
                    db.session.add(fire)
                    db.session.flush()
            except IntegrityError:
                continue  # another scan fired it
            groups.setdefault((spec.kind, marker, spec.hours), []).append((rule, fire))
        for (kind, marker, hours), pairs in groups.items():
            spec = engine.EventSpec(kind=kind, hours=hours)
            data = {**_data(ticket, spec, marker), "rules": [r.name for r, _f in pairs]}
            event = tickets.record_custom_event(ticket, kind, data, actor=None, via="triggers")
            for _rule, fire in pairs:
                fire.event_id = event.id
            fired += engine.dispatch([r for r, _f in pairs], ticket, event)
    return fired


__all__ = ["JOB_KEY", "SCHEDULE", "TIME_IN_STATUS", "marker_of", "periodic", "prune_runs", "scan"]
