"""P5: the ticket card as the customer sees it — state, the fields configured
visible, the thread without internal notes, a human history, "Reply", editing
while open; another customer's ticket and files are "not found"."""

from __future__ import annotations

import io
import re

import pytest

from kernel.db import db
from kernel.models import Attachment, Customer, Message
from kernel.services import attachments, messages, tickets
from kernel.services import fields as fields_service

pytestmark = pytest.mark.plugins("helpdesk")


def card(client, ticket) -> str:
    response = client.get(f"/portal/tickets/{ticket.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(html: str, ident: str) -> str:
    match = re.search(rf'<section class="card"[^>]*aria-labelledby="{ident}-title">(.*?)</section>',
                      html, re.S)
    assert match, f"no section {ident!r}"
    return match.group(1)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def ticket(customer, agent):
    made = tickets.create({"subject": "Leaking tap", "text": "In the kitchen.",
                           "queue": "technical", "contract_number": "D-77",
                           "contact_phone": "+79123456789"}, actor=customer)
    tickets.update(made, {"comment": "SECRET-COMMENT for agents", "campaign": "website",
                          "priority": "high"}, actor=agent)
    return made


def test_the_card_shows_state_and_only_the_customer_visible_fields(client, ticket):
    html = card(client, ticket)
    meta = text_of(html[html.index('class="ticket-meta"'):html.index('class="layout-main-side"')])
    assert ticket.number in meta and "New" in meta and "High" in meta
    assert "Technical problem" in meta
    assert "In the kitchen." in html
    details = text_of(section(html, "details"))
    assert "Contract number" in details and "D-77" in details
    assert "Contact phone" in details
    assert "SECRET-COMMENT" not in html and "Campaign" not in html and "Website" not in html
    # The admin hides a field from customers: it disappears from the card (P7).
    fields_service.override("contract_number", {"shown_to_customer": False})
    html = card(client, ticket)
    assert "D-77" not in html and "Contract number" not in html


def test_the_thread_hides_internal_notes_and_their_files(client, ticket, agent, customer,
                                                        upload):
    messages.post(ticket, "We are on it.", actor=agent, files=[upload("estimate.pdf")])
    messages.post(ticket, "SECRET-NOTE: customer is difficult", actor=agent, internal=True,
                  files=[upload("internal-memo.txt")])
    messages.post(ticket, "Thank you!", actor=customer)
    html = card(client, ticket)
    thread = section(html, "thread")
    assert thread.index("We are on it.") < thread.index("Thank you!")  # time order
    assert "SECRET-NOTE" not in html and "internal-memo.txt" not in html
    public = db.session.scalar(db.select(Attachment).where(Attachment.filename == "estimate.pdf"))
    hidden = db.session.scalar(db.select(Attachment).where(Attachment.internal.is_(True)))
    assert f'href="/files/{public.id}"' in thread
    assert client.get(f"/files/{public.id}").status_code == 200
    assert client.get(f"/files/{hidden.id}").status_code == 404
    assert "Agent" in thread and "You" in thread  # who wrote what


def test_the_history_reads_like_sentences(client, ticket, agent):
    tickets.transition(ticket, "in_progress", actor=agent)
    tickets.update(ticket, {"queue": "billing", "comment": "internal change"}, actor=agent)
    messages.post(ticket, "note", actor=agent, internal=True)
    history = text_of(section(card(client, ticket), "history"))
    assert f"Ticket {ticket.number} created" in history
    assert "Status changed from New to In progress" in history
    assert "Details changed" in history
    assert "Queue: Technical problem → Billing and documents" in history
    assert "Priority: Normal → High" in history
    assert "Comment" not in history and "Campaign" not in history  # hidden fields
    assert "Message" not in history  # the internal note leaves no trace
    assert "You" in history and "Agent" in history


def test_reply_with_a_file(client, ticket):
    response = client.post(f"/portal/tickets/{ticket.id}/reply", data={
        "body": "Here is a photo.", "files": [(io.BytesIO(b"jpeg"), "tap.jpg")]})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/portal/tickets/{ticket.id}#reply")
    message = db.session.scalar(db.select(Message))
    assert message.body == "Here is a photo." and message.author_kind == "customer"
    assert not message.internal and [a.filename for a in message.attachments] == ["tap.jpg"]
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your message is sent." in html
    thread = section(html, "thread")
    assert "Here is a photo." in thread and "tap.jpg" in thread
    assert "Message from the customer" in section(html, "history")


def test_an_empty_reply_is_refused_beside_the_text(client, ticket):
    response = client.post(f"/portal/tickets/{ticket.id}/reply", data={"body": "   "})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    body = re.search(r'data-field="body">(.*?)</div>', html, re.S).group(1)
    assert "Write a message or attach a file." in body
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0


def test_the_customer_edits_their_fields_while_the_ticket_is_open(client, ticket, agent):
    html = card(client, ticket)
    assert f'action="/portal/tickets/{ticket.id}/edit"' in html
    data = {"subject": "Leaking tap", "text": "In the kitchen.", "queue": "technical",
            "contract_number": "D-78", "contact_name": "", "contact_phone": "+79123456789",
            "portal_version": str(ticket.version)}
    response = client.post(f"/portal/tickets/{ticket.id}/edit", data=data)
    assert response.status_code == 303
    db.session.refresh(ticket)
    assert ticket.value("contract_number") == "D-78"
    assert "Contract number: D-77 → D-78" in text_of(section(card(client, ticket), "history"))

    # A required field emptied: refused beside it, nothing changes.
    bad = {**data, "subject": "", "contract_number": "D-99", "portal_version": str(ticket.version)}
    response = client.post(f"/portal/tickets/{ticket.id}/edit", data=bad)
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)
    db.session.refresh(ticket)
    assert ticket.value("contract_number") == "D-78"

    # Someone changed the ticket meanwhile: the stale form is not applied.
    stale = {**data, "contract_number": "D-00", "portal_version": str(ticket.version)}
    tickets.update(ticket, {"comment": "x"}, actor=agent)
    response = client.post(f"/portal/tickets/{ticket.id}/edit", data=stale)
    assert response.status_code == 303
    db.session.refresh(ticket)
    assert ticket.value("contract_number") == "D-78"

    # Closed: no more editing.
    tickets.transition(ticket, "resolved", actor=agent)
    html = card(client, ticket)
    assert "/edit" not in html
    response = client.post(f"/portal/tickets/{ticket.id}/edit",
                           data={**data, "contract_number": "D-01"})
    assert response.status_code == 303
    db.session.refresh(ticket)
    assert ticket.value("contract_number") == "D-78"


def test_the_letters_address_by_number_opens_the_card(client, ticket, other_customer):
    response = client.get(f"/portal/tickets/{ticket.number}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/portal/tickets/{ticket.id}")
    theirs = tickets.create({"subject": "Their ticket"}, actor=other_customer)
    assert client.get(f"/portal/tickets/{theirs.number}").status_code == 404
    assert client.get("/portal/tickets/NO-SUCH-1").status_code == 404


def test_another_customers_ticket_and_file_are_not_found(client, customer, other_customer,
                                                       upload):
    theirs = tickets.create({"subject": "Their ticket"}, actor=other_customer)
    file = attachments.attach(theirs, upload("their-contract.pdf"), actor=other_customer)
    assert client.get(f"/portal/tickets/{theirs.id}").status_code == 404
    assert client.get("/portal/tickets/999999").status_code == 404
    response = client.post(f"/portal/tickets/{theirs.id}/reply", data={"body": "hi"})
    assert response.status_code == 404
    response = client.post(f"/portal/tickets/{theirs.id}/edit", data={"subject": "mine now"})
    assert response.status_code == 404
    assert client.get(f"/files/{file.id}").status_code == 404
    db.session.refresh(theirs)
    assert theirs.subject == "Their ticket"
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0


def test_empty_contact_fields_show_the_customers_own_record(client, customer, agent):
    from kernel.services import customers

    record = db.session.get(Customer, customer.customer_id)
    customers.update(record, {"name": "Buyer Own", "phones": ["+79001112233"]}, actor=agent)
    made = tickets.create({"subject": "No contact typed", "text": "x", "queue": "technical"},
                          actor=customer)
    details = text_of(section(card(client, made), "details"))
    assert "Buyer Own" in details and "+7 900 111-22-33" in details
