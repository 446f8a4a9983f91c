"""Telephony (seed 001, T1, T3): calls as records of their own, incoming call
events through signed webhooks (our generic JSON, Zadarma) and Asterisk's
manager interface, a pop-up with the customer while the phone rings, a ticket
opened for every incoming call when the deployment wants it, and click-to-call
from every phone shown to agents.

Everything goes through the kernel's hooks and services: the customer is found
by the kernel's normalized phones, tickets are opened with
``kernel.services.tickets.create`` (of the type the admin chose — the
auto-service plugin's ``contact``, for instance, without importing it), and the
call is put on the ticket's timeline with ``tickets.record_custom_event``."""

from __future__ import annotations

import os

from kernel import declarations as d
from kernel import hookimpl
from kernel.i18n import N_


@hookimpl
def hookdesk_describe_plugin():
    return d.PluginDescription(
        N_("Telephony"),
        N_("Calls from Asterisk, Zadarma and other PBXs: a pop-up with the customer while "
           "the phone rings, tickets for calls and click-to-call."))


@hookimpl
def hookdesk_register_migrations():
    return os.path.join(os.path.dirname(__file__), "migrations", "versions")


@hookimpl
def hookdesk_register_translations():
    return os.path.join(os.path.dirname(__file__), "translations")


@hookimpl
def hookdesk_register_event_kinds():
    return [
        d.EventKindDecl("telephony.call", N_("Phone call"), audience="staff"),
        d.EventKindDecl("telephony.call_ended", N_("Phone call ended"), audience="staff"),
    ]


@hookimpl
def hookdesk_register_blueprints():
    from plugins.telephony.admin import bp as admin_bp
    from plugins.telephony.views import bp

    return [bp, admin_bp]


@hookimpl
def hookdesk_register_cli_commands():
    from plugins.telephony.cli import group

    return [group]


@hookimpl
def hookdesk_register_jobs():
    from plugins.telephony.cli import purge_deliveries

    return [d.JobDecl("telephony.purge", lambda: purge_deliveries(), retries=0,
                      periodic="17 * * * *")]


@hookimpl
def hookdesk_phone_actions(phone, viewer, ticket):
    """T3: the call icon only when a provider is configured and the agent has an
    extension to ring."""
    from flask import url_for

    from plugins.telephony.views import can_call

    if not can_call(viewer):
        return None
    args = {"to": phone}
    if ticket is not None:
        args["ticket"] = ticket.id
    return [d.PhoneAction("telephony.call", N_("Call"), url_for("telephony.call", **args),
                          "☎")]


@hookimpl
def hookdesk_page_snippets(viewer):
    """The pop-up's script, on every agent page, for agents who may see customers."""
    from plugins.telephony import config

    if not viewer.is_agent or not config.provider():
        return None
    return [d.PageSnippet("telephony.popup", "telephony/_popup_snippet.html",
                          permission="customers.view")]


@hookimpl
def hookdesk_ticket_card_panels(ticket, viewer):
    from plugins.telephony.views import card_panels

    return card_panels(ticket, viewer)


@hookimpl
def hookdesk_navigation_items(viewer):
    from flask import url_for

    from plugins.telephony import calls, config

    if not config.provider() and not calls.any_calls():
        return None
    return [d.NavItem("telephony.calls", N_("Calls"), url_for("telephony.calls_page"),
                      "agent", "customers.view", order=30)]


@hookimpl
def hookdesk_load_demo_data(ctx):
    from plugins.telephony.demo import load

    load(ctx)
