"""The engine: loop safety, the depth limit, failing conditions, the shared
index, 1,000 rules, and a dry run that writes nothing."""

import logging
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from kernel.db import db, utcnow
from kernel.models import Message, Ticket
from kernel.services import history, tickets
from plugins.triggers import engine, service
from plugins.triggers.models import Rule, Run

pytestmark = pytest.mark.plugins("helpdesk", "triggers")


def _act(key, **params):
    return {"action": key, "params": params}


def _changed(key):
    return {"all": [{"field": key, "op": "changed"}]}


def _runs():
    return db.session.scalars(db.select(Run).order_by(Run.id)).all()


def test_two_rules_setting_each_others_fields_stop(app, agent, make_rule):
    make_rule("A sets B", ["fields_changed"],
              [_act("triggers.set_fields", values={"probe_b": "from A ({{ticket.probe_a}})"})],
              _changed("probe_a"))
    make_rule("B sets A", ["fields_changed"],
              [_act("triggers.set_fields", values={"probe_a": "from B"})], _changed("probe_b"))
    ticket = tickets.create({"subject": "Loop"}, actor=agent)
    tickets.update(ticket, {"probe_a": "x"}, actor=agent)
    assert ticket.value("probe_b") == "from A (x)"
    assert ticket.value("probe_a") == "from B"
    assert sorted((r.rule_name, r.depth, r.outcome) for r in _runs()) == [
        ("A sets B", 0, "ok"), ("B sets A", 1, "ok")]
    vias = [e.via for e in history.for_ticket(ticket) if e.kind == "fields_changed"]
    assert vias == [None, "rule:A sets B", "rule:B sets A"]


def test_a_rule_does_not_fire_on_its_own_change(app, agent, make_rule):
    make_rule("Counter", ["fields_changed"],
              [_act("triggers.set_fields", values={"probe_note": "again {{ticket.probe_note}}"})])
    ticket = tickets.create({"subject": "Self"}, actor=agent)
    tickets.update(ticket, {"probe_note": "x"}, actor=agent)
    assert ticket.value("probe_note") == "again x"
    assert len(_runs()) == 1


def test_a_rule_creating_tickets_does_not_recurse(app, agent, make_rule):
    make_rule("Spawn", ["created"], [_act("triggers.create_linked_ticket", type="request",
                                          values={"subject": "child"})])
    tickets.create({"subject": "Parent"}, actor=agent)
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 2


def test_chain_depth_limit_stops_with_a_logged_error(app, agent, make_rule, caplog):
    for n in range(1, 8):
        make_rule(f"R{n}", ["fields_changed"],
                  [_act("triggers.set_fields", values={f"probe_f{n + 1}": n + 1})],
                  _changed(f"probe_f{n}"))
    ticket = tickets.create({"subject": "Chain"}, actor=agent)
    with caplog.at_level(logging.ERROR, logger="hookdesk.triggers"):
        tickets.update(ticket, {"probe_f1": 1}, actor=agent)
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.value("probe_f1") == 1  # the user's change stands
    assert [ticket.value(f"probe_f{n}") for n in range(2, 9)] == [2, 3, 4, 5, 6, None, None]
    runs = _runs()
    # Rows are written when a rule's actions end: the deepest first.
    assert sorted((r.rule_name, r.outcome, r.depth) for r in runs) == [
        ("R1", "ok", 0), ("R2", "ok", 1), ("R3", "ok", 2), ("R4", "ok", 3), ("R5", "ok", 4),
        ("R6", "depth_limit", 5)]
    limited = next(r for r in runs if r.outcome == "depth_limit")
    assert "R1 -> R2 -> R3 -> R4 -> R5 -> R6" in limited.error
    assert any("deeper than 5" in rec.getMessage() for rec in caplog.records)


@pytest.mark.app_config(HOOKDESK_TRIGGERS_MAX_DEPTH=2)
def test_depth_limit_is_configurable(app, agent, make_rule):
    for n in range(1, 5):
        make_rule(f"R{n}", ["fields_changed"],
                  [_act("triggers.set_fields", values={f"probe_f{n + 1}": 1})],
                  _changed(f"probe_f{n}"))
    ticket = tickets.create({"subject": "Chain"}, actor=agent)
    tickets.update(ticket, {"probe_f1": 1}, actor=agent)
    assert [ticket.value(f"probe_f{n}") for n in range(2, 5)] == [1, 1, None]


def test_a_failing_condition_is_logged_and_the_change_stands(app, agent, make_rule):
    make_rule("Explodes", ["created"], [_act("probe.tag")],
              {"all": [{"condition": "probe.explode"}]})
    make_rule("Fine", ["created"], [_act("triggers.set_fields", values={"urgent": True})])
    ticket = tickets.create({"subject": "Survives"}, actor=agent)
    assert ticket.id and ticket.urgent is True and ticket.value("probe_note") is None
    errors = [r for r in _runs() if r.outcome == "error"]
    assert len(errors) == 1 and "the probe condition always raises" in errors[0].error
    assert errors[0].matched is False


def test_a_rule_of_a_disabled_plugin_is_skipped(app, agent, make_rule):
    rule = make_rule("Tagger", ["created"], [_act("probe.tag", text="x")])
    db.session.commit()
    with db.engine.begin() as conn:  # as if the plugin that declared the action were disabled
        conn.execute(text("UPDATE triggers_rules SET actions = :a"),
                     {"a": '[{"action": "gone.away", "params": {}}]'})
        conn.execute(text("UPDATE triggers_meta SET value = 'changed'"))
    ticket = tickets.create({"subject": "A"}, actor=agent)
    assert ticket.value("probe_note") is None
    db.session.expire_all()
    assert "actions.0.action" in service.problems(db.session.get(Rule, rule.id))


def test_the_index_is_shared_and_follows_the_stamp(app, agent, make_rule):
    make_rule("Tagger", ["created"], [_act("probe.tag", text="one")])
    tickets.create({"subject": "A"}, actor=agent)
    cached = app.extensions["hookdesk.triggers"]["index"]
    tickets.create({"subject": "B"}, actor=agent)
    assert app.extensions["hookdesk.triggers"]["index"] is cached  # not rebuilt
    # Another process changes a rule: its transaction writes a new stamp too.
    db.session.commit()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE triggers_rules SET actions = :a"),
                     {"a": '[{"action": "probe.tag", "params": {"text": "two"}}]'})
        conn.execute(text("UPDATE triggers_meta SET value = 'other-process'"))
    assert tickets.create({"subject": "C"}, actor=agent).value("probe_note") == "two"
    assert app.extensions["hookdesk.triggers"]["index"].stamp == "other-process"


def test_an_event_kind_without_rules_costs_no_rule_query(app, agent, make_rule):
    from sqlalchemy import event

    make_rule("Only status", ["status_changed"], [_act("probe.tag")])
    tickets.create({"subject": "warm the index"}, actor=agent)
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        tickets.create({"subject": "B"}, actor=agent)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert not any("FROM triggers_rules" in s for s in statements)
    assert sum("FROM triggers_meta" in s for s in statements) == 1  # the stamp, once


def test_a_thousand_rules(app, agent, make_rule):
    """1,000 rules, mostly not matching: exactly the right ones run, in order."""
    template = service.validate({
        "name": "template", "events": ["created"],
        "conditions": {"all": [{"field": "probe_category", "op": "is", "value": "windows"},
                               {"field": "subject", "op": "contains", "value": "never"}]},
        "actions": [_act("triggers.add_note", body="wrong")]})
    db.session.commit()
    if True:
        for n in range(1000):
            kind = ["created", "status_changed", "fields_changed", "message_posted"][n % 4]
            rule = Rule(name=f"bulk {n:04d}", events=[{"kind": kind}],
                        conditions=template["conditions"], actions=template["actions"],
                        position=n)
            if n % 100 == 7:  # ten rules that match a plumbing ticket on creation
                rule.events = [{"kind": "created"}]
                rule.conditions = {"any": [
                    {"field": "probe_category", "op": "is", "value": "plumbing"},
                    {"condition": "probe.subject_has", "params": {"word": "nothing"}}]}
                rule.actions = [_act("triggers.add_note", body=f"rule {n}")]
            db.session.add(rule)
        db.session.commit()
    ticket = tickets.create({"subject": "Leak", "probe_category": "plumbing"}, actor=agent)
    notes = db.session.scalars(db.select(Message.body).where(Message.ticket_id == ticket.id)
                               .order_by(Message.id)).all()
    assert notes == [f"rule {n}" for n in range(7, 1000, 100)]
    assert [r.rule_name for r in _runs()] == [f"bulk {n:04d}" for n in range(7, 1000, 100)]
    other = tickets.create({"subject": "Spark", "probe_category": "electrics"}, actor=agent)
    tickets.transition(other, "in_progress", actor=agent)
    assert db.session.scalar(db.select(db.func.count(Message.id))
                             .where(Message.ticket_id == other.id)) == 0
    assert len(_runs()) == 10
    index = engine.current_index()
    assert len(index.rules) == 1000
    assert len(index.by_kind["created"]) == 250 + 10


def _row_counts():
    """Rows of every table of this database (models of plugins not enabled here
    are known to the metadata but have no table)."""
    existing = set(db.inspect(db.session.connection()).get_table_names())
    assert {"tickets", "ticket_events", "outbox", "triggers_runs"} <= existing
    return {table.name: db.session.scalar(db.select(db.func.count()).select_from(table))
            for table in db.metadata.sorted_tables if table.name in existing}


def test_dry_run_writes_nothing(app, agent, customer, make_rule):
    rule = make_rule("Would fire", ["created"], [
        _act("triggers.set_status", status="in_progress"),
        _act("triggers.email", to="customer", subject="Hi", body="Hi"),
        _act("probe.tag", text="x")],
        {"all": [{"field": "queue", "op": "is", "value": "technical"},
                 {"condition": "probe.subject_has", "params": {"word": "leak"}},
                 {"condition": "triggers.customer_has_open_ticket", "params": {}}]})
    service.update(rule, {"active": False})  # so creating the tickets does not run it
    tickets.create({"subject": "Earlier", "customer": customer.id}, actor=agent)
    ticket = tickets.create({"subject": "Leak", "queue": "technical", "customer": customer.id},
                            actor=agent)
    service.update(rule, {"active": True})
    db.session.commit()
    before = _row_counts()
    version = ticket.version
    result = service.test(rule, ticket.number)
    unsaved = service.test({"events": ["created"], "actions": [_act("probe.boom")]}, ticket.id)
    db.session.commit()
    db.session.expire_all()
    assert _row_counts() == before
    assert db.session.get(Ticket, ticket.id).version == version
    assert result["would_fire"] is True, result["because"]
    assert result["because"][0] == "[yes] the rule listens to event 'created' #2"
    assert "  [yes] Customer has another open ticket (triggers.customer_has_open_ticket)" in \
        result["because"]
    assert result["actions"][0] == "Set status: status='in_progress'"
    assert unsaved["would_fire"] is True and unsaved["actions"] == ["Always fails"]


def test_dry_run_uses_the_right_event_and_says_why_not(app, agent, make_rule):
    rule = make_rule("On status", ["status_changed"], [_act("probe.tag")],
                     {"all": [{"field": "status", "op": "changed_to", "value": "resolved"}]},
                     active=False)
    ticket = tickets.create({"subject": "A"}, actor=agent)
    result = service.test(rule, ticket.id)
    assert result["would_fire"] is False
    assert result["because"][0] == "[no]  the rule is not active"
    assert "a stand-in: no such event yet" in result["because"][1]
    service.update(rule, {"active": True})
    tickets.transition(ticket, "in_progress", actor=agent)
    tickets.transition(ticket, "resolved", actor=agent)
    last = [e for e in history.for_ticket(ticket) if e.kind == "status_changed"][-1]
    result = service.test(rule, ticket.id)
    assert result["event"] == {"id": last.id, "kind": "status_changed"}
    assert result["would_fire"] is True
    earlier = [e for e in history.for_ticket(ticket) if e.kind == "status_changed"][-2]
    assert service.test(rule, ticket.id, event_id=earlier.id)["would_fire"] is False


def test_dry_run_judges_the_ticket_as_the_event_saw_it(app, agent, customer, make_rule):
    """Issue 15: the dry run said "would fire" for a creation the rule did not fire
    on, judging the ticket as it is now (its priority was raised later, another
    ticket of the customer was opened later)."""
    rule = make_rule("Urgent repeat", ["created"], [_act("probe.tag", text="x")],
                     {"all": [{"field": "priority", "op": "is", "value": "high"},
                              {"condition": "triggers.customer_has_open_ticket",
                               "params": {}}]})
    ticket = tickets.create({"subject": "A", "customer": customer.id}, actor=agent)
    tickets.create({"subject": "B", "customer": customer.id}, actor=agent)
    tickets.update(ticket, {"priority": "high", "probe_a": "later"}, actor=agent)
    db.session.commit()
    assert not [r for r in _runs() if r.ticket_id == ticket.id]  # it did not fire
    created = history.for_ticket(ticket)[0]
    result = service.test(rule, ticket.number)
    assert result["event"] == {"id": created.id, "kind": "created"}
    assert result["would_fire"] is False, result["because"]
    assert any(line.startswith("  [no]") and "priority" in line for line in result["because"])
    assert "  [no]  Customer has another open ticket (triggers.customer_has_open_ticket)" in \
        result["because"]
    now = SimpleNamespace(id=None, kind="created", data={}, via=None, actor=None,
                          actor_id=None, ticket_id=ticket.id, at=utcnow())
    assert engine.test_rule(rule, ticket, now)["would_fire"] is True  # today's ticket would


def test_dry_run_never_fires_a_rule_on_its_own_change(app, agent, make_rule):
    rule = make_rule("Escalate", ["fields_changed"],
                     [_act("triggers.set_fields", values={"probe_b": "done"})])
    ticket = tickets.create({"subject": "A"}, actor=agent)
    tickets.update(ticket, {"probe_a": "x"}, actor=agent)
    own = history.for_ticket(ticket)[-1]
    assert own.via == "rule:Escalate"
    result = service.test(rule, ticket.id, event_id=own.id)
    assert result["would_fire"] is False
    assert "[no]  the rule made this change itself" in result["because"]
