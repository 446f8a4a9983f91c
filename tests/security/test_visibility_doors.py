"""Issue 9, defect 1: what the portal hides, no other door shows.

Each door — the portal page, the agent page, the API with a customer's and an
agent's token, letters and webhook payloads — is asked for the same ticket, and
none may show what ``kernel.visibility`` keeps from that reader: staff-only
fields (location, deadline, urgent, manager), internal notes and their files,
the agents' transition comments, links to other customers' tickets."""

from __future__ import annotations

import datetime
import json

import pytest
from security_world import (
    LOOSE_FILE,
    NEW_LOCATION,
    NOTE,
    NOTE_FILE,
    PUBLIC_FILE,
    PUBLIC_REPLY,
    SECRETS,
    bearer,
    make_people,
    signed_in,
)
from sqlalchemy import select

from kernel import visibility
from kernel.db import db
from kernel.models import OutboxMessage
from kernel.services import tickets
from plugins.webhooks import service as webhooks

pytestmark = pytest.mark.plugins("helpdesk", "notifications", "webhooks")

API = "/api/v1/tickets"
STAFF_ONLY_ATTRIBUTES = ("location", "deadline", "urgent", "assignee_id", "author_id")
API_READS = ("", "/history", "/links", "/messages", "/attachments")


def leaks(text: str, world, *secrets: str) -> list[str]:
    """The secrets (and the other customer's ticket number) found in ``text``."""
    return [s for s in (*secrets, world.others_ticket.number) if s in text]


# -- the API ------------------------------------------------------------------------


@pytest.mark.parametrize("path", API_READS)
def test_a_customers_token_reads_nothing_staff_only(client, world, path):
    response = client.get(f"{API}/{world.ticket.number}{path}", headers=world.token("owner"))
    assert response.status_code == 200
    assert leaks(response.get_data(as_text=True), world, *SECRETS) == []


def test_the_ticket_itself_leaves_out_fields_hidden_from_the_customer(client, world):
    body = client.get(f"{API}/{world.ticket.number}", headers=world.token("owner")).json
    for attribute in STAFF_ONLY_ATTRIBUTES:
        assert attribute not in body, attribute
    assert body["subject"] == "Door does not close"
    agent = client.get(f"{API}/{world.ticket.number}", headers=world.token("agent")).json
    assert agent["location"] == NEW_LOCATION and agent["urgent"] is True
    assert agent["assignee_id"] == world.people["agent"].id


def test_history_for_the_customer_keeps_what_they_may_read(client, world):
    events = client.get(f"{API}/{world.ticket.number}/history",
                        headers=world.token("owner")).json
    kinds = [e["kind"] for e in events]
    assert "linked" not in kinds  # the other end is another customer's ticket
    assert "fields_changed" not in kinds  # only the location changed
    (status,) = [e for e in events if e["kind"] == "status_changed"]
    assert "comment" not in status["data"]
    files = [e["data"]["filename"] for e in events if e["kind"] == "attachment_added"]
    assert files == [PUBLIC_FILE]
    notes = [e for e in events if e["kind"] == "message_posted"]
    assert len(notes) == 1 and notes[0]["data"]["internal"] is False
    (created,) = [e for e in events if e["kind"] == "created"]
    assert set(created["data"]["values"]) <= {"subject", "text", "queue", "priority"}


def test_attachment_events_record_the_internal_flag(world):
    from kernel.services.history import for_ticket

    flags = {e.data["filename"]: e.data["internal"] for e in for_ticket(world.ticket)
             if e.kind == "attachment_added"}
    assert flags == {NOTE_FILE: True, LOOSE_FILE: True, PUBLIC_FILE: False}


def test_a_comment_meant_for_the_customer_reaches_them(client, world):
    ticket, agent = world.ticket, world.people["agent"]
    target = ticket.type.pipeline.next_statuses(ticket.status)[0]
    tickets.transition(ticket, target.key, actor=agent, comment="We ordered the part",
                       comment_visible_to_customer=True)
    events = client.get(f"{API}/{ticket.number}/history", headers=world.token("owner")).json
    comments = [e["data"].get("comment") for e in events if e["kind"] == "status_changed"]
    assert comments == [None, "We ordered the part"]
    page = signed_in(client, world.people["owner"]).get(f"/portal/tickets/{ticket.id}")
    assert "We ordered the part" in page.get_data(as_text=True)


@pytest.mark.parametrize("path", API_READS)
def test_an_agent_without_the_note_permission_reads_no_internal_note(client, world, path):
    response = client.get(f"{API}/{world.ticket.number}{path}", headers=world.token("worker"))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert [s for s in (NOTE, NOTE_FILE, LOOSE_FILE) if s in text] == []


def test_a_full_agent_reads_everything(client, world):
    text = "".join(client.get(f"{API}/{world.ticket.number}{p}", headers=world.token("agent"))
                   .get_data(as_text=True) for p in API_READS)
    for secret in (*SECRETS[1:], world.others_ticket.number):
        assert secret in text, secret


def test_links_only_to_tickets_the_reader_may_view(client, world):
    owner = client.get(f"{API}/{world.ticket.number}/links", headers=world.token("owner")).json
    other = client.get(f"{API}/{world.others_ticket.number}/links",
                       headers=world.token("other")).json
    agent = client.get(f"{API}/{world.ticket.number}/links", headers=world.token("agent")).json
    assert owner == [] and other == [] and len(agent) == 1


def test_the_other_customer_gets_not_found_at_every_read(client, world):
    for path in API_READS:
        response = client.get(f"{API}/{world.ticket.number}{path}", headers=world.token("other"))
        assert response.status_code == 404, path


# -- lists: sorting and filtering -------------------------------------------------------


@pytest.mark.parametrize("query, parameter", [
    ({"sort": "deadline"}, "sort"), ({"sort": "-urgent"}, "sort"),
    ({"sort": "assignee"}, "sort"), ({"urgent": "true"}, "urgent"),
    ({"overdue": "true"}, "overdue"), ({"assignee_id": "1"}, "assignee_id"),
])
def test_a_customer_may_not_sort_or_filter_by_hidden_fields(client, world, query, parameter):
    response = client.get(API, headers=world.token("owner"), query_string=query)
    assert response.status_code == 422
    assert parameter in json.dumps(response.json)
    assert client.get(API, headers=world.token("agent"), query_string=query).status_code == 200


def test_a_customer_sorts_by_what_they_see(client, world):
    for sort in ("number", "-created_at", "subject", "priority", "status"):
        response = client.get(API, headers=world.token("owner"), query_string={"sort": sort})
        assert response.status_code == 200, sort
        assert [t["number"] for t in response.json["items"]] == [world.ticket.number]
        assert leaks(response.get_data(as_text=True), world, *SECRETS) == []


def test_the_portal_list_ignores_a_hidden_sort(client, world):
    page = signed_in(client, world.people["owner"]).get("/portal/", query_string={
        "sort": "deadline"})
    assert page.status_code == 200 and world.ticket.number in page.get_data(as_text=True)


# -- pages ----------------------------------------------------------------------------


def test_the_portal_card_shows_nothing_staff_only(client, world):
    page = signed_in(client, world.people["owner"]).get(f"/portal/tickets/{world.ticket.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert leaks(text, world, *SECRETS) == []
    assert PUBLIC_REPLY in text and PUBLIC_FILE in text


def test_the_agent_card_hides_internal_notes_and_customers_by_permission(client, world):
    text = signed_in(client, world.people["worker"]).get(
        f"/agent/tickets/{world.ticket.id}").get_data(as_text=True)
    assert [s for s in (NOTE, NOTE_FILE, LOOSE_FILE) if s in text] == []
    assert "Olga Owner" not in text  # A3: no "can see customers"
    assert PUBLIC_REPLY in text
    full = signed_in(client, world.people["agent"]).get(
        f"/agent/tickets/{world.ticket.id}").get_data(as_text=True)
    assert NOTE in full and NOTE_FILE in full and "Olga Owner" in full


def test_the_agent_card_lists_no_link_to_a_ticket_the_agent_may_not_view(app, client, world):
    from kernel import hookimpl

    class Veto:
        @hookimpl
        def hookdesk_can_view_ticket(self, ticket, user):
            return False if ticket.id == world.others_ticket.id else None

    host = app.extensions["hookdesk"]
    host.pm.register(Veto(), name="security-veto")
    try:
        text = signed_in(client, world.people["agent"]).get(
            f"/agent/tickets/{world.ticket.id}").get_data(as_text=True)
        history = visibility.history(world.ticket, world.people["agent"])
    finally:
        host.pm.unregister(name="security-veto")
    assert world.others_ticket.number not in text
    assert "linked" not in [e.kind for e in history]


# -- letters and webhooks ---------------------------------------------------------------


def _outbox(channel: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == channel)
                                   .order_by(OutboxMessage.id)))


@pytest.mark.app_config(HOOKDESK_MAIL_COALESCE_SECONDS=0)  # one letter per change, to read each
def test_letters_to_the_customer_carry_no_agents_comment_or_note(world):
    owner = world.people["owner"].email
    letters = [row for row in _outbox("email") if owner in row.recipient]
    subjects = [row.payload["subject"] for row in letters]
    assert any("received" in s for s in subjects)  # created
    assert any("Reply on ticket" in s for s in subjects)  # the public reply
    assert len(letters) == 3  # created, the public reply, the status change — no note
    body = json.dumps([row.payload for row in letters], ensure_ascii=False)
    assert leaks(body, world, *SECRETS) == []
    assert PUBLIC_REPLY in body


def test_a_letter_carries_a_comment_meant_for_the_customer(world):
    ticket, agent = world.ticket, world.people["agent"]
    target = ticket.type.pipeline.next_statuses(ticket.status)[0]
    tickets.transition(ticket, target.key, actor=agent, comment="Visible words",
                       comment_visible_to_customer=True)
    last = [row for row in _outbox("email") if world.people["owner"].email in row.recipient][-1]
    assert "Visible words" in json.dumps(last.payload, ensure_ascii=False)


def test_webhook_payloads_go_through_the_policy_and_carry_no_note_bodies(app, world):
    webhooks.create({"url": "https://hooks.example/in", "events": ["*"]})
    ticket, agent = world.ticket, world.people["agent"]
    from security_world import upload

    from kernel.services import attachments, messages

    messages.post(ticket, "ANOTHER-SECRET-NOTE", actor=agent, internal=True)
    attachments.attach(ticket, upload("late-internal.txt"), actor=agent, internal=True)
    rows = _outbox("webhook")
    body = json.dumps([row.payload for row in rows], ensure_ascii=False)
    assert "ANOTHER-SECRET-NOTE" not in body  # no message body in any payload
    events = {row.payload["data"]["event"]: row.payload["data"]["data"] for row in rows}
    assert events["message_posted"]["internal"] is True
    assert events["attachment_added"]["internal"] is True  # receivers can tell


# -- the warranty plugin: owners are customers (A3) -----------------------------------


@pytest.mark.plugins("helpdesk", "warranty")
def test_apartment_owners_only_for_agents_who_may_see_customers(client):
    from plugins.warranty import property as prop

    people = make_people()
    house = prop.create_house({"name": "Sunny Park", "address": "1 Sunny St.",
                               "warranty_until": datetime.date(2031, 1, 1)})
    flat = prop.create_apartment({"house_id": house.id, "number": "12"})
    prop.add_owner(flat, people["owner"].customer_id)
    api = "/api/v1/warranty/apartments"
    for role, sees in (("viewer", False), ("worker", False), ("agent", True),
                       ("admin", True)):
        listed = client.get(api, headers=bearer(people[role])).get_data(as_text=True)
        one = client.get(f"{api}/{flat.id}", headers=bearer(people[role])).get_data(as_text=True)
        owners = client.get(f"{api}/{flat.id}/owners", headers=bearer(people[role]))
        assert ("Olga Owner" in listed) is sees, role
        assert ("Olga Owner" in one) is sees, role
        assert owners.status_code == (200 if sees else 403), role
    assert client.get(f"{api}/{flat.id}/owners",
                      headers=bearer(people["owner"])).status_code == 403
