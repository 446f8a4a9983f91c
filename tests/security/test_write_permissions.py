"""Issue 9, defect 2: permissions are checked per action, in the services.

Every write is tried as every role — through the API and through the pages —
and a refused write must have written nothing: no event, message, file, link
or new version of the ticket."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from security_world import bearer, make_people, signed_in, upload
from sqlalchemy import func, select

from kernel.db import db
from kernel.errors import PermissionDenied
from kernel.models import Attachment, Customer, Message, Ticket, TicketEvent, TicketLink
from kernel.services import attachments, tickets

pytestmark = pytest.mark.plugins("helpdesk")

API = "/api/v1/tickets"
ROLES = ("owner", "other", "viewer", "worker", "agent", "admin")


@dataclass
class Scene:
    people: dict
    ticket: Ticket
    others_ticket: Ticket


@pytest.fixture
def scene(app) -> Scene:
    people = make_people()
    others = tickets.create({"subject": "Someone else's"}, actor=people["agent"])
    ticket = tickets.create({"subject": "Door", "customer": people["owner"].customer_id},
                            actor=people["agent"])
    return Scene(people, ticket, others)


def snapshot(ticket_id: int) -> tuple:
    """Everything a write to the ticket (or a customer) would change."""
    db.session.expire_all()

    def count(model, *where):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    return (count(TicketEvent, TicketEvent.ticket_id == ticket_id),
            count(Message, Message.ticket_id == ticket_id),
            count(Attachment, Attachment.ticket_id == ticket_id),
            count(TicketLink), count(Customer),
            db.session.get(Ticket, ticket_id).version)


def _file(name="scan.txt"):
    return {"file": (io.BytesIO(b"bytes of a file"), name)}


# write -> (how to send it through the API, the roles allowed to do it)
API_WRITES = {
    "edit": (lambda s: ("patch", "", {"json": {"values": {"subject": "Changed"}}}),
             {"owner", "worker", "agent", "admin"}),
    "edit_hidden_field": (lambda s: ("patch", "", {"json": {"values": {"location": "Roof"}}}),
                          {"worker", "agent", "admin"}),
    "transition": (lambda s: ("post", "/transitions", {"json": {"status": _next(s)}}),
                   {"worker", "agent", "admin"}),
    "assign": (lambda s: ("post", "/assign",
                          {"json": {"assignee_id": s.people["worker"].id}}),
               {"worker", "agent", "admin"}),
    "reply": (lambda s: ("post", "/messages", {"json": {"body": "Hello"}}),
              {"owner", "worker", "agent", "admin"}),
    "internal_note": (lambda s: ("post", "/messages", {"json": {"body": "n", "internal": True}}),
                      {"agent", "admin"}),
    "attach": (lambda s: ("post", "/attachments", {"data": _file()}),
               {"owner", "worker", "agent", "admin"}),
    "attach_internal": (lambda s: ("post", "/attachments",
                                   {"data": {**_file(), "internal": "true"}}),
                        {"agent", "admin"}),
    "link": (lambda s: ("post", "/links", {"json": {"target": s.others_ticket.number}}),
             {"worker", "agent", "admin"}),
}


def _next(scene: Scene) -> str:
    return scene.ticket.type.pipeline.next_statuses(scene.ticket.status)[0].key


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("write", sorted(API_WRITES))
def test_every_write_as_every_role_through_the_api(client, scene, write, role):
    build, allowed = API_WRITES[write]
    method, path, kwargs = build(scene)
    before = snapshot(scene.ticket.id)
    response = getattr(client, method)(f"{API}/{scene.ticket.number}{path}",
                                       headers=bearer(scene.people[role]), **kwargs)
    after = snapshot(scene.ticket.id)
    if role in allowed:
        assert response.status_code in (200, 201), response.get_data(as_text=True)
        assert after != before
    else:
        assert response.status_code in (403, 404, 422), response.get_data(as_text=True)
        assert after == before
        if role == "other":
            assert response.status_code == 404  # its existence does not leak


@pytest.mark.parametrize("role, allowed", [
    ("owner", False), ("viewer", False), ("worker", False), ("agent", True), ("admin", True)])
def test_creating_customers_needs_the_permission(client, scene, role, allowed):
    before = snapshot(scene.ticket.id)
    response = client.post("/api/v1/customers", headers=bearer(scene.people[role]),
                           json={"name": "New Buyer"})
    assert (response.status_code == 201) is allowed
    assert (snapshot(scene.ticket.id) == before) is not allowed


# -- pages ----------------------------------------------------------------------------

PAGE_WRITES = {
    "transition": (lambda s: ("/status", {"status": _next(s)}), {"worker", "agent", "admin"}),
    "assign": (lambda s: ("/assign", {"assignee": str(s.people["worker"].id)}),
               {"worker", "agent", "admin"}),
    "reply": (lambda s: ("/messages", {"body": "Hello"}), {"worker", "agent", "admin"}),
    "internal_note": (lambda s: ("/messages", {"body": "n", "internal": "1"}),
                      {"agent", "admin"}),
    "attach": (lambda s: ("/files", {"files": (io.BytesIO(b"x"), "a.txt")}),
               {"worker", "agent", "admin"}),
    "attach_internal": (lambda s: ("/files", {"files": (io.BytesIO(b"x"), "a.txt"),
                                              "internal": "1"}), {"agent", "admin"}),
    "link": (lambda s: ("/links", {"target": s.others_ticket.number}),
             {"worker", "agent", "admin"}),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("write", sorted(PAGE_WRITES))
def test_every_write_as_every_role_through_the_agent_pages(client, scene, write, role):
    build, allowed = PAGE_WRITES[write]
    path, data = build(scene)
    signed_in(client, scene.people[role])
    before = snapshot(scene.ticket.id)
    response = client.post(f"/agent/tickets/{scene.ticket.id}{path}", data=data)
    after = snapshot(scene.ticket.id)
    if role in allowed:
        assert response.status_code == 303
        assert after != before
    else:
        assert response.status_code in (302, 403, 404)
        assert after == before


@pytest.mark.parametrize("role, allowed", [("owner", True), ("other", False)])
def test_replying_through_the_portal(client, scene, role, allowed):
    signed_in(client, scene.people[role])
    before = snapshot(scene.ticket.id)
    response = client.post(f"/portal/tickets/{scene.ticket.id}/reply",
                           data={"body": "From the portal"})
    assert response.status_code == (303 if allowed else 404)
    assert (snapshot(scene.ticket.id) == before) is not allowed


# -- closed tickets, hidden fields ----------------------------------------------------


def _close(scene: Scene) -> None:
    ticket = scene.ticket
    closed = next(s for s in ticket.type.pipeline.statuses if s.is_closed)
    ticket.status, ticket.status_id, ticket.closed_at = closed, closed.id, ticket.created_at
    db.session.commit()


def test_a_customer_cannot_change_a_closed_ticket_through_any_door(client, scene):
    _close(scene)
    owner = scene.people["owner"]
    before = snapshot(scene.ticket.id)
    response = client.patch(f"{API}/{scene.ticket.number}", headers=bearer(owner),
                            json={"values": {"subject": "Reopened by me"}})
    assert response.status_code == 403
    assert "can no longer be changed" in response.json["detail"]
    with pytest.raises(PermissionDenied):
        tickets.update(scene.ticket, {"subject": "Reopened by me"}, actor=owner)
    signed_in(client, owner)
    page = client.post(f"/portal/tickets/{scene.ticket.id}/edit", data={"subject": "Again"})
    assert page.status_code == 303
    assert snapshot(scene.ticket.id) == before
    # Replying on a closed ticket stays possible: "reply if it is not solved".
    reply = client.post(f"{API}/{scene.ticket.number}/messages", headers=bearer(owner),
                        json={"body": "Still broken"})
    assert reply.status_code == 201


def test_a_customer_cannot_set_a_field_they_may_not_see(client, scene):
    before = snapshot(scene.ticket.id)
    response = client.patch(f"{API}/{scene.ticket.number}", headers=bearer(scene.people["owner"]),
                            json={"values": {"urgent": True}})
    assert response.status_code == 422 and "values.urgent" in response.json["errors"]
    assert snapshot(scene.ticket.id) == before


def test_seeing_a_ticket_is_not_enough_to_attach_in_the_service(scene):
    for internal in (False, True):
        with pytest.raises(PermissionDenied):
            attachments.attach(scene.ticket, upload("x.txt"), actor=scene.people["viewer"],
                               internal=internal)
    with pytest.raises(PermissionDenied):
        attachments.attach(scene.ticket, upload("x.txt"), actor=scene.people["worker"],
                           internal=True)
    assert attachments.for_ticket(scene.ticket, None) == []


@pytest.mark.parametrize("role, allowed", [
    ("owner", False), ("viewer", False), ("worker", False), ("agent", True), ("admin", True)])
def test_reading_customers_needs_can_see_customers(client, scene, role, allowed):
    headers = bearer(scene.people[role])
    for query in ({}, {"q": "olga"}, {"phone": "+79123456789"}):
        response = client.get("/api/v1/customers", headers=headers, query_string=query)
        assert response.status_code == (200 if allowed else 403), query
        assert ("Olga" in response.get_data(as_text=True)) is (allowed and "phone" not in query)


def test_the_agent_card_offers_uploads_only_to_those_who_may_attach(client, scene):
    action = f'action="/agent/tickets/{scene.ticket.id}/files"'
    for role, offered in (("viewer", False), ("worker", True), ("agent", True)):
        page = signed_in(client, scene.people[role]).get(f"/agent/tickets/{scene.ticket.id}")
        assert (action in page.get_data(as_text=True)) is offered, role
