"""Actions: each built-in, plugin actions, history "by rule", failures undone alone,
side effects through the outbox with idempotency keys."""

import hashlib
import hmac
import json

import pytest
from triggers_probe import PROBE_CALLS, SENT

from kernel.db import db
from kernel.models import Message, OutboxMessage, Ticket, TicketEvent, TicketLink
from kernel.services import history, messages, tickets, users
from kernel.services.uow import unit_of_work
from plugins.triggers import service
from plugins.triggers.models import RoundRobin, Run

# The HTTP receiver listens on loopback: the integrator allow-list lets calls reach it.
pytestmark = [pytest.mark.plugins("helpdesk", "triggers"),
              pytest.mark.app_config(HOOKDESK_WEBHOOK_ALLOW="127.0.0.1")]


def _act(key, **params):
    return {"action": key, "params": params}


def _runs():
    return db.session.scalars(db.select(Run).order_by(Run.id)).all()


def _outbox():
    return db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_set_fields_shows_the_rule_in_history(app, agent, make_rule):
    rule = make_rule("Plumbing is urgent", ["created"],
                     [_act("triggers.set_fields", values={"urgent": True, "priority": "high",
                                                          "probe_note": "for {{ticket.number}}"})],
                     {"all": [{"field": "probe_category", "op": "is", "value": "plumbing"}]})
    ticket = tickets.create({"subject": "Leak", "probe_category": "plumbing"}, actor=agent)
    assert (ticket.urgent, ticket.priority) == (True, "high")
    assert ticket.value("probe_note") == f"for {ticket.number}"
    event = history.for_ticket(ticket)[-1]
    assert (event.kind, event.via, event.actor_id) == ("fields_changed", "rule:Plumbing is urgent",
                                                        None)
    (run,) = _runs()
    assert (run.rule_id, run.ticket_id, run.event_kind, run.matched, run.outcome) == (
        rule.id, ticket.id, "created", True, "ok")
    assert run.results == [{"index": 0, "action": "triggers.set_fields", "ok": True}]


def test_set_status_follows_the_pipeline(app, agent, make_rule):
    make_rule("Start work", ["created"], [_act("triggers.set_status", status="in_progress",
                                               comment="by {{rule.name}}")])
    ticket = tickets.create({"subject": "A"}, actor=agent)
    assert ticket.status.key == "in_progress"
    event = history.for_ticket(ticket)[-1]
    assert (event.kind, event.via, event.data["comment"]) == (
        "status_changed", "rule:Start work", "by Start work")


def test_refused_transition_is_logged_and_the_change_stands(app, agent, make_rule):
    # new -> waiting is not an allowed move in the support pipeline.
    make_rule("Wait at once", ["created"], [_act("triggers.set_status", status="waiting"),
                                            _act("triggers.add_note", body="still noted")])
    ticket = tickets.create({"subject": "Stays"}, actor=agent)
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket is not None and ticket.status.key == "new"
    (run,) = _runs()
    assert run.outcome == "partial"
    assert "not allowed" in run.error and "action 0 (triggers.set_status)" in run.error
    assert [r["ok"] for r in run.results] == [False, True]
    assert db.session.scalar(db.select(Message.body).where(Message.ticket_id == ticket.id)) \
        == "still noted"


def test_a_failing_action_is_undone_alone(app, agent, make_rule):
    make_rule("Half", ["fields_changed"], [_act("probe.tag", text="first"), _act("probe.boom"),
                                           _act("triggers.set_fields", values={"urgent": True})],
              {"all": [{"field": "queue", "op": "changed"}]})
    ticket = tickets.create({"subject": "User change"}, actor=agent)
    tickets.update(ticket, {"queue": "billing"}, actor=agent)
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.queue == "billing"  # the user's change stands
    assert ticket.value("probe_note") == "first"  # boom's own "half-done" was undone
    assert ticket.urgent is True  # the action after the failure still ran
    (run,) = _runs()
    assert run.outcome == "partial"
    assert "RuntimeError: the probe action always fails" in run.error
    notes = [e.data["changes"].get("probe_note") for e in history.for_ticket(ticket)
             if e.kind == "fields_changed"]
    assert [None, "first"] in notes and not any(n and n[1] == "half-done" for n in notes)


def test_rule_changes_roll_back_with_the_users_change(app, agent, make_rule):
    make_rule("Mail", ["created"], [_act("triggers.email", to="address", address="x@example.ru",
                                         subject="New", body="New ticket")])
    with pytest.raises(RuntimeError), unit_of_work():
        tickets.create({"subject": "Never"}, actor=agent)
        raise RuntimeError("abort")
    assert _outbox() == [] and _runs() == [] and SENT == []


def test_assign_to_an_agent_by_email(app, agent, admin, make_rule):
    make_rule("To admin", ["created"], [_act("triggers.assign", agent="ADMIN@test.example")])
    ticket = tickets.create({"subject": "A"}, actor=agent)
    assert ticket.assignee_id == admin.id
    assert history.for_ticket(ticket)[-1].via == "rule:To admin"


def test_round_robin_is_fair_and_kept_in_a_table(app, agent, make_rule):
    team = [users.create({"email": f"p{n}@test.example", "password": "plumber-pass-1",
                          "roles": ["agent"], "name": f"P{n}"}) for n in range(3)]
    make_rule("Round", ["created"], [_act("triggers.assign_round_robin", role="agent")])
    pool = sorted([agent.id] + [u.id for u in team])
    got = [tickets.create({"subject": f"T{n}"}, actor=None).assignee_id for n in range(8)]
    assert got == (pool * 2)[:8]
    state = db.session.get(RoundRobin, "role:agent")
    assert state.last_user_id == got[-1]
    # Another process picks up where this one stopped: the state is in the database.
    state.last_user_id = pool[1]
    db.session.commit()
    assert tickets.create({"subject": "next"}, actor=None).assignee_id == pool[2]


def test_round_robin_without_agents_fails_cleanly(app, agent, make_rule):
    from kernel.services import workflow  # noqa: F401 - roles exist from sync

    make_rule("Nobody", ["created"], [_act("triggers.assign_round_robin", role="admin")])
    ticket = tickets.create({"subject": "A"}, actor=agent)
    assert ticket.assignee_id == agent.id
    assert "No active agent has the role 'admin'" in _runs()[0].error


def test_add_note_internal_and_public(app, agent, make_rule):
    make_rule("Notes", ["created"], [
        _act("triggers.add_note", body="Check warranty for {{ticket.number}}"),
        _act("triggers.add_note", body="We got it, {{customer.name}}", internal=False)])
    ticket = tickets.create({"subject": "A"}, actor=agent)
    notes = db.session.scalars(db.select(Message).where(Message.ticket_id == ticket.id)
                               .order_by(Message.id)).all()
    assert [(m.body, m.internal, m.author_kind) for m in notes] == [
        (f"Check warranty for {ticket.number}", True, "system"),
        ("We got it,", False, "system")]
    posted = [e for e in history.for_ticket(ticket) if e.kind == "message_posted"]
    assert {e.via for e in posted} == {"rule:Notes"}


# One row per action and recipient: coalescing (two letters to agent@ here) is off;
# it is tested in tests/security/test_rule_storms.py.
@pytest.mark.app_config(HOOKDESK_MAIL_COALESCE_SECONDS=0)
def test_email_to_customer_assignee_agents_and_address(app, agent, admin, customer, make_rule):
    rule = make_rule("Tell everyone", ["status_changed"], [
        _act("triggers.email", to="customer", subject={"ru": "Статус: {{ticket.status}}",
                                                       "en": "Status: {{ticket.status}}"},
             body="Ticket {{ticket.number}} is now {{ticket.status}}."),
        _act("triggers.email", to="assignee", subject="Moved", body="Moved"),
        _act("triggers.email", to="agents", agents=[agent.id, "admin@test.example"],
             subject="FYI", body="FYI"),
        _act("triggers.email", to="address", address="boss@example.ru", locale="en",
             subject="Site manager", body="<b>{{ticket.subject}}</b>"),
    ], {"all": [{"field": "status", "op": "changed_to", "value": "in_progress"}]})
    ticket = tickets.create({"subject": "A & B", "customer": customer.id}, actor=agent)
    tickets.transition(ticket, "in_progress", actor=agent)
    event = history.for_ticket(ticket)[-1]
    rows = _outbox()
    assert [(r.channel, r.recipient) for r in rows] == [
        ("email", "ivan@example.ru"), ("email", "agent@test.example"),
        ("email", "agent@test.example"), ("email", "admin@test.example"),
        ("email", "boss@example.ru")]
    base = f"rule-{rule.id}-event-{event.id}-action-"
    assert rows[0].key == base + "0" and rows[1].key == base + "1"
    assert rows[2].key.startswith(base + "2-") and rows[3].key.startswith(base + "2-")
    assert rows[2].key != rows[3].key
    assert rows[0].payload["locale"] == "ru"  # the default language; no portal account
    assert rows[0].payload["subject"] == "Статус: In progress"
    assert rows[0].payload["body"] == f"Ticket {ticket.number} is now In progress."
    assert rows[4].payload["html"] == "<p>&lt;b&gt;A &amp; B&lt;/b&gt;</p>"
    assert rows[4].payload["subject"] == "Site manager"
    assert {r.ref for r in rows} == {f"ticket:{ticket.id}"}
    assert {r.status for r in rows} == {"sent"}  # delivered after commit
    if SENT:  # the probe channel (no real e-mail plugin in this deployment)
        assert [s[1] for s in SENT] == [r.recipient for r in rows]
        assert SENT[0][4]["idempotency_key"] == base + "0"


def test_email_without_a_recipient_is_skipped(app, agent, make_rule):
    make_rule("Mail customer", ["created"], [_act("triggers.email", to="customer",
                                                  subject="Hi", body="Hi")])
    tickets.create({"subject": "No customer"}, actor=agent)
    (run,) = _runs()
    assert run.outcome == "ok"
    assert run.results[0]["skipped"] == "No e-mail address for 'customer'."
    assert _outbox() == []


def test_sms_to_the_customer(app, agent, customer, make_rule, monkeypatch):
    make_rule("SMS", ["created"], [_act("triggers.sms", to="customer",
                                        text="Заявка {{ticket.number}} принята")])
    ticket = tickets.create({"subject": "A", "customer": customer.id}, actor=agent)
    (row,) = _outbox()
    assert (row.channel, row.recipient, row.payload["body"]) == (
        "sms", "+79123456789", f"Заявка {ticket.number} принята")
    # Without an SMS plugin the action fails with a clear message; the ticket is made.
    registry = app.extensions["hookdesk"].registry
    monkeypatch.delitem(registry.notification_channels, "sms")
    other = tickets.create({"subject": "B", "customer": customer.id}, actor=agent)
    assert other.id and "no enabled plugin provides the 'sms' channel" in _runs()[-1].error


def test_webhook_posts_json_with_the_idempotency_key(app, agent, make_rule, http_receiver):
    rule = make_rule("Hook", ["created"], [_act("triggers.webhook", url=http_receiver.url,
                                                payload={"source": "hookdesk"},
                                                secret="s3cret")])
    ticket = tickets.create({"subject": "Call me"}, actor=agent)
    event = history.for_ticket(ticket)[0]
    (row,) = _outbox()
    assert (row.channel, row.status) == ("triggers.http", "sent")
    (headers, body), = http_receiver.calls
    key = f"rule-{rule.id}-event-{event.id}-action-0"
    assert headers["Idempotency-Key"] == key == headers["X-Hookdesk-Delivery"]
    data = json.loads(body)
    assert data["id"] == key and data["rule"] == "Hook"
    assert data["ticket"]["number"] == ticket.number and data["event"]["kind"] == "created"
    assert data["extra"] == {"source": "hookdesk"}
    mac = hmac.new(b"s3cret", headers["X-Hookdesk-Timestamp"].encode() + b"." + body,
                   hashlib.sha256).hexdigest()
    assert headers["X-Hookdesk-Signature"] == "sha256=" + mac


def test_webhook_failure_is_retried_by_the_outbox(app, agent, make_rule, http_receiver):
    make_rule("Hook", ["created"], [_act("triggers.webhook", url=http_receiver.url)])
    http_receiver.status = 503
    tickets.create({"subject": "Flaky"}, actor=agent)
    (row,) = _outbox()
    assert (row.status, row.attempts) == ("pending", 1) and "HTTP 503" in row.last_error
    http_receiver.status = 404
    from kernel import outbox
    from kernel.db import utcnow

    row.next_attempt_at = utcnow()
    db.session.commit()
    assert outbox.deliver(row.id) == "failed"  # 4xx: the receiver will never take it


def test_create_linked_ticket_of_another_type(app, agent, customer, make_rule):
    make_rule("Make order", ["status_changed"], [
        _act("triggers.create_linked_ticket", type="probe_order",
             values={"subject": "Order for {{ticket.number}}"},
             copy_fields=["customer", "probe_category"], link_kind="converted_to")],
        {"all": [{"field": "status", "op": "changed_to", "value": "resolved"}]})
    ticket = tickets.create({"subject": "Want it", "customer": customer.id,
                             "probe_category": "windows"}, actor=agent)
    tickets.transition(ticket, "resolved", actor=agent)
    order = db.session.scalar(db.select(Ticket).where(Ticket.id != ticket.id))
    assert order.type.key == "probe_order" and order.status.key == "placed"
    assert order.subject == f"Order for {ticket.number}"
    assert (order.customer_id, order.value("probe_category")) == (customer.id, "windows")
    link = db.session.scalar(db.select(TicketLink))
    assert (link.source_id, link.target_id, link.kind) == (ticket.id, order.id, "converted_to")
    created = history.for_ticket(order)[0]
    assert (created.kind, created.via) == ("created", "rule:Make order")


def test_plugin_action_gets_the_context(app, agent, make_rule):
    rule = make_rule("Tagger", ["created"], [_act("probe.tag", text="seen")])
    ticket = tickets.create({"subject": "A"}, actor=agent)
    assert ticket.value("probe_note") == "seen"
    (name, context), = PROBE_CALLS
    event = history.for_ticket(ticket)[0]
    assert context == {"rule_id": rule.id, "rule_name": "Tagger", "via": "rule:Tagger",
                       "action_index": 0, "event_id": event.id, "depth": 0,
                       "idempotency_key": f"rule-{rule.id}-event-{event.id}-action-0"}


def test_message_and_attachment_events_fire_rules(app, agent, customer_user, make_rule):
    import io

    from kernel.services import attachments

    make_rule("Customer wrote", ["message_posted"],
              [_act("triggers.set_status", status="in_progress")],
              {"all": [{"field": "message.author_kind", "op": "is", "value": "customer"}]})
    make_rule("File came", ["attachment_added"], [_act("probe.tag", text="file")])
    ticket = tickets.create({"subject": "Hi"}, actor=customer_user)
    messages.post(ticket, "More details", actor=customer_user)
    assert ticket.status.key == "in_progress"
    messages.post(ticket, "Agent answer", actor=agent)  # does not match
    upload = io.BytesIO(b"%PDF-1.4 plan")
    upload.filename = "plan.pdf"
    attachments.attach(ticket, upload, actor=agent)
    assert ticket.value("probe_note") == "file"
    kinds = [r.event_kind for r in _runs()]
    assert kinds == ["message_posted", "attachment_added"]


def test_linked_and_plugin_event_kinds_fire_rules(app, agent, make_rule):
    from kernel.services import links

    make_rule("Linked", ["linked"], [_act("probe.tag", text="linked")],
              {"all": [{"field": "event.incoming", "op": "is", "value": True}]})
    make_rule("Call", ["probe.call"], [_act("triggers.set_fields", values={"urgent": True})],
              {"all": [{"field": "event.seconds", "op": "gt", "value": 60}]})
    a = tickets.create({"subject": "A"}, actor=agent)
    b = tickets.create({"subject": "B"}, actor=agent)
    links.link(a, b, actor=agent)
    assert b.value("probe_note") == "linked" and a.value("probe_note") is None
    tickets.record_custom_event(a, "probe.call", {"seconds": 30})
    assert a.urgent is False
    tickets.record_custom_event(a, "probe.call", {"seconds": 95})
    assert a.urgent is True


def test_only_rules_of_the_event_kind_and_fields_run(app, agent, make_rule):
    make_rule("Queue only", [{"kind": "fields_changed", "fields": ["queue"]}],
              [_act("probe.tag", text="queue moved")])
    ticket = tickets.create({"subject": "A"}, actor=agent)
    tickets.update(ticket, {"priority": "high"}, actor=agent)
    assert ticket.value("probe_note") is None
    tickets.update(ticket, {"queue": "billing"}, actor=agent)
    assert ticket.value("probe_note") == "queue moved"


def test_stop_processing_and_order(app, agent, make_rule):
    make_rule("Second", ["created"], [_act("probe.tag", text="second")], position=20)
    make_rule("First", ["created"], [_act("probe.tag", text="first")], position=10,
              stop_processing=True)
    ticket = tickets.create({"subject": "A"}, actor=agent)
    assert ticket.value("probe_note") == "first"
    assert [r.rule_name for r in _runs()] == ["First"]


def test_inactive_rules_and_rule_changes_take_effect_at_once(app, agent, make_rule):
    rule = make_rule("Off", ["created"], [_act("probe.tag", text="x")], active=False)
    assert tickets.create({"subject": "A"}, actor=agent).value("probe_note") is None
    service.update(rule, {"active": True})
    assert tickets.create({"subject": "B"}, actor=agent).value("probe_note") == "x"
    service.update(rule, {"actions": [_act("probe.tag", text="y")]})
    assert tickets.create({"subject": "C"}, actor=agent).value("probe_note") == "y"
    service.delete(rule)
    assert tickets.create({"subject": "D"}, actor=agent).value("probe_note") is None
    assert db.session.scalar(db.select(db.func.count(Run.id))) == 2  # the log survives
    assert {r.rule_id for r in _runs()} == {None}


def test_events_made_by_a_rule_are_marked(app, agent, make_rule):
    make_rule("Tagger", ["created"], [_act("probe.tag", text="x")])
    ticket = tickets.create({"subject": "A"}, actor=agent)
    vias = db.session.scalars(db.select(TicketEvent.via).where(TicketEvent.ticket_id == ticket.id)
                              .order_by(TicketEvent.id)).all()
    assert vias == [None, "rule:Tagger"]


def test_round_robin_is_fair_under_concurrency(app, agent, make_rule):
    """Four workers create tickets at once: every agent gets exactly a quarter."""
    import threading
    from collections import Counter

    team = [agent] + [users.create({"email": f"c{n}@test.example", "password": "plumber-pass-1",
                                    "roles": ["agent"], "name": f"C{n}"}) for n in range(3)]
    make_rule("Round", ["created"], [_act("triggers.assign_round_robin", role="agent")])
    db.session.commit()
    made: list[int] = []
    errors: list[BaseException] = []

    def worker(n):
        with app.app_context():
            try:
                for i in range(5):
                    made.append(tickets.create({"subject": f"W{n}-{i}"}, actor=None).id)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(made) == 20
    assignees = db.session.scalars(db.select(Ticket.assignee_id).where(Ticket.id.in_(made))).all()
    assert Counter(assignees) == {u.id: 5 for u in team}


def test_a_letter_to_the_customer_names_only_what_the_customer_may_see(
        app, agent, customer, make_rule):
    """The kernel's visibility policy holds in a rule's letter too: placeholders
    of staff-only fields render empty for the customer, not for staff."""
    body = "{{ticket.subject}}|{{ticket.location}}|{{ticket.deadline}}|{{assignee.email}}"
    make_rule("Tell", ["created"], [
        _act("triggers.email", to="customer", subject="S", body=body),
        _act("triggers.email", to="address", address="boss@example.ru", subject="S",
             body=body)])
    tickets.create({"subject": "Leak?", "customer": customer.id, "location": "Room 7",
                    "deadline": "2031-01-02T10:00:00"}, actor=agent)
    to_customer, to_boss = [r.payload["body"] for r in _outbox()]
    assert to_customer == "Leak?|||"
    assert to_boss.startswith("Leak?|Room 7|2031-01-02") and to_boss.endswith(agent.email)
