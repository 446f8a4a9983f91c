"""Helpers of the security tests: a small world for attacking every door (issue 9,
X4, X5) — people of every role, and a customer's ticket carrying everything the
customer must not see.

Roles:

* ``owner`` — the ticket's customer (portal account and token);
* ``other`` — another customer;
* ``viewer`` — an agent whose role grants only ``tickets.view``;
* ``worker`` — an agent who edits, moves and answers tickets but may neither read
  internal notes nor see customers;
* ``agent`` — the built-in "agent" role; ``admin`` — everything.

The ticket (``world.ticket``) has a location, a deadline, the urgent flag and a
manager; an internal note with an internal file; a public reply and a public
file; a status change with the agents' comment; a changed location; a link to
the other customer's ticket. Every secret is a recognisable string in ``SECRETS``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from kernel.db import db
from kernel.models import Role, Ticket, User
from kernel.services import attachments, links, messages, tickets, tokens, users
from web.testing import login

LOCATION = "SECRET-LOCATION-7"
NEW_LOCATION = "SECRET-LOCATION-8"
NOTE = "SECRET-NOTE-internal"
NOTE_FILE = "secret-internal-note.txt"
LOOSE_FILE = "secret-internal-loose.txt"
COMMENT = "SECRET-COMMENT-for-agents"
PUBLIC_REPLY = "The master comes on Monday."
PUBLIC_FILE = "public-photo.txt"
SECRETS = (LOCATION, NEW_LOCATION, NOTE, NOTE_FILE, LOOSE_FILE, COMMENT)

ROLES = {
    "viewer": ["tickets.view"],
    "worker": ["tickets.view", "tickets.edit", "tickets.transition", "tickets.reply",
               "tickets.assign"],
}


def upload(name: str, content: bytes = b"data"):
    stream = io.BytesIO(content)
    stream.filename = name  # type: ignore[attr-defined]
    return stream


def bearer(user: User) -> dict[str, str]:
    _row, secret = tokens.create(user, "security")
    return {"Authorization": f"Bearer {secret}"}


@dataclass
class World:
    people: dict[str, User]
    ticket: Ticket
    others_ticket: Ticket
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def token(self, role: str) -> dict[str, str]:
        if role not in self.headers:
            self.headers[role] = bearer(self.people[role])
        return self.headers[role]


def make_people() -> dict[str, User]:
    for key, granted in ROLES.items():
        db.session.add(Role(key=key, name=key.title(), permissions=granted))
    db.session.commit()
    people = {
        "admin": users.create({"email": "admin@sec.example", "password": "admin-pass-1",
                               "roles": ["admin"], "name": "Admin", "locale": "en"}),
        "agent": users.create({"email": "agent@sec.example", "password": "agent-pass-1",
                               "roles": ["agent"], "name": "Agent Smith", "locale": "en"}),
        "owner": users.create({"email": "owner@sec.example", "password": "owner-pass-1",
                               "kind": "customer", "name": "Olga Owner", "locale": "en"}),
        "other": users.create({"email": "other@sec.example", "password": "other-pass-1",
                               "kind": "customer", "name": "Oscar Other", "locale": "en"}),
    }
    for key in ROLES:
        people[key] = users.create({"email": f"{key}@sec.example", "password": "limited-pass-1",
                                    "roles": [key], "name": key.title(), "locale": "en"})
    return people


def make_world() -> World:
    people = make_people()
    agent, owner, other = people["agent"], people["owner"], people["other"]
    others_ticket = tickets.create({"subject": "Oscar's own"}, actor=other)
    ticket = tickets.create({"subject": "Door does not close", "customer": owner.customer_id,
                             "location": LOCATION, "urgent": True,
                             "deadline": datetime(2030, 1, 2, 3, 4, tzinfo=UTC).isoformat()},
                            actor=agent)
    messages.post(ticket, NOTE, actor=agent, internal=True, files=[upload(NOTE_FILE)])
    attachments.attach(ticket, upload(LOOSE_FILE), actor=agent, internal=True)
    messages.post(ticket, PUBLIC_REPLY, actor=agent)
    attachments.attach(ticket, upload(PUBLIC_FILE), actor=agent)
    target = ticket.type.pipeline.next_statuses(ticket.status)[0]
    tickets.transition(ticket, target.key, actor=agent, comment=COMMENT)
    tickets.update(ticket, {"location": NEW_LOCATION}, actor=agent)
    links.link(ticket, others_ticket, "related", actor=agent)
    return World(people, ticket, others_ticket)


@pytest.fixture
def world(app) -> World:
    return make_world()


def signed_in(client, user: User):
    login(client, user)
    return client
