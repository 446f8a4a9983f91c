"""My orders PRO (seed 004, O1–O8, A8): requests from the portal and from a form
embedded on the company's site land in an inbox; an agent (or a rule) turns a
valid one into an order of one of the scenario types; the customer follows the
order's stages, talks with the manager in the ticket's thread, downloads the
documents and opens the links the manager publishes, reads the notes the manager
shows, and edits chosen details while the order is in chosen stages.

Orders and requests are kernel tickets (the request is a ticket of the
``orders_request`` type); documents are kernel attachments; what the kernel has
no place for (publications, notes with their switch, edit presets, form hits)
lives in the plugin's ``orders_*`` tables."""

from __future__ import annotations

import os

from kernel import declarations as d
from kernel import hookimpl
from kernel.i18n import N_
from plugins.orders import (
    models,  # noqa: F401 - the tables must be known to Alembic
    scenarios,
)


@hookimpl
def hookdesk_describe_plugin():
    return d.PluginDescription(
        N_("Orders"),
        N_("Orders with documents and links: requests from the portal and the site become "
           "orders that customers follow stage by stage."))


@hookimpl
def hookdesk_register_pipelines():
    return scenarios.pipelines()


@hookimpl
def hookdesk_register_ticket_types():
    return scenarios.ticket_types()


@hookimpl
def hookdesk_register_fields():
    return scenarios.fields()


@hookimpl
def hookdesk_register_extensions():
    return scenarios.extensions()


@hookimpl
def hookdesk_register_permissions():
    return [d.PermissionDecl("orders.manage", N_("Work orders and order requests"),
                             N_("Convert or reject requests; publish documents and links; "
                                "write notes on orders."))]


@hookimpl
def hookdesk_register_roles():
    return [d.RoleDecl("agent", N_("Agent"), ["orders.manage"])]


@hookimpl
def hookdesk_register_settings():
    return [
        d.SettingDecl("orders.form_origins", N_("Sites allowed to embed the request form"), "",
                      "text", N_("Origins such as https://shop.example, separated by spaces or "
                                 "commas. Posts from other sites are refused.")),
        d.SettingDecl("orders.form_rate_limit", N_("Requests per hour from one address"), 5,
                      "number", N_("More posts of the public form from one address within an "
                                   "hour are refused.")),
        d.SettingDecl("orders.form_min_seconds", N_("Minimum time to fill the form, seconds"),
                      3, "number", N_("A form sent faster than this is taken for a robot.")),
        d.SettingDecl("orders.lead_types", N_("Ticket types that count as leads"), "request",
                      "text", N_("Keys of ticket types, separated by commas: when an order is "
                                 "created for a customer whose phone matches an open ticket of "
                                 "these types, the agent is offered to link it.")),
    ]


EVENT_KINDS = (
    ("orders.document_published", N_("Document published"), "customer"),
    ("orders.document_withdrawn", N_("Document withdrawn"), "customer"),
    ("orders.link_published", N_("Link published"), "customer"),
    ("orders.link_withdrawn", N_("Link withdrawn"), "customer"),
    ("orders.customer_edited", N_("Customer changed the order's details"), "customer"),
    ("orders.note_added", N_("Note added"), "staff"),
    ("orders.note_shown", N_("Note shown to the customer"), "staff"),
    ("orders.note_hidden", N_("Note hidden from the customer"), "staff"),
    ("orders.request_converted", N_("Request converted into an order"), "staff"),
    ("orders.lead_linked", N_("Lead linked to the order"), "staff"),
)


@hookimpl
def hookdesk_register_event_kinds():
    return [d.EventKindDecl(key, label, audience) for key, label, audience in EVENT_KINDS]


@hookimpl
def hookdesk_register_migrations():
    return os.path.join(os.path.dirname(__file__), "migrations", "versions")


@hookimpl
def hookdesk_register_translations():
    return os.path.join(os.path.dirname(__file__), "translations")


@hookimpl
def hookdesk_register_trigger_conditions():
    from plugins.orders import rules

    return rules.trigger_conditions()


@hookimpl
def hookdesk_register_trigger_actions():
    from plugins.orders import rules

    return rules.trigger_actions()


@hookimpl
def hookdesk_register_trigger_rules():
    from plugins.orders import rules

    return rules.shipped_rules()


@hookimpl
def hookdesk_ticket_card_panels(ticket, viewer):
    from plugins.orders import views

    return views.card_panels(ticket, viewer)


@hookimpl
def hookdesk_portal_home_panels(viewer):
    if viewer is None or not viewer.is_customer:
        return None
    return [d.Panel("orders.request_form", N_("New order request"),
                    "orders/_home_request.html", order=10, audience="customer")]


@hookimpl
def hookdesk_register_blueprints():
    from plugins.orders.public import bp as public_bp
    from plugins.orders.views import bp

    return [bp, public_bp]


@hookimpl
def hookdesk_init_app(app):
    from plugins.orders import public

    public.init_app(app)


@hookimpl
def hookdesk_navigation_items(viewer):
    from flask import url_for

    return [
        d.NavItem("orders.inbox", N_("Order requests"), url_for("orders.inbox"), "agent",
                  "orders.manage", order=30),
        d.NavItem("orders.mine", N_("My orders"), url_for("orders.my_orders"), "customer",
                  order=20),
    ]


@hookimpl
def hookdesk_load_demo_data(ctx):
    from plugins.orders.demo import load

    load(ctx)
