"""Automatic categories (S4) at their edges: the 1st vs the 2nd contact of a day,
across midnight in the deployment's time zone, an open vs a closed service
request and work order, 30 vs 31 days since a refusal; the precedence when
several rules apply; the reason on record; the operator's override."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from autoservice_helpers import complete, contact, move_in_time, record

from kernel.db import utcnow
from kernel.errors import ValidationFailed
from kernel.services import history, tickets
from plugins.autoservice import classify, workorders

MSK = ZoneInfo("Europe/Moscow")


def _kinds(ticket):
    return [e.kind for e in history.for_ticket(ticket)]


def test_first_contact_of_the_day_has_no_category_the_second_continues(shop):
    first = contact(shop.agent, shop.ivan)
    assert first.value("contact_category") is None
    assert record(first).auto_category is None
    second = contact(shop.agent, shop.ivan)
    assert second.value("contact_category") == "continuation"
    rec = record(second)
    assert (rec.rule, rec.reason["code"], rec.reason["params"]) == (
        "continuation", "nth_contact_today", {"n": 2})
    assert classify.reason_text(rec.reason) == "Contact no. 2 of this customer today"
    assert "autoservice.category_suggested" in _kinds(second)
    # another customer's contacts do not count
    assert contact(shop.agent, shop.olga).value("contact_category") is None


def test_the_day_ends_at_midnight_in_the_deployments_time_zone(shop):
    earlier = contact(shop.agent, shop.ivan)
    now = datetime(2026, 3, 10, 0, 10, tzinfo=MSK)  # 21:10 UTC on the 9th
    move_in_time(earlier, created_at=datetime(2026, 3, 9, 23, 50, tzinfo=MSK))
    assert classify.decide(shop.ivan.id, now=now) is None  # yesterday in Moscow
    move_in_time(earlier, created_at=datetime(2026, 3, 10, 0, 5, tzinfo=MSK))
    decision = classify.decide(shop.ivan.id, now=now)
    assert decision.category == "continuation" and decision.reason["params"] == {"n": 2}


@pytest.mark.app_config(HOOKDESK_DEFAULT_TIMEZONE="Asia/Vladivostok")
def test_the_same_utc_day_is_two_days_in_vladivostok(shop):
    earlier = contact(shop.agent, shop.ivan)
    move_in_time(earlier, created_at=datetime(2026, 3, 9, 13, 30, tzinfo=UTC))  # 23:30 local
    assert classify.decide(shop.ivan.id, now=datetime(2026, 3, 9, 14, 30, tzinfo=UTC)) is None
    assert classify.decide(shop.ivan.id, now=datetime(2026, 3, 9, 13, 50, tzinfo=UTC))


def test_a_contact_from_yesterday_late_evening_does_not_count(shop):
    earlier = contact(shop.agent, shop.ivan)
    local_midnight = datetime.now(MSK).replace(hour=0, minute=0, second=0, microsecond=0)
    move_in_time(earlier, created_at=local_midnight - timedelta(minutes=1))
    assert contact(shop.agent, shop.ivan).value("contact_category") is None


def test_an_open_service_request_continues_a_closed_one_does_not(shop):
    first = contact(shop.agent, shop.ivan)
    request = complete(first, shop.agent, category="repair",
                       outcome="repair.booked").service_request
    move_in_time(first, created_at=utcnow() - timedelta(days=3))
    decision = classify.decide(shop.ivan.id)
    assert decision.category == "continuation"
    assert decision.reason == {"code": "request_open", "params": {"number": request.number},
                               "ticket_id": request.id}
    tickets.transition(request, "in_work", actor=shop.agent)
    tickets.transition(request, "done", actor=shop.agent)
    assert classify.decide(shop.ivan.id) is None


def test_an_open_work_order_means_order_status_a_closed_one_does_not(shop):
    order, _ = workorders.upsert("X-1", {"number": "ZN-00042", "customer_id": shop.ivan.id})
    c = contact(shop.agent, shop.ivan)
    assert c.value("contact_category") == "order_status"
    assert record(c).reason["params"] == {"number": "ZN-00042"}
    assert classify.reason_text(record(c).reason) == "Work order ZN-00042 is open"
    workorders.update(order, {"status": "closed"})
    assert classify.decide(shop.olga.id) is None
    move_in_time(c, created_at=utcnow() - timedelta(days=2))
    assert classify.decide(shop.ivan.id) is None


def _refused_request(shop, days_ago: float):
    first = contact(shop.agent, shop.ivan)
    request = complete(first, shop.agent, category="repair",
                       outcome="repair.booked").service_request
    tickets.transition(request, "refused", actor=shop.agent)
    when = utcnow() - timedelta(days=days_ago)
    move_in_time(first, created_at=when - timedelta(hours=1))
    move_in_time(request, created_at=when - timedelta(hours=1), closed_at=when)
    return request


def test_refused_30_days_ago_is_a_repeat_request(shop):
    request = _refused_request(shop, 30)
    c = contact(shop.agent, shop.ivan)
    assert c.value("contact_category") == "repeat"
    assert record(c).reason["params"] == {"number": request.number, "days": 30}


def test_refused_31_days_ago_is_not(shop):
    _refused_request(shop, 31)
    assert contact(shop.agent, shop.ivan).value("contact_category") is None


def test_precedence_order_status_then_continuation_then_repeat(shop):
    assert classify.PRECEDENCE == ("order_status", "continuation", "repeat")
    _refused_request(shop, 5)
    contact(shop.agent, shop.ivan)  # today's first contact: repeat
    assert contact(shop.agent, shop.ivan).value("contact_category") == "continuation"
    workorders.create({"number": "ZN-7", "customer_id": shop.ivan.id})
    assert contact(shop.agent, shop.ivan).value("contact_category") == "order_status"


def test_the_customer_is_found_by_the_callers_phone(shop):
    contact(shop.agent, shop.olga)
    c = contact(shop.agent, None, caller_phone="8 (916) 555-44-33")
    assert c.customer_id == shop.olga.id
    assert c.value("contact_category") == "continuation"
    unknown = contact(shop.agent, None, caller_phone="+7 999 000-00-01")
    assert unknown.customer_id is None and unknown.value("contact_category") is None


def test_a_customer_chosen_later_gets_the_category(shop):
    contact(shop.agent, shop.ivan)
    c = contact(shop.agent, None)
    assert record(c).auto_category is None
    tickets.update(c, {"customer": shop.ivan.id}, actor=shop.agent)
    assert c.value("contact_category") == "continuation"
    assert record(c).rule == "continuation"


def test_the_operators_override_is_recorded(shop):
    contact(shop.agent, shop.ivan)
    c = contact(shop.agent, shop.ivan, contact_category="repair")
    rec = record(c)
    assert (rec.auto_category, rec.overridden, c.value("contact_category")) == (
        "continuation", True, "repair")
    overridden = [e for e in history.for_ticket(c) if e.kind == "autoservice.category_overridden"]
    assert overridden[0].data == {"from": "continuation", "to": "repair"}
    assert overridden[0].actor_id == shop.agent.id


def test_an_automatic_category_is_not_chosen_by_hand_unless_allowed(shop):
    from plugins.autoservice import categories

    with pytest.raises(ValidationFailed) as exc:
        contact(shop.agent, shop.ivan, contact_category="order_status")
    assert "contact_category" in exc.value.errors
    assert "order_status" not in dict(categories.field_choices(
        type("F", (), {"key": "contact_category"})(), None, None, "offer"))
    categories.save_category({"label": "Repair or order status", "visible": True,
                              "allow_manual": True}, value="order_status", actor=shop.admin)
    c = contact(shop.agent, shop.ivan, contact_category="order_status")
    assert c.value("contact_category") == "order_status"


def test_a_hidden_automatic_category_is_not_assigned(shop):
    from plugins.autoservice import categories

    contact(shop.agent, shop.ivan)
    categories.save_category({"label": "Call continuation", "visible": False},
                             value="continuation", actor=shop.admin)
    assert contact(shop.agent, shop.ivan).value("contact_category") is None
