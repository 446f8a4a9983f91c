"""What each outcome does (S3), in one service call with history, and what is
refused with the field and the reason, leaving nothing half-written (S8)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from autoservice_helpers import complete, contact, move_in_time, record

from kernel.db import db, utcnow
from kernel.errors import TransitionRefused, ValidationFailed
from kernel.models import Ticket, TicketLink
from kernel.services import history, links, tickets


def _count(type_key="service_request"):
    from kernel.models import TicketType

    return db.session.scalar(db.select(db.func.count(Ticket.id)).join(TicketType)
                             .where(TicketType.key == type_key))


def _events(ticket, kind):
    return [e for e in history.for_ticket(ticket) if e.kind == kind]


@pytest.mark.parametrize("outcome,status,kind,reserve", [
    ("repair.booked", "booked", "repair", False),
    ("parts.reserve", "booked", "parts", True),
    ("parts.no_reserve", "booked", "parts", False),
    ("parts.sale", "new", "parts", False),
])
def test_converting_outcomes_make_a_linked_service_request(shop, outcome, status, kind,
                                                            reserve):
    c = contact(shop.agent, shop.ivan, text="Стучит подвеска")
    category = outcome.split(".")[0]
    result = complete(c, shop.agent, category=category, outcome=outcome,
                      reserve_note="Колодки, 1 комплект" if reserve else None)
    request = result.service_request
    assert c.status.key == "converted" and c.status.group == "closed_success"
    assert request.type.key == "service_request" and request.status.key == status
    assert request.customer_id == shop.ivan.id and request.text == "Стучит подвеска"
    assert request.value("request_kind") == kind
    assert bool(request.value("parts_reserve")) is reserve
    if reserve:
        assert request.value("reserve_note") == "Колодки, 1 комплект"
    assert [(lk.source_id, lk.target_id, lk.kind) for lk in links.links_of(c)] == [
        (c.id, request.id, "converted_to")]
    done = _events(c, "autoservice.outcome")[0].data
    assert done["outcome"] == outcome and done["service_request"] == request.number
    assert any(e.kind == "linked" for e in history.for_ticket(c))
    assert record(c).service_request_id == request.id and record(c).outcome == outcome


def test_postpone_keeps_the_contact_open_with_a_follow_up(shop, client):
    from web.agent.common import is_overdue

    c = contact(shop.agent, shop.ivan)
    when = utcnow() + timedelta(hours=3)
    complete(c, shop.agent, category="repair", outcome="repair.postpone", follow_up_at=when)
    assert c.status.key == "postponed" and not c.is_closed
    assert abs((c.deadline - when).total_seconds()) < 1
    assert not is_overdue(c)
    assert is_overdue(c, now=when + timedelta(minutes=1))
    # a postponed contact later gets its final outcome
    result = complete(c, shop.agent, outcome="repair.booked")
    assert result.service_request is not None and c.status.key == "converted"


@pytest.mark.parametrize("outcome", ["repair.redirect", "parts.redirect"])
def test_redirect_hands_the_contact_to_the_chosen_agent(shop, outcome):
    c = contact(shop.agent, shop.ivan)
    assert c.assignee_id == shop.agent.id
    complete(c, shop.agent, category=outcome.split(".")[0], outcome=outcome,
             assignee=shop.second.id)
    assert c.assignee_id == shop.second.id and not c.is_closed
    assert _events(c, "assigned")[-1].data == {"from": shop.agent.id, "to": shop.second.id}


@pytest.mark.parametrize("outcome", ["repair.refused", "parts.refused"])
def test_refusal_closes_the_contact_as_failed(shop, outcome):
    c = contact(shop.agent, shop.ivan)
    before = _count()
    complete(c, shop.agent, category=outcome.split(".")[0], outcome=outcome)
    assert c.status.key == "failed" and c.status.group == "closed_failure"
    assert _count() == before


@pytest.mark.parametrize("category", ["other", "continuation", "order_status"])
def test_the_other_categories_close_without_conversion(shop, category):
    from plugins.autoservice import workorders

    workorders.create({"number": "ZN-1", "customer_id": shop.ivan.id})
    contact(shop.agent, shop.ivan)
    c = contact(shop.agent, shop.ivan)  # automatic: order status (continuation applies too)
    if category == "continuation":
        from plugins.autoservice import categories

        categories.save_category({"label": "Call continuation", "allow_manual": True},
                                 value="continuation", actor=shop.admin)
    before = _count()
    complete(c, shop.agent, category=category)
    assert c.status.key == "closed" and _count() == before
    assert record(c).category == category and c.value("contact_category") == category


def test_a_repeat_request_closes_the_contact_and_continues_the_refused_request(shop):
    first = contact(shop.agent, shop.ivan)
    request = complete(first, shop.agent, category="repair",
                       outcome="repair.booked").service_request
    tickets.transition(request, "refused", actor=shop.agent)
    move_in_time(first, created_at=utcnow() - timedelta(days=10))
    move_in_time(request, created_at=utcnow() - timedelta(days=10),
                 closed_at=utcnow() - timedelta(days=9))
    again = contact(shop.agent, shop.ivan)
    assert again.value("contact_category") == "repeat"
    result = complete(again, shop.agent)
    assert again.status.key == "closed"
    assert result.continued_request.id == request.id
    db.session.refresh(request)
    assert request.status.key == "new" and not request.is_closed
    assert request.closed_at is None
    assert db.session.scalar(db.select(TicketLink).where(
        TicketLink.source_id == again.id, TicketLink.target_id == request.id,
        TicketLink.kind == "continues")) is not None
    assert _events(request, "autoservice.request_continued")[0].data["contact"] == again.number
    assert _events(request, "status_changed")[-1].data["from"] == "refused"


def test_an_outcome_of_another_category_is_refused_and_nothing_is_written(shop):
    c = contact(shop.agent, shop.ivan)
    before, events = _count(), len(history.for_ticket(c))
    with pytest.raises(ValidationFailed) as exc:
        complete(c, shop.agent, category="repair", outcome="parts.sale")
    assert exc.value.errors == {"outcome": ["This outcome does not belong to the category."]}
    assert _count() == before and len(history.for_ticket(c)) == events
    assert c.value("contact_category") is None and not c.is_closed


def test_converting_twice_is_refused(shop):
    c = contact(shop.agent, shop.ivan)
    complete(c, shop.agent, category="repair", outcome="repair.booked")
    before = _count()
    with pytest.raises(ValidationFailed) as exc:
        complete(c, shop.agent, category="parts", outcome="parts.sale")
    assert "outcome" in exc.value.errors and "already converted" in exc.value.errors["outcome"][0]
    assert _count() == before


@pytest.mark.parametrize("data,field", [
    ({"category": "repair"}, "outcome"),
    ({"category": "volcano", "outcome": "x"}, "category"),
    ({}, "category"),
    ({"category": "other", "outcome": "repair.booked"}, "outcome"),
    ({"category": "repair", "outcome": "repair.postpone"}, "follow_up_at"),
    ({"category": "repair", "outcome": "repair.postpone", "follow_up_at": "yesterday"},
     "follow_up_at"),
    ({"category": "repair", "outcome": "repair.redirect"}, "assignee"),
    ({"category": "parts", "outcome": "parts.reserve", "reserve_note": "x" * 501},
     "reserve_note"),
])
def test_bad_input_names_the_field(shop, data, field):
    c = contact(shop.agent, shop.ivan)
    with pytest.raises(ValidationFailed) as exc:
        complete(c, shop.agent, **data)
    assert field in exc.value.errors
    assert not c.is_closed and record(c).outcome is None


def test_a_past_follow_up_and_a_redirect_to_the_same_agent_are_refused(shop):
    c = contact(shop.agent, shop.ivan)
    with pytest.raises(ValidationFailed) as exc:
        complete(c, shop.agent, category="repair", outcome="repair.postpone",
                 follow_up_at=utcnow() - timedelta(minutes=1))
    assert "follow_up_at" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        complete(c, shop.agent, category="repair", outcome="repair.redirect",
                 assignee=shop.agent.id)
    assert "assignee" in exc.value.errors


def test_converting_without_a_customer_is_refused(shop):
    c = contact(shop.agent, None)
    with pytest.raises(ValidationFailed) as exc:
        complete(c, shop.agent, category="repair", outcome="repair.booked")
    assert "customer" in exc.value.errors


def test_a_contact_closes_only_through_its_outcome(shop):
    c = contact(shop.agent, shop.ivan)
    with pytest.raises(TransitionRefused):
        tickets.transition(c, "converted", actor=shop.agent)
    with pytest.raises(TransitionRefused):
        tickets.transition(c, "closed", actor=shop.agent)


def test_the_category_does_not_change_after_the_outcome(shop):
    c = contact(shop.agent, shop.ivan)
    complete(c, shop.agent, category="other")
    with pytest.raises(ValidationFailed) as exc:
        tickets.update(c, {"contact_category": "repair"}, actor=shop.agent)
    assert "contact_category" in exc.value.errors


def test_choosing_another_category_at_the_outcome_records_the_override(shop):
    contact(shop.agent, shop.ivan)
    c = contact(shop.agent, shop.ivan)
    assert c.value("contact_category") == "continuation"
    complete(c, shop.agent, category="repair", outcome="repair.booked")
    assert record(c).overridden is True
    assert _events(c, "autoservice.category_overridden")[0].data["to"] == "repair"


def test_a_customer_may_not_record_outcomes(shop, customer_user):
    from kernel.errors import NotFound, PermissionDenied

    c = contact(shop.agent, shop.ivan)
    with pytest.raises((NotFound, PermissionDenied)):
        complete(c, customer_user, category="other")
