"""Time-based rules: "deadline passed" and "N hours in a status" fire once per
ticket per rule per occurrence, and again for a new deadline or status."""

from datetime import timedelta

import pytest

from kernel.db import db, utcnow
from kernel.models import Message, TicketEvent
from kernel.services import history, tickets
from plugins.triggers import engine, timers
from plugins.triggers.models import Run, TimerFire

pytestmark = pytest.mark.plugins("helpdesk", "triggers")

DEADLINE = "triggers.deadline_passed"
IN_STATUS = "triggers.time_in_status"


def _act(key, **params):
    return {"action": key, "params": params}


def _notes(ticket):
    return db.session.scalars(db.select(Message.body).where(Message.ticket_id == ticket.id)
                              .order_by(Message.id)).all()


def _events(ticket, kind):
    return [e for e in history.for_ticket(ticket) if e.kind == kind]


def test_the_scan_is_a_periodic_job_that_also_prunes_the_log(app, agent, make_rule):
    decl = app.extensions["hookdesk"].registry.jobs[timers.JOB_KEY].decl
    assert decl.periodic == "*/5 * * * *"
    make_rule("Tagger", ["created"], [_act("probe.tag", text="x")])
    tickets.create({"subject": "A"}, actor=agent)
    old = db.session.scalar(db.select(Run))
    tickets.create({"subject": "B"}, actor=agent)
    old = db.session.get(Run, old.id)
    old.at = utcnow() - timedelta(days=91)
    db.session.commit()
    decl.run()
    assert db.session.scalar(db.select(db.func.count(Run.id))) == 1


def test_deadline_passed_fires_once_and_rearms(app, agent, make_rule):
    rule = make_rule("Overdue", [DEADLINE], [
        _act("triggers.set_fields", values={"urgent": True}),
        _act("triggers.add_note", body="Overdue since {{ticket.deadline}}")])
    past = utcnow() - timedelta(hours=2)
    late = tickets.create({"subject": "Late", "deadline": past.isoformat()}, actor=agent)
    tickets.create({"subject": "In time",
                    "deadline": (utcnow() + timedelta(days=1)).isoformat()}, actor=agent)
    tickets.create({"subject": "No deadline"}, actor=agent)
    closed = tickets.create({"subject": "Closed", "deadline": past.isoformat()}, actor=agent)
    tickets.transition(closed, "rejected", actor=agent)

    assert timers.scan() == 1
    assert late.urgent is True
    (event,) = _events(late, DEADLINE)
    assert event.via == "triggers" and event.data["rules"] == ["Overdue"]
    assert len(_notes(late)) == 1
    (run,) = db.session.scalars(db.select(Run)).all()
    assert (run.rule_id, run.ticket_id, run.event_id, run.outcome) == (
        rule.id, late.id, event.id, "ok")

    assert timers.scan() == 0  # once per occurrence
    assert timers.scan(now=utcnow() + timedelta(days=3)) == 1  # the other one is late now
    assert len(_events(late, DEADLINE)) == 1

    # A new deadline is a new occurrence: the rule is armed again.
    tickets.update(late, {"deadline": (utcnow() - timedelta(minutes=5)).isoformat()},
                   actor=agent)
    assert timers.scan() == 1
    assert len(_events(late, DEADLINE)) == 2 and len(_notes(late)) == 2
    assert timers.scan() == 0
    assert db.session.scalar(db.select(db.func.count(TimerFire.id))) == 3


def test_hours_after_the_deadline(app, agent, make_rule):
    make_rule("Very late", [{"kind": DEADLINE, "hours": 24}], [_act("probe.tag", text="late")])
    ticket = tickets.create({"subject": "A", "deadline": (utcnow() - timedelta(hours=2))
                             .isoformat()}, actor=agent)
    assert timers.scan() == 0
    assert timers.scan(now=utcnow() + timedelta(hours=23)) == 1
    assert ticket.value("probe_note") == "late"


def test_conditions_of_timed_rules(app, agent, make_rule):
    make_rule("Late and high", [DEADLINE], [_act("probe.tag", text="escalate")],
              {"all": [{"field": "priority", "op": "is", "value": "high"}]})
    ticket = tickets.create({"subject": "A", "deadline": (utcnow() - timedelta(hours=1))
                             .isoformat()}, actor=agent)
    assert timers.scan() == 0
    assert db.session.scalar(db.select(db.func.count(TimerFire.id))) == 0  # still armed
    tickets.update(ticket, {"priority": "high"}, actor=agent)
    assert timers.scan() == 1
    assert ticket.value("probe_note") == "escalate"
    assert timers.scan() == 0


def test_hours_in_a_status_fires_once_per_stay(app, agent, make_rule):
    make_rule("Waiting too long", [{"kind": IN_STATUS, "hours": 24, "statuses": ["waiting"]}],
              [_act("triggers.set_status", status="in_progress"),
               _act("triggers.add_note", body="No answer for a day", internal=False)])
    ticket = tickets.create({"subject": "A"}, actor=agent)
    tickets.transition(ticket, "in_progress", actor=agent)
    tickets.transition(ticket, "waiting", actor=agent)
    other = tickets.create({"subject": "Not waiting"}, actor=agent)
    assert timers.scan() == 0
    assert timers.scan(now=utcnow() + timedelta(hours=25)) == 1
    assert ticket.status.key == "in_progress"
    (event,) = _events(ticket, IN_STATUS)
    assert (event.data["status"], event.data["hours"]) == ("waiting", 24.0)
    assert _events(other, IN_STATUS) == []
    assert timers.scan(now=utcnow() + timedelta(hours=26)) == 0
    # Waiting again is a new stay.
    tickets.transition(ticket, "waiting", actor=agent)
    assert timers.scan(now=utcnow() + timedelta(hours=25)) == 1
    assert len(_events(ticket, IN_STATUS)) == 2


def test_any_open_status_by_default(app, agent, make_rule):
    make_rule("Stale", [{"kind": IN_STATUS, "hours": 48}], [_act("probe.tag", text="stale")])
    open_one = tickets.create({"subject": "Open"}, actor=agent)
    done = tickets.create({"subject": "Done"}, actor=agent)
    tickets.transition(done, "resolved", actor=agent)
    assert timers.scan(now=utcnow() + timedelta(hours=49)) == 1
    assert open_one.value("probe_note") == "stale" and done.value("probe_note") is None


def test_two_rules_due_together_share_one_event(app, agent, make_rule):
    make_rule("One", [DEADLINE], [_act("triggers.set_fields", values={"probe_a": "1"})])
    make_rule("Two", [DEADLINE], [_act("triggers.set_fields", values={"probe_b": "2"})])
    ticket = tickets.create({"subject": "A", "deadline": (utcnow() - timedelta(hours=1))
                             .isoformat()}, actor=agent)
    assert timers.scan() == 2
    (event,) = _events(ticket, DEADLINE)
    assert event.data["rules"] == ["One", "Two"]
    assert (ticket.value("probe_a"), ticket.value("probe_b")) == ("1", "2")


def test_a_firing_claimed_by_another_scan_is_not_repeated(app, agent, make_rule):
    rule = make_rule("Once", [DEADLINE], [_act("probe.tag", text="x")])
    deadline = utcnow() - timedelta(hours=1)
    ticket = tickets.create({"subject": "A", "deadline": deadline.isoformat()}, actor=agent)
    now = utcnow()
    (compiled, spec), = engine.current_index().timed
    marker = ticket.deadline
    db.session.rollback()
    # Another worker claimed it between this scan's read and its write.
    db.session.add(TimerFire(rule_id=rule.id, ticket_id=ticket.id, marker=marker, at=now))
    db.session.commit()
    assert timers._fire(ticket.id, [(compiled, spec, marker)], now) == 0
    assert db.session.scalar(db.select(db.func.count(TicketEvent.id))
                             .where(TicketEvent.kind == DEADLINE)) == 0


def test_timed_events_do_not_fire_other_rules_directly(app, agent, make_rule):
    """A rule listening to "created" is not run by a deadline event, and a time-based
    rule is not run by an ordinary event."""
    make_rule("Timed", [DEADLINE], [_act("probe.tag", text="timed")])
    ticket = tickets.create({"subject": "A", "deadline": (utcnow() - timedelta(hours=1))
                             .isoformat()}, actor=agent)
    assert ticket.value("probe_note") is None  # creating it did not fire the timed rule
    tickets.record_custom_event(ticket, DEADLINE, {"deadline": "by hand"})
    assert ticket.value("probe_note") is None  # only the scan dispatches timed events
    assert timers.scan() == 1 and ticket.value("probe_note") == "timed"


def test_the_cli_scan(app, agent, make_rule, runner):
    make_rule("Overdue", [DEADLINE], [_act("probe.tag", text="cli")])
    tickets.create({"subject": "A", "deadline": (utcnow() - timedelta(hours=1)).isoformat()},
                   actor=agent)
    result = runner.invoke(args=["triggers", "scan"])
    assert result.exit_code == 0, result.output
    assert "Fired 1 time-based rule(s)." in result.output
