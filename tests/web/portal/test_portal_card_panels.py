"""P5 with plugins: the customer's ticket card shows the panels plugins return
from ``hookdesk_ticket_card_panels`` for that viewer (``web.card_parts``), and
only those — a plugin that answers nothing for a customer adds nothing."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint

from kernel import declarations as d
from kernel import hookimpl
from kernel.db import db
from kernel.services import tickets, users
from kernel.testing import build_app

PANEL_TEMPLATE = """\
<p class="probe-panel">Until {{ until }} for {{ viewer.name }}, ticket {{ ticket.number }}</p>
"""


class PanelProbe:
    """A panel on tickets whose subject mentions the warranty, for customers only;
    records whom it was asked for."""

    def __init__(self, templates: str):
        self.templates = templates
        self.asked: list[tuple[str, str]] = []

    @hookimpl
    def hookdesk_register_blueprints(self):
        return [Blueprint("probe", __name__, template_folder=self.templates)]

    @hookimpl
    def hookdesk_ticket_card_panels(self, ticket, viewer):
        self.asked.append((ticket.subject, viewer.email))
        if not viewer.is_customer or "warranty" not in ticket.subject:
            return None
        return [d.Panel("probe.warranty", "Probe warranty", "probe/panel.html",
                        context={"until": "2030-01-31"})]


@pytest.fixture
def probe(tmp_path) -> PanelProbe:
    folder = tmp_path / "probe_templates"
    (folder / "probe").mkdir(parents=True)
    (folder / "probe" / "panel.html").write_text(PANEL_TEMPLATE)
    return PanelProbe(str(folder))


@pytest.fixture
def app(tmp_path, probe):
    """The helpdesk with the probe plugin; the cabinet's fixtures use this app."""
    application = build_app(tmp_path, ("helpdesk", "probe"), plugin_objects={"probe": probe})
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


def panels_of(html: str) -> list[str]:
    return re.findall(r'<section class="card portal-panel" data-panel="([^"]+)">', html)


def test_the_panel_is_shown_to_the_customer_it_is_returned_for(client, customer, probe):
    ticket = tickets.create({"subject": "Cracked tile, under warranty"}, actor=customer)
    response = client.get(f"/portal/tickets/{ticket.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert panels_of(html) == ["probe.warranty"]
    assert "<h2>Probe warranty</h2>" in html
    # The panel's template gets the ticket, the viewer and the panel's context.
    assert (f'<p class="probe-panel">Until 2030-01-31 for {customer.name}, '
            f"ticket {ticket.number}</p>") in html
    assert probe.asked == [(ticket.subject, customer.email)]


def test_no_panel_when_the_plugin_returns_none_for_this_viewer(client, customer, probe):
    ticket = tickets.create({"subject": "Noisy neighbours"}, actor=customer)
    html = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert panels_of(html) == [] and "probe-panel" not in html
    assert probe.asked == [(ticket.subject, customer.email)]


def test_the_plugin_decides_by_viewer(client, app, customer, agent, probe):
    """The same ticket: the customer's card has the panel, the agents' card (asked
    for the agent) does not."""
    from web.testing import login

    ticket = tickets.create({"subject": "Leak, under warranty"}, actor=customer)
    assert panels_of(client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)) == [
        "probe.warranty"]
    users.update_preferences(agent, {"locale": "en", "timezone": "UTC"}, actor=agent)
    staff = app.test_client()
    login(staff, agent)
    response = staff.get(f"/agent/tickets/{ticket.id}")
    assert response.status_code == 200
    assert 'data-panel="probe.warranty"' not in response.get_data(as_text=True)
    assert probe.asked == [(ticket.subject, customer.email), (ticket.subject, agent.email)]
