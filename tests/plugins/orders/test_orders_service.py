"""The orders plugin's services: requests and conversion (O1, O2), stages (O3),
documents and links (O5), notes (O6), customer edits (O7), leads (A8), and the
refusals of item 11 — each refused clearly, nothing half-written."""

from __future__ import annotations

import pytest
from orders_helpers import pdf

from kernel.db import db
from kernel.errors import NotFound, PermissionDenied, TransitionRefused, ValidationFailed
from kernel.models import Ticket, TicketEvent
from kernel.services import history, links, messages, tickets
from plugins.orders import scenarios, service
from plugins.orders.models import Document, Link, Note


def kinds(ticket):
    return [e.kind for e in history.for_ticket(ticket)]


def test_every_scenario_is_an_order_type_with_its_pipeline(app):
    from kernel.models import TicketType

    keys = set(db.session.scalars(db.select(TicketType.key)))
    assert set(scenarios.ORDER_TYPES) <= keys and scenarios.REQUEST_TYPE in keys
    delivery = tickets.ticket_type("orders_delivery")
    assert [s.key for s in delivery.pipeline.statuses] == [
        "accepted", "buyout", "payment", "delivery", "done", "cancelled"]
    repair = tickets.ticket_type("orders_repair")
    assert [s.key for s in repair.pipeline.statuses][:4] == [
        "accepted", "diagnostics", "repair", "delivery"]
    assert len(scenarios.SCENARIOS) == 6


def test_a_customer_request_converts_into_an_order(app, agent, customer_user, request_ticket):
    assert request_ticket.type.key == "orders_request" and request_ticket.status.key == "new"
    assert request_ticket.customer_id == customer_user.customer_id
    order = service.convert(request_ticket, "orders_delivery", actor=agent)
    assert order.type.key == "orders_delivery" and order.status.key == "accepted"
    assert order.customer_id == customer_user.customer_id
    assert order.value("orders_details") == "De'Longhi, 1 pc"
    assert order.value("orders_address") == "Lesnaya 5"
    assert request_ticket.status.key == "converted" and request_ticket.is_closed
    (link,) = links.links_of(request_ticket)
    assert (link.kind, link.target_id) == ("converted_to", order.id)
    assert service.converted_order(request_ticket).id == order.id
    assert "orders.request_converted" in kinds(request_ticket)
    with pytest.raises(ValidationFailed) as again:
        service.convert(request_ticket, "orders_delivery", actor=agent)
    assert "request" in again.value.errors


def test_conversion_refusals_write_nothing(app, agent, customer_user, request_ticket):
    count = db.session.scalar(db.select(db.func.count(Ticket.id)))
    with pytest.raises(ValidationFailed) as bad:
        service.convert(request_ticket, "no_such_type", actor=agent)
    assert "order_type" in bad.value.errors
    with pytest.raises(NotFound):
        service.convert(request_ticket, "orders_delivery", actor=customer_user)
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == count
    assert request_ticket.status.key == "new"


def test_reject_needs_a_reason_and_tells_the_customer(app, agent, customer_user,
                                                      request_ticket):
    with pytest.raises(ValidationFailed) as empty:
        service.reject(request_ticket, "  ", actor=agent)
    assert list(empty.value.errors) == ["reason"]
    service.reject(request_ticket, "We do not ship to that country.", actor=agent)
    assert request_ticket.status.key == "rejected"
    thread = messages.thread(request_ticket, customer_user)
    assert thread[-1].body == "We do not ship to that country."


def test_public_request_finds_or_creates_the_customer(app, customer_user):
    from kernel.models import Customer

    first = service.submit_public_request({"name": "Olga", "email": "Olga@Example.com",
                                           "phone": "+7 912 555-01-23",
                                           "details": "Repair my laptop"})
    assert first.type.key == "orders_request" and first.subject == "Repair my laptop"
    second = service.submit_public_request({"name": "Olga S.", "phone": "8 912 555 01 23",
                                            "details": "And the charger"})
    assert second.customer_id == first.customer_id
    third = service.submit_public_request({"name": "Buyer", "email": "buyer@test.example",
                                           "details": "By the account's e-mail"})
    assert third.customer_id == customer_user.customer_id
    customers = db.session.scalar(db.select(db.func.count(Customer.id)))
    with pytest.raises(ValidationFailed) as bad:
        service.submit_public_request({"name": "", "phone": "12", "details": ""})
    assert {"name", "phone", "details"} <= set(bad.value.errors)
    with pytest.raises(ValidationFailed) as nothing:
        service.submit_public_request({"name": "A", "details": "x"})
    assert "email" in nothing.value.errors
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == customers


def test_stages_passed_current_ahead_and_disallowed_jumps(app, agent, order):
    assert [(s.key, s.state) for s in service.stages(order)] == [
        ("accepted", "current"), ("buyout", "ahead"), ("payment", "ahead"),
        ("delivery", "ahead"), ("done", "ahead")]
    with pytest.raises(TransitionRefused) as refused:
        tickets.transition(order, "delivery", actor=agent)
    assert "allowed next: buyout" in str(refused.value)
    assert order.status.key == "accepted"
    tickets.transition(order, "buyout", actor=agent)
    assert [(s.key, s.state) for s in service.stages(order)][:2] == [
        ("accepted", "passed"), ("buyout", "current")]
    tickets.transition(order, "cancelled", actor=agent)
    assert [(s.key, s.state) for s in service.stages(order)] == [
        ("accepted", "passed"), ("buyout", "passed"), ("cancelled", "current")]
    assert all(s.state != "ahead" for s in service.stages(order))


def test_links_and_documents_are_published_withdrawn_and_in_history(
        app, agent, customer_user, order):
    link = service.publish_link(order, {"title": "Invoice 154", "url": "https://pay.example/154",
                                        "kind": "invoice"}, actor=agent)
    doc = service.publish_document(order, pdf(), "Invoice (PDF)", actor=agent)
    assert doc.attachment.internal is True
    assert [x.id for x in service.links_of(order, customer_user)] == [link.id]
    assert [x.id for x in service.documents_of(order, customer_user)] == [doc.id]
    assert service.document_for_download(doc.id, customer_user).id == doc.id
    service.withdraw_link(order, link.id, actor=agent)
    service.withdraw_document(order, doc.id, actor=agent)
    assert service.links_of(order, customer_user) == []
    assert service.documents_of(order, customer_user) == []
    assert len(service.links_of(order, agent)) == 1
    with pytest.raises(NotFound):
        service.document_for_download(doc.id, customer_user)
    assert [k for k in kinds(order) if k.startswith("orders.")] == [
        "orders.link_published", "orders.document_published", "orders.link_withdrawn",
        "orders.document_withdrawn"]
    with pytest.raises(ValidationFailed):
        service.withdraw_link(order, link.id, actor=agent)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.com/x", "example.com",
                                 "https://", "data:text/html,hi", "http://exa mple.com"])
def test_a_link_that_is_not_http_is_refused(app, agent, order, url):
    with pytest.raises(ValidationFailed) as bad:
        service.publish_link(order, {"title": "Tracking", "url": url}, actor=agent)
    assert list(bad.value.errors) == ["url"]
    assert db.session.scalar(db.select(db.func.count(Link.id))) == 0


def test_customers_cannot_publish_or_see_another_customers_order(
        app, agent, customer_user, other_customer, order):
    with pytest.raises(NotFound):
        service.publish_link(order, {"title": "x", "url": "https://x.example"},
                             actor=customer_user)
    doc = service.publish_document(order, pdf(), None, actor=agent)
    with pytest.raises(NotFound):
        service.get_order(order.id, other_customer)
    with pytest.raises(NotFound):
        service.document_for_download(doc.id, other_customer)
    with pytest.raises(NotFound):
        service.notes_of(order, other_customer)
    assert service.orders_of(other_customer) == []
    assert [o.id for o in service.orders_of(customer_user)] == [order.id]


def test_notes_with_a_switch_whose_flips_are_in_history(app, agent, customer_user, order):
    shown = service.add_note(order, "Bought, waiting for payment.", True, actor=agent)
    hidden = service.add_note(order, "Supplier discount 5%.", False, actor=agent)
    assert [n.id for n in service.notes_of(order, customer_user)] == [shown.id]
    assert len(service.notes_of(order, agent)) == 2
    service.set_note_visible(order, hidden.id, True, actor=agent)
    service.set_note_visible(order, shown.id, False, actor=agent)
    assert [n.id for n in service.notes_of(order, customer_user)] == [hidden.id]
    assert [k for k in kinds(order) if k.startswith("orders.note")] == [
        "orders.note_added", "orders.note_added", "orders.note_shown", "orders.note_hidden"]
    with pytest.raises(ValidationFailed):
        service.add_note(order, " ", True, actor=agent)
    with pytest.raises(NotFound):
        service.set_note_visible(order, hidden.id, False, actor=customer_user)
    assert db.session.scalar(db.select(db.func.count(Note.id))) == 2


def test_customer_edits_only_chosen_details_in_chosen_stages(app, agent, customer_user, order):
    with pytest.raises(ValidationFailed) as closed:
        service.edit_details(order, {"orders_address": "New 1"}, customer_user)
    assert "_schema" in closed.value.errors
    service.set_type_config("orders_delivery", ["orders_address"], ["accepted"])
    assert service.editable_fields(order, customer_user) == ["orders_address"]
    with pytest.raises(ValidationFailed) as other:
        service.edit_details(order, {"orders_budget": "1 EUR"}, customer_user)
    assert list(other.value.errors) == ["orders_budget"]
    changes = service.edit_details(order, {"orders_address": "Lesnaya 7"}, customer_user)
    assert changes == {"orders_address": ["Lesnaya 5", "Lesnaya 7"]}
    event = db.session.scalar(db.select(TicketEvent).where(
        TicketEvent.kind == "orders.customer_edited"))
    assert event.actor_id == customer_user.id
    note = messages.thread(order, agent)[-1]
    assert note.internal and "Lesnaya 7" in note.body
    assert all(not m.internal for m in messages.thread(order, customer_user))
    tickets.transition(order, "buyout", actor=agent)
    assert service.editable_fields(order, customer_user) == []
    with pytest.raises(ValidationFailed):
        service.edit_details(order, {"orders_address": "Elsewhere"}, customer_user)
    assert order.value("orders_address") == "Lesnaya 7"
    with pytest.raises(ValidationFailed) as bad:
        service.set_type_config("orders_delivery", ["subject"], ["nowhere"])
    assert "fields" in bad.value.errors


def test_preset_switches_the_type_on_with_its_edits(app, admin):
    from kernel.services import workflow

    workflow.update_type("orders_legal", {"is_active": False})
    assert "orders_legal" not in [t.key for t in service.active_order_types()]
    service.apply_preset("orders_legal", actor=admin)
    assert "orders_legal" in [t.key for t in service.active_order_types()]
    config = service.type_config("orders_legal")
    assert config.editable_fields == ["orders_details"] and config.editable_stages == [
        "accepted"]


def test_agents_without_the_permission_are_refused(app, order):
    from kernel.services import users

    clerk = users.create({"email": "clerk@test.example", "password": "clerk-pass-1",
                          "roles": [], "name": "Clerk"})
    with pytest.raises((PermissionDenied, NotFound)):
        service.add_note(order, "x", True, actor=clerk)


def test_document_refusals(app, agent, order):
    import io

    from werkzeug.datastructures import FileStorage

    with pytest.raises(ValidationFailed) as missing:
        service.publish_document(order, None, "x", actor=agent)
    assert list(missing.value.errors) == ["file"]
    with pytest.raises(ValidationFailed):
        service.publish_document(order, FileStorage(io.BytesIO(b""), filename="e.pdf"), "x",
                                 actor=agent)
    assert db.session.scalar(db.select(db.func.count(Document.id))) == 0
