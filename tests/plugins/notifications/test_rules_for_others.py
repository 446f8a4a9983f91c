"""Notifications for others (A5): an administrator sets, per role or per
employee, which events notify whom by which channel; employees can still turn
off what a rule turns on, never turn on what it turns off; a channel a plugin
declares with ``address_of`` is offered and used."""

import pytest
from sqlalchemy import select

from kernel import declarations as d
from kernel import runtime
from kernel.db import db
from kernel.errors import PermissionDenied, ValidationFailed
from kernel.models import OutboxMessage
from kernel.registry import Entry
from kernel.services import tickets
from plugins.notifications import recipients, service
from web.testing import login

pytestmark = pytest.mark.plugins("helpdesk", "notifications")


def told(address, channel="email"):
    return db.session.scalars(select(OutboxMessage.key).where(
        OutboxMessage.recipient.contains(address), OutboxMessage.channel == channel)).all()


def test_a_role_rule_tells_every_employee_of_the_role(app, admin, agent, colleague):
    recipients.save_rules("role:agent", {("ticket_created", "email"): True},
                          set(service.event_keys()), actor=admin)
    tickets.create({"subject": "Новая"}, actor=admin)
    assert told(agent.email) and told(colleague.email)
    assert not told(admin.email)  # nobody is told of their own action


def test_an_employee_rule_outranks_the_role_and_own_choice_narrows(app, admin, agent,
                                                                   colleague):
    events = set(service.event_keys())
    recipients.save_rules("role:agent", {("ticket_created", "email"): True}, events, actor=admin)
    recipients.save_rules(f"user:{colleague.id}", {("ticket_created", "email"): False}, events,
                          actor=admin)
    assert [u.id for u, _c in recipients.recipients("ticket_created")] == [agent.id]
    # the colleague cannot turn on what the rule turned off
    service.save_preferences(colleague, {("ticket_created", "email"): True}, actor=colleague)
    assert ("ticket_created", "email") in service.locked(colleague)
    assert not service.wants(colleague, "ticket_created")
    # the agent turns off what the role's rule turned on
    service.save_preferences(agent, {("ticket_created", "email"): False}, actor=agent)
    assert recipients.recipients("ticket_created") == []
    # removing the rule brings back the defaults
    recipients.save_rules("role:agent", {("ticket_created", "email"): None}, events, actor=admin)
    assert not service.wants(agent, "ticket_created")


def test_a_rule_can_turn_off_a_default_event(app, admin, agent, colleague):
    recipients.save_rules(f"user:{agent.id}", {("assigned", "email"): False},
                          set(service.event_keys()), actor=admin)
    tickets.create({"subject": "Назначена", "assignee": agent.id}, actor=colleague)
    assert told(agent.email) == []
    assert service.wants(colleague, "assigned")


def test_rules_are_checked_and_need_the_permission(app, admin, agent):
    events = set(service.event_keys())
    with pytest.raises(PermissionDenied):
        recipients.save_rules("role:agent", {("assigned", "email"): True}, events, actor=agent)
    with pytest.raises(ValidationFailed) as bad:
        recipients.save_rules("role:nope", {("assigned", "email"): True}, events, actor=admin)
    assert "target" in bad.value.errors
    with pytest.raises(ValidationFailed) as bad:
        recipients.save_rules("role:agent", {("assigned", "fax"): True}, events, actor=admin)
    assert "assigned/fax" in bad.value.errors
    assert recipients.rules_for("role:agent") == {}


def test_a_plugin_channel_with_an_address_is_offered_and_used(app, admin, agent):
    def send(recipient, subject, body, context):
        return None

    registry = runtime.host().registry.notification_channels
    registry["pager"] = Entry("test", d.NotificationChannelDecl(
        "pager", "Pager", send, address_of=lambda user: f"pager-{user.id}"))
    try:
        assert "pager" in [c for c, _l in recipients.channels()]
        recipients.save_rules("role:agent", {("ticket_created", "pager"): True},
                              set(service.event_keys()), actor=admin)
        ticket = tickets.create({"subject": "Пейджер"}, actor=admin)
        (row,) = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.channel == "pager")).all()
        assert row.recipient == f"pager-{agent.id}" and ticket.number in row.payload["body"]
        assert told(agent.email) == []  # e-mail stays as by default: off for this event
    finally:
        registry.pop("pager")


def test_the_admin_page_sets_rules_and_refuses_bad_values(client, admin, agent, colleague):
    login(client, admin)
    index = client.get("/admin/notifications/").get_data(as_text=True)
    assert 'data-target="role:agent"' in index and f'data-target="user:{colleague.id}"' in index
    page = client.get("/admin/notifications/role:agent")
    assert page.status_code == 200 and 'name="r__ticket_created__email"' in page.get_data(
        as_text=True)
    bad = client.post("/admin/notifications/role:agent", data={
        "r__ticket_created__email": "on", "r__assigned__email": "maybe"})
    assert bad.status_code == 422 and "field--error" in bad.get_data(as_text=True)
    assert recipients.rules_for("role:agent") == {}  # nothing half-saved
    ok = client.post("/admin/notifications/role:agent", data={"r__ticket_created__email": "on"})
    assert ok.status_code == 303
    assert recipients.rules_for("role:agent") == {("ticket_created", "email"): True}
    assert client.get("/admin/notifications/role:nope").status_code == 404
    login(client, agent)
    assert client.get("/admin/notifications/").status_code == 403


def test_the_employee_page_shows_what_a_rule_turned_off(client, admin, agent):
    recipients.save_rules(f"user:{agent.id}", {("assigned", "email"): False},
                          set(service.event_keys()), actor=admin)
    login(client, agent)
    html = client.get("/settings/notifications/").get_data(as_text=True)
    assert "data-locked" in html and 'name="n__ticket_created__email"' in html
