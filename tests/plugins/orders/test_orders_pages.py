"""Pages of the orders plugin: the inbox and one-click conversion (O2), the
customer's "My orders" with the request form (O1, O3), the order's card for both
sides (O3–O7), downloads, the admin's presets (item 10) — and item 11's refusals
at the doors: another customer's order or document is 404, nothing leaks."""

from __future__ import annotations

from orders_helpers import pdf

from kernel.services import settings, tickets
from plugins.orders import service
from web.testclient import login


def text(response):
    return response.get_data(as_text=True)


def test_the_customer_sends_a_request_from_my_orders(app, client, customer_user):
    login(client, customer_user)
    page = client.get("/orders/my")
    assert page.status_code == 200 and 'data-form="orders-request"' in text(page)
    bad = client.post("/orders/my", data={"subject": "x", "details": ""})
    assert bad.status_code == 422 and "field-error" in text(bad)
    sent = client.post("/orders/my", data={"subject": "Sneakers", "details": "Nike, size 43"})
    assert sent.status_code == 303
    (request,) = service.requests_of(customer_user)
    assert request.subject == "Sneakers" and "Sneakers" in text(client.get("/orders/my"))


def test_the_portal_home_page_has_the_request_form(app, client, customer_user, agent):
    login(client, customer_user)
    home = text(client.get("/portal/"))
    assert 'data-panel="orders.request_form"' in home and 'data-form="orders-request"' in home
    sent = client.post("/orders/my", data={"details": "From the home page"})
    assert sent.status_code == 303 and service.requests_of(customer_user)


def test_the_inbox_converts_with_one_click_and_rejects_with_a_reason(
        app, client, agent, request_ticket):
    login(client, agent)
    inbox = client.get("/orders/inbox")
    assert inbox.status_code == 200 and request_ticket.number in text(inbox)
    refused = client.post(f"/orders/requests/{request_ticket.id}/convert",
                          data={"order_type": "nope"})
    assert refused.status_code == 303 and request_ticket.status.key == "new"
    done = client.post(f"/orders/requests/{request_ticket.id}/convert",
                       data={"order_type": "orders_repair"})
    assert done.status_code == 303
    order = service.converted_order(request_ticket)
    assert order.type.key == "orders_repair"
    assert done.location.endswith(f"/agent/tickets/{order.id}")
    card = text(client.get(f"/agent/tickets/{order.id}"))
    assert 'data-panel="orders.publications"' in card or "orders-publications" in card
    assert request_ticket.number not in text(client.get("/orders/inbox"))
    assert request_ticket.number in text(client.get("/orders/inbox?state=converted"))


def test_reject_page_needs_a_reason(app, client, agent, request_ticket):
    login(client, agent)
    client.post(f"/orders/requests/{request_ticket.id}/reject", data={"reason": ""})
    assert request_ticket.status.key == "new"
    client.post(f"/orders/requests/{request_ticket.id}/reject", data={"reason": "Duplicate"})
    assert request_ticket.status.key == "rejected"


def test_customers_and_plain_agents_cannot_open_the_inbox(app, client, customer_user):
    login(client, customer_user)
    assert client.get("/orders/inbox").status_code == 403
    assert client.post("/orders/1/notes", data={"body": "x"}).status_code == 403


def test_the_card_for_both_sides(app, client, agent, customer_user, order):
    login(client, agent)
    bad = client.post(f"/orders/{order.id}/links",
                      data={"title": "Tracking", "url": "javascript:alert(1)"})
    assert bad.status_code == 303 and service.links_of(order, agent) == []
    client.post(f"/orders/{order.id}/links", data={"title": "Invoice 154", "kind": "invoice",
                                                  "url": "https://pay.example/154"})
    client.post(f"/orders/{order.id}/documents", data={"title": "Invoice PDF", "file": pdf()},
                content_type="multipart/form-data")
    client.post(f"/orders/{order.id}/notes", data={"body": "Visible to you", "visible": "1"})
    client.post(f"/orders/{order.id}/notes", data={"body": "Staff secret"})
    withdrawn = service.publish_link(order, {"title": "Old tracking",
                                             "url": "https://track.example/1"}, actor=agent)
    client.post(f"/orders/{order.id}/links/{withdrawn.id}/withdraw")
    agent_card = text(client.get(f"/agent/tickets/{order.id}"))
    assert "Staff secret" in agent_card and "Old tracking" in agent_card
    tickets.transition(order, "buyout", actor=agent)
    (doc,) = service.documents_of(order, agent)

    login(client, customer_user)
    card = client.get(f"/portal/tickets/{order.id}")
    html = text(card)
    assert card.status_code == 200
    assert "Invoice 154" in html and "https://pay.example/154" in html and "Invoice PDF" in html
    assert "Visible to you" in html
    assert "Staff secret" not in html and "Old tracking" not in html
    assert 'data-stage="buyout" data-state="current"' in html
    assert 'data-stage="accepted" data-state="passed"' in html
    download = client.get(f"/orders/documents/{doc.id}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert client.get(f"/files/{doc.attachment_id}").status_code == 404  # only via publication
    assert client.get(f"/orders/my/{order.id}").status_code == 302
    my = text(client.get("/orders/my"))
    assert order.number in my


def test_another_customers_order_and_document_are_not_found(
        app, client, agent, other_customer, order):
    doc = service.publish_document(order, pdf(), "Contract", actor=agent)
    login(client, other_customer)
    assert client.get(f"/portal/tickets/{order.id}").status_code == 404
    assert client.get(f"/orders/my/{order.id}").status_code == 404
    assert client.get(f"/orders/documents/{doc.id}").status_code == 404
    assert client.post(f"/orders/my/{order.id}/edit",
                       data={"orders_address": "Mine now"}).status_code == 404
    assert order.number not in text(client.get("/orders/my"))
    assert order.value("orders_address") == "Lesnaya 5"


def test_a_withdrawn_document_is_not_found_for_the_customer(app, client, agent, customer_user,
                                                            order):
    doc = service.publish_document(order, pdf(), "Contract", actor=agent)
    service.withdraw_document(order, doc.id, actor=agent)
    login(client, customer_user)
    assert client.get(f"/orders/documents/{doc.id}").status_code == 404
    login(client, agent)
    assert client.get(f"/orders/documents/{doc.id}").status_code == 200


def test_the_customer_edits_details_on_the_card(app, client, agent, customer_user, order):
    service.set_type_config("orders_delivery", ["orders_address"], ["accepted"])
    login(client, customer_user)
    card = text(client.get(f"/portal/tickets/{order.id}"))
    assert 'data-form="orders-edit"' in card and 'name="orders_address"' in card
    assert 'name="orders_budget"' not in card
    client.post(f"/orders/my/{order.id}/edit", data={"orders_address": "Lesnaya 9"})
    assert order.value("orders_address") == "Lesnaya 9"
    client.post(f"/orders/my/{order.id}/edit", data={"orders_budget": "1 EUR"})
    assert order.value("orders_budget") == "300 EUR"
    tickets.transition(order, "buyout", actor=agent)
    assert 'data-form="orders-edit"' not in text(client.get(f"/portal/tickets/{order.id}"))


def test_admin_presets_and_the_snippet(app, client, admin):
    from kernel.services import workflow

    workflow.update_type("orders_event", {"is_active": False})
    login(client, admin)
    page = client.get("/orders/admin")
    assert page.status_code == 200 and 'data-scenario="orders_event"' in text(page)
    assert "/orders/form" in text(page)
    assert client.post("/orders/admin/orders_event/preset").status_code == 303
    assert "orders_event" in [t.key for t in service.active_order_types()]
    client.post("/orders/admin/orders_event/edits", data={"fields": ["orders_budget"],
                                                          "stages": ["booking"]})
    config = service.type_config("orders_event")
    assert config.editable_fields == ["orders_budget"] and config.editable_stages == ["booking"]
    assert client.post("/orders/admin/nope/preset").status_code == 404


def test_settings_are_live(app):
    settings.set("orders.lead_types", "request, orders_request")
    assert service.lead_types() == ["request", "orders_request"]


def test_messages_both_ways_with_files(app, client, agent, customer_user, order):
    """O4: the order's conversation is the ticket's kernel thread, files included."""
    from kernel.services import messages

    login(client, customer_user)
    sent = client.post(f"/portal/tickets/{order.id}/reply",
                       data={"body": "When will it ship?", "files": pdf("photo.pdf")},
                       content_type="multipart/form-data")
    assert sent.status_code in (302, 303)
    messages.post(order, "Right after the payment.", actor=agent, files=[pdf("terms.pdf")])
    thread = messages.thread(order, customer_user)
    assert [m.body for m in thread] == ["When will it ship?", "Right after the payment."]
    assert [a.filename for m in thread for a in m.attachments] == ["photo.pdf", "terms.pdf"]
    card = text(client.get(f"/portal/tickets/{order.id}"))
    assert "Right after the payment." in card and "terms.pdf" in card
