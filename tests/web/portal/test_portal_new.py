"""P3: a customer's "New ticket" — the type's form as the admin configured it,
several files, "Send", errors beside the fields and nothing written."""

from __future__ import annotations

import io
import re

import pytest

from kernel.db import db
from kernel.models import Attachment, Ticket
from kernel.services import fields as fields_service
from kernel.services import workflow

pytestmark = pytest.mark.plugins("helpdesk")


def field_block(html: str, key: str) -> str:
    """The markup of one form field (``<div class="field..." data-field="key">``)."""
    match = re.search(rf'<(div|fieldset) class="field[^"]*" data-field="{key}">(.*?)</\1>',
                      html, re.S)
    assert match, f"no field {key!r} on the page"
    return match.group(0)


def test_the_form_has_the_fields_the_customer_fills_as_the_admin_configured(client, customer):
    fields_service.override("contract_number", {
        "label": "Agreement no.", "required": True, "order": 5,
        "help_text": "Top right corner of page 1."})
    html = client.get("/portal/new").get_data(as_text=True)
    keys = re.findall(r'data-field="([a-z_]+)"', html)
    # Admin's order: the contract number moved first; agent-only fields are absent.
    assert keys[:2] == ["contract_number", "subject"]
    assert {"campaign", "comment", "assignee", "priority", "deadline"}.isdisjoint(keys)
    contract = field_block(html, "contract_number")
    assert "Agreement no." in contract and 'class="required-mark"' in contract
    assert "Top right corner of page 1." in contract
    assert 'class="required-mark"' not in field_block(html, "contact_name")
    assert 'type="file"' in field_block(html, "portal_files")
    assert "multiple" in field_block(html, "portal_files")


def test_a_new_ticket_with_two_files_end_to_end(client, customer):
    response = client.post("/portal/new", data={
        "subject": "The heating does not work", "text": "Since Monday.", "queue": "technical",
        "contract_number": "D-15", "contact_name": "Ivan Petrov",
        "contact_phone": "+7 912 345-67-89",
        "portal_files": [(io.BytesIO(b"%PDF-1.4 plan"), "plan.pdf"),
                         (io.BytesIO(b"photo bytes"), "photo.jpg")],
    })
    assert response.status_code == 303
    ticket = db.session.scalar(db.select(Ticket))
    assert response.headers["Location"].endswith(f"/portal/tickets/{ticket.id}")
    assert ticket.customer_id == customer.customer_id and ticket.author_id == customer.id
    assert ticket.subject == "The heating does not work" and ticket.queue == "technical"
    assert ticket.value("contract_number") == "D-15"
    files = db.session.scalars(db.select(Attachment).order_by(Attachment.id)).all()
    assert [(f.filename, f.ticket_id) for f in files] == [("plan.pdf", ticket.id),
                                                          ("photo.jpg", ticket.id)]

    card = client.get(response.headers["Location"])
    html = card.get_data(as_text=True)
    assert card.status_code == 200
    assert f"Ticket {ticket.number} is sent" in html  # the flash
    assert ticket.number in html and "The heating does not work" in html
    for attachment in files:
        assert f'href="/files/{attachment.id}"' in html
    download = client.get(f"/files/{files[0].id}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 plan"


def test_a_missing_required_field_is_shown_beside_it_and_nothing_is_written(client, customer):
    response = client.post("/portal/new", data={
        "subject": "  ", "text": "Details", "queue": "billing",
        "portal_files": [(io.BytesIO(b"scan"), "scan.png")],
    })
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    subject = field_block(html, "subject")
    assert "field--error" in subject and "This field is required." in subject
    assert 'selected value="billing"' in html  # what was typed is kept
    # Files cannot be kept by a browser: the customer is told to choose them again.
    assert "Please choose the files again." in field_block(html, "portal_files")
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Attachment.id))) == 0


def test_a_bad_choice_is_refused_by_the_kernel_beside_its_field(client, customer):
    response = client.post("/portal/new", data={"subject": "Hi", "queue": "no-such-queue"})
    assert response.status_code == 422
    assert "field--error" in field_block(response.get_data(as_text=True), "queue")
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0


def test_an_empty_file_is_refused_and_nothing_is_written(client, customer):
    response = client.post("/portal/new", data={
        "subject": "With an empty file",
        "portal_files": [(io.BytesIO(b"ok"), "ok.txt"), (io.BytesIO(b""), "empty.txt")]})
    assert response.status_code == 422
    assert "empty.txt" in field_block(response.get_data(as_text=True), "portal_files")
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Attachment.id))) == 0


def test_the_customer_chooses_among_the_types_they_may_create(client, customer):
    workflow.create_type("warranty", "Warranty claim", "support", "W-{seq:04d}")
    workflow.create_type("internal", "Internal task", "support", "I-{seq}")
    workflow.update_type("internal", {"customer_can_create": False})
    html = client.get("/portal/new").get_data(as_text=True)
    assert "Warranty claim" in html and "/portal/new?type=warranty" in html
    assert "/portal/new?type=request" in html
    assert "Internal task" not in html
    assert client.get("/portal/new?type=internal").status_code == 404
    assert client.get("/portal/new?type=nope").status_code == 404

    response = client.post("/portal/new?type=warranty", data={"subject": "Crack in the wall"})
    assert response.status_code == 303
    ticket = db.session.scalar(db.select(Ticket))
    assert ticket.type.key == "warranty" and ticket.number == "W-0001"


def test_agents_cannot_use_the_cabinet(client, agent):
    from web.testing import login

    login(client, agent)
    assert client.get("/portal/new").status_code == 403
    assert client.get("/portal/").status_code == 403


def test_without_csrf_nothing_is_created(client, customer):
    response = client.post("/portal/new", data={"subject": "Forged"}, csrf=False)
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0


def test_a_custom_file_field_and_a_custom_text_field_reach_the_card(client, customer):
    """Seed 000 §3: the admin's own fields (доп.поля) in the form and on the card."""
    fields_service.create_custom({"key": "floor_plan", "type": "file", "label": "Floor plan",
                                  "editable_by_customer": True, "shown_to_customer": True,
                                  "order": 38})
    fields_service.create_custom({"key": "apartment", "type": "text", "label": "Apartment",
                                  "editable_by_customer": True, "shown_to_customer": True,
                                  "order": 37})
    html = client.get("/portal/new").get_data(as_text=True)
    assert 'type="file"' in field_block(html, "floor_plan") and "Apartment" in html
    response = client.post("/portal/new", data={
        "subject": "Crack", "apartment": "Flat 12",
        "floor_plan": (io.BytesIO(b"PNG plan"), "plan.png"),
        "portal_files": [(io.BytesIO(b"photo"), "crack.jpg")]})
    assert response.status_code == 303
    ticket = db.session.scalar(db.select(Ticket))
    plan = db.session.scalar(db.select(Attachment).where(Attachment.filename == "plan.png"))
    assert ticket.value("floor_plan") == plan.id and ticket.value("apartment") == "Flat 12"
    card = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Floor plan" in card and f'href="/files/{plan.id}"' in card and "Flat 12" in card


def test_a_required_file_field_is_filled_in_the_form(client, customer):
    fields_service.create_custom({"key": "floor_plan", "type": "file", "label": "Floor plan",
                                  "required": True, "editable_by_customer": True,
                                  "shown_to_customer": True, "order": 38})
    refused = client.post("/portal/new", data={"subject": "Crack"})
    assert refused.status_code == 422
    assert "field-error" in field_block(refused.get_data(as_text=True), "floor_plan")
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0
    response = client.post("/portal/new", data={
        "subject": "Crack", "floor_plan": (io.BytesIO(b"PNG plan"), "plan.png")})
    assert response.status_code == 303
    ticket = db.session.scalar(db.select(Ticket))
    assert db.session.get(Attachment, ticket.value("floor_plan")).filename == "plan.png"


def test_full_name_and_phone_start_from_the_customer_record(client, customer):
    from kernel.services import customers

    customers.update(customer.customer, {"name": "Мария Покупателева",
                                         "phones": ["+7 912 345-67-89"]})
    html = client.get("/portal/new").get_data(as_text=True)
    assert 'value="Мария Покупателева"' in field_block(html, "contact_name")
    assert 'value="+7 912 345-67-89"' in field_block(html, "contact_phone")
