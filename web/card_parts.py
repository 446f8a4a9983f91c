"""What plugins add to a ticket card (``hookdesk_ticket_card_panels`` and
``hookdesk_ticket_card_buttons``), for the agents' card and the customer's alike:
each plugin decides by ``viewer`` what it shows, and the kernel's visibility
policy drops a panel whose ``audience`` is ``"staff"`` from a customer's card."""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from kernel import declarations as d
from kernel import runtime, visibility
from kernel.models import Ticket, User


def panels(ticket: Ticket, viewer: User) -> list[tuple[d.Panel, Markup]]:
    """``(panel, html)`` sorted by (order, key)."""
    found: list[d.Panel] = []
    for _plugin, answer in runtime.host().collect("hookdesk_ticket_card_panels", ticket=ticket,
                                                  viewer=viewer):
        found.extend(answer or [])
    found = visibility.panels(found, viewer)
    found.sort(key=lambda p: (p.order, p.key))
    return [(p, Markup(render_template(p.template, ticket=ticket, viewer=viewer,
                                       **dict(p.context)))) for p in found]


def home_panels(viewer: User) -> list[tuple[d.Panel, Markup]]:
    """The portal home page's plugin blocks (``hookdesk_portal_home_panels``)."""
    found: list[d.Panel] = []
    for _plugin, answer in runtime.host().collect("hookdesk_portal_home_panels", viewer=viewer):
        found.extend(answer or [])
    found.sort(key=lambda p: (p.order, p.key))
    return [(p, Markup(render_template(p.template, viewer=viewer, **dict(p.context))))
            for p in found]


def buttons(ticket: Ticket, viewer: User) -> list[d.Button]:
    found: list[d.Button] = []
    for _plugin, answer in runtime.host().collect("hookdesk_ticket_card_buttons", ticket=ticket,
                                                  viewer=viewer):
        found.extend(answer or [])
    found.sort(key=lambda b: (b.order, b.key))
    return found
