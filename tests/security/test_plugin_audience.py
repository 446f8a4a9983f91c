"""Issue 9: what a plugin adds says who may see it, and the kernel enforces it at
every door — a staff panel never reaches a customer's card, a staff event kind
never reaches the customer's history (portal, API, letters), a staff list filter
is refused to customers."""

from __future__ import annotations

import pytest
from flask import Blueprint
from security_world import bearer, make_people, signed_in
from sqlalchemy import true

from kernel import declarations as d
from kernel import hookimpl, visibility
from kernel.db import db
from kernel.services import tickets
from kernel.testing import build_app

STAFF_PANEL = "<p>STAFF-PANEL-TEXT {{ ticket.number }}</p>"
CUSTOMER_PANEL = "<p>CUSTOMER-PANEL-TEXT {{ ticket.number }}</p>"


class Probe:
    """Two panels and two event kinds, one of each for staff only; a staff filter."""

    def __init__(self, templates: str):
        self.templates = templates

    @hookimpl
    def hookdesk_register_blueprints(self):
        return [Blueprint("probe", __name__, template_folder=self.templates)]

    @hookimpl
    def hookdesk_register_event_kinds(self):
        return [d.EventKindDecl("probe.audit", "PROBE-STAFF-EVENT"),
                d.EventKindDecl("probe.visit", "PROBE-CUSTOMER-EVENT", audience="customer")]

    @hookimpl
    def hookdesk_register_ticket_filters(self):
        return [d.TicketFilterDecl("probe.score", "Score", lambda: [("1", "One")],
                                   lambda value: true())]

    @hookimpl
    def hookdesk_ticket_card_panels(self, ticket, viewer):
        # Returned to everyone on purpose: the kernel must drop the staff one.
        return [d.Panel("probe.staff", "Staff", "probe/staff.html", audience="staff"),
                d.Panel("probe.customer", "Customer", "probe/customer.html")]


@pytest.fixture
def app(tmp_path):
    folder = tmp_path / "probe_templates" / "probe"
    folder.mkdir(parents=True)
    (folder / "staff.html").write_text(STAFF_PANEL)
    (folder / "customer.html").write_text(CUSTOMER_PANEL)
    application = build_app(tmp_path, ("helpdesk", "probe"),
                            plugin_objects={"probe": Probe(str(folder.parent))})
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def scene(app):
    people = make_people()
    ticket = tickets.create({"subject": "Probe", "customer": people["owner"].customer_id},
                            actor=people["agent"])
    tickets.record_custom_event(ticket, "probe.audit", {"secret": "PROBE-STAFF-DATA"})
    tickets.record_custom_event(ticket, "probe.visit", {"when": "Monday"})
    return people, ticket


def test_a_staff_panel_never_reaches_the_customers_card(client, scene):
    people, ticket = scene
    portal = signed_in(client, people["owner"]).get(f"/portal/tickets/{ticket.id}")
    text = portal.get_data(as_text=True)
    assert "CUSTOMER-PANEL-TEXT" in text and "STAFF-PANEL-TEXT" not in text
    agent = signed_in(client, people["agent"]).get(f"/agent/tickets/{ticket.id}")
    assert "STAFF-PANEL-TEXT" in agent.get_data(as_text=True)


def test_a_staff_event_kind_never_reaches_the_customer(client, scene):
    people, ticket = scene
    portal = signed_in(client, people["owner"]).get(f"/portal/tickets/{ticket.id}")
    text = portal.get_data(as_text=True)
    assert "PROBE-CUSTOMER-EVENT" in text and "PROBE-STAFF-EVENT" not in text
    history = client.get(f"/api/v1/tickets/{ticket.number}/history",
                         headers=bearer(people["owner"])).json
    kinds = [e["kind"] for e in history]
    assert "probe.visit" in kinds and "probe.audit" not in kinds
    staff = client.get(f"/api/v1/tickets/{ticket.number}/history",
                       headers=bearer(people["viewer"])).get_data(as_text=True)
    assert "PROBE-STAFF-DATA" in staff
    reader = visibility.customer_reader(ticket)  # what letters are written from
    assert "probe.audit" not in [e.kind for e in visibility.history(ticket, reader)]


def test_a_staff_filter_is_refused_to_customers(client, scene):
    people, _ticket = scene
    query = {"filter": "probe.score:1"}
    refused = client.get("/api/v1/tickets", headers=bearer(people["owner"]), query_string=query)
    assert refused.status_code == 422 and "filter.probe.score" in refused.json["errors"]
    allowed = client.get("/api/v1/tickets", headers=bearer(people["agent"]), query_string=query)
    assert allowed.status_code == 200


def test_unknown_audiences_are_staff_only(scene):
    people, _ticket = scene
    assert visibility.may_see("customer", people["owner"])
    assert not visibility.may_see("staff", people["owner"])
    assert not visibility.may_see("everyone", people["agent"])
    assert visibility.may_see("staff", people["viewer"]) and visibility.may_see("staff", None)
