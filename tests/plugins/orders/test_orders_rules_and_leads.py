"""O2's trigger action, O8's shipped stage letter (through the triggers plugin)
and A8: linking a lead with the customer's phone moves it to "Successful order"."""

from __future__ import annotations

import pytest

from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.models import OutboxMessage
from kernel.services import customers, links, settings, tickets, users
from plugins.orders import rules, service
from plugins.triggers import service as trigger_rules


def letters():
    """Stage letters of the shipped rule (the notifications plugin sends its own too)."""
    return [m for m in db.session.scalars(db.select(OutboxMessage).where(
        OutboxMessage.channel == "email").order_by(OutboxMessage.id))
        if m.payload.get("rule") == rules.STAGE_RULE]


def test_the_stage_letter_rule_is_shipped_enabled(app):
    (rule,) = [r for r in trigger_rules.all_rules() if r.name == rules.STAGE_RULE]
    assert rule.active and rule.events == [{"kind": "status_changed"}]
    assert trigger_rules.problems(rule) == {}


def test_a_stage_change_mails_the_customer_in_their_language(app, agent, customer_user,
                                                              order):
    before = len(letters())
    tickets.transition(order, "buyout", actor=agent)
    (letter,) = letters()[before:]
    assert letter.recipient == customer_user.email
    assert letter.payload["locale"] == "ru"
    assert "Выкуп" in letter.payload["subject"] and order.number in letter.payload["subject"]
    assert f"/orders/my/{order.id}" in letter.payload["body"]
    users.update_preferences(customer_user, {"locale": "en"})
    tickets.transition(order, "payment", actor=agent)
    (english,) = letters()[before + 1:]
    assert english.payload["subject"] == f"Order {order.number}: Payment"


def test_requests_get_no_stage_letter(app, agent, request_ticket):
    before = len(letters())
    service.reject(request_ticket, "Duplicate", actor=agent)
    assert len(letters()) == before


def test_the_convert_action_creates_the_order(app, customer_user, request_ticket):
    rules.convert_request(request_ticket, None, {"order_type": "orders_consulting"},
                          {"via": "rule:test"})
    order = service.converted_order(request_ticket)
    assert order.type.key == "orders_consulting" and request_ticket.status.key == "converted"


def test_a_rule_converts_new_requests_automatically(app, customer_user):
    trigger_rules.create({"name": "Auto-convert", "events": ["created"],
                          "conditions": {"all": [{"condition": "orders.is_request",
                                                  "params": {}}]},
                          "actions": [{"action": "orders.convert_request",
                                       "params": {"order_type": "orders_repair"}}]})
    request = service.submit_request({"details": "Broken grinder"}, actor=customer_user)
    order = service.converted_order(request)
    assert order is not None and order.type.key == "orders_repair"
    assert request.status.key == "converted"


@pytest.fixture
def lead(app, agent, customer_user):
    customer = customer_user.customer
    customers.update(customer, {"phones": ["+7 912 555-01-23"]})
    return tickets.create({"subject": "Wants a coffee machine", "customer": customer.id},
                          actor=agent, type="request")


def test_a_lead_with_the_customers_phone_is_offered_and_linked(app, client, agent, lead, order):
    from web.testclient import login

    assert lead.type.pipeline.status("orders_success").group == "closed_success"
    assert [t.id for t in service.matching_leads(order, agent)] == [lead.id]
    login(client, agent)
    card = client.get(f"/agent/tickets/{order.id}").get_data(as_text=True)
    assert "orders-leads" in card and lead.number in card
    client.post(f"/orders/{order.id}/leads/{lead.id}/link")
    assert lead.status.key == "orders_success" and lead.is_closed
    assert any(lk.kind == "related" for lk in links.links_of(order))
    assert service.matching_leads(order, agent) == []


def test_a_lead_by_its_contact_phone_and_the_type_setting(app, agent, customer_user, order):
    other = tickets.create({"subject": "Call back", "contact_phone": "+7 912 555-01-23"},
                           actor=agent, type="request")
    assert service.matching_leads(order, agent) == []  # the order has no phone yet
    tickets.update(order, {"orders_contact_phone": "8 912 555 01 23"}, actor=agent)
    assert [t.id for t in service.matching_leads(order, agent)] == [other.id]
    settings.set("orders.lead_types", "orders_request")
    assert service.matching_leads(order, agent) == []
    with pytest.raises(ValidationFailed):
        service.link_lead(order, other.id, actor=agent)
    assert other.status.key == "new"
