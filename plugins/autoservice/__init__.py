"""Auto-service call centre (seed 002, S1–S5): every call is a "Contact with
customer" whose category decides what happens next — a booked repair or a parts
purchase becomes a "Service request", the rest close the contact.

Everything goes through the kernel's hooks, signals and services: both processes
are kernel ticket types with their own pipelines and numbering; the categories
and their outcomes are kernel choice lists an admin edits; the automatic
category of a new contact is proposed by ``hookdesk_classify_ticket`` and
recorded with its reason by ``hookdesk_event_recorded`` inside the creating
transaction, whoever creates the contact (the agent form, the API, telephony,
a trigger). Work orders pushed by a dealer management system live in the
plugin's own table."""

from __future__ import annotations

import os

from kernel import declarations as d
from kernel import hookimpl
from kernel.i18n import N_

CONTACT_TYPE = "contact"
REQUEST_TYPE = "service_request"
CATEGORY_FIELD = "contact_category"
CATEGORIES = "autoservice.categories"
OUTCOMES = "autoservice.outcomes"
WORK_ORDERS = "autoservice.work_orders"

CONTACT_PIPELINE = d.PipelineDecl(
    key="autoservice_contact",
    name=N_("Contact with customer"),
    statuses=[
        d.StatusDecl("new", N_("In progress"), "open", "#2563eb"),
        d.StatusDecl("postponed", N_("Follow-up scheduled"), "open", "#d97706"),
        d.StatusDecl("converted", N_("Converted to a service request"), "closed_success",
                     "#16a34a"),
        d.StatusDecl("closed", N_("Closed without conversion"), "closed_success", "#64748b"),
        d.StatusDecl("failed", N_("Refused"), "closed_failure", "#dc2626"),
    ],
    transitions=[
        ("new", "postponed"), ("new", "converted"), ("new", "closed"), ("new", "failed"),
        ("postponed", "new"), ("postponed", "converted"), ("postponed", "closed"),
        ("postponed", "failed"),
    ],
)

REQUEST_PIPELINE = d.PipelineDecl(
    key="autoservice_request",
    name=N_("Service request"),
    statuses=[
        d.StatusDecl("new", N_("New request"), "open", "#2563eb"),
        d.StatusDecl("booked", N_("Booked / awaiting the customer"), "open", "#0891b2"),
        d.StatusDecl("in_work", N_("In work"), "open", "#d97706"),
        d.StatusDecl("done", N_("Done"), "closed_success", "#16a34a"),
        d.StatusDecl("refused", N_("Refused"), "closed_failure", "#dc2626"),
    ],
    transitions=[
        ("new", "booked"), ("new", "in_work"), ("new", "refused"),
        ("booked", "in_work"), ("booked", "refused"), ("booked", "new"),
        ("in_work", "done"), ("in_work", "refused"), ("in_work", "booked"),
        # A repeat request (S4) re-opens a refused request and continues it.
        ("refused", "new"), ("refused", "booked"),
        ("done", "in_work"),
    ],
)

GROUP = N_("Contact with customer")

# (value, label, kind, rule): kind "targeted" converts, "automatic" is computed,
# "other" closes. ``rule`` names the automatic rule of an automatic category.
DEFAULT_CATEGORIES = [
    ("repair", N_("Repair services"), "targeted", None),
    ("parts", N_("Spare parts"), "targeted", None),
    ("continuation", N_("Call continuation"), "automatic", "continuation"),
    ("order_status", N_("Repair or order status"), "automatic", "order_status"),
    ("repeat", N_("Repeat request"), "automatic", "repeat"),
    ("other", N_("Other matters"), "other", None),
]

# (value, label, category, effect). Effects: convert (booked), convert_reserve,
# convert_no_reserve, convert_sale, postpone, redirect, refuse.
DEFAULT_OUTCOMES = [
    ("repair.booked", N_("Customer booked"), "repair", "convert"),
    ("repair.postpone", N_("Postpone the task"), "repair", "postpone"),
    ("repair.redirect", N_("Redirect"), "repair", "redirect"),
    ("repair.refused", N_("Refusal"), "repair", "refuse"),
    ("parts.reserve", N_("Awaiting the customer, set a reserve"), "parts", "convert_reserve"),
    ("parts.no_reserve", N_("Awaiting the customer without a reserve"), "parts",
     "convert_no_reserve"),
    ("parts.sale", N_("Sale made"), "parts", "convert_sale"),
    ("parts.redirect", N_("Redirect"), "parts", "redirect"),
    ("parts.refused", N_("Refusal"), "parts", "refuse"),
]


@hookimpl
def hookdesk_describe_plugin():
    return d.PluginDescription(
        N_("Auto service"),
        N_("Call handling for a car service: every call is a contact whose category decides "
           "whether it becomes a service request."))


@hookimpl
def hookdesk_register_pipelines():
    return [CONTACT_PIPELINE, REQUEST_PIPELINE]


@hookimpl
def hookdesk_register_ticket_types():
    return [
        d.TicketTypeDecl(CONTACT_TYPE, N_("Contact with customer"), CONTACT_PIPELINE.key, "new",
                         "C-{year}-{seq:05d}", customer_can_create=False, order=20),
        d.TicketTypeDecl(REQUEST_TYPE, N_("Service request"), REQUEST_PIPELINE.key, "new",
                         "SR-{year}-{seq:05d}", customer_can_create=False, order=21),
    ]


@hookimpl
def hookdesk_register_fields():
    return [
        d.FieldDecl(CATEGORY_FIELD, "choice", N_("Contact category"), order=8,
                    choice_list=CATEGORIES, shown_in_list=True, ticket_types=(CONTACT_TYPE,),
                    help_text=N_("Left empty, it is chosen automatically when a rule applies.")),
        d.FieldDecl("caller_phone", "phone", N_("Caller's phone"), order=9,
                    ticket_types=(CONTACT_TYPE,),
                    help_text=N_("Without a customer, the customer with this phone is found.")),
        d.FieldDecl("request_kind", "choice", N_("Request kind"), order=8, shown_in_list=True,
                    ticket_types=(REQUEST_TYPE,), shown_to_customer=True,
                    choices=[("repair", N_("Repair")), ("parts", N_("Spare parts"))]),
        d.FieldDecl("parts_reserve", "flag", N_("Parts reserved"), order=9,
                    ticket_types=(REQUEST_TYPE,), shown_to_customer=True),
        d.FieldDecl("reserve_note", "text", N_("Reserve"), order=10, max_length=500,
                    ticket_types=(REQUEST_TYPE,),
                    help_text=N_("What is reserved for the customer, and until when.")),
    ]


@hookimpl
def hookdesk_register_choice_lists():
    categories = [
        d.ChoiceDecl(value, label, group=GROUP,
                     data={"kind": kind, "rule": rule, "allow_manual": False})
        for value, label, kind, rule in DEFAULT_CATEGORIES
    ]
    outcomes = [d.ChoiceDecl(value, label, parent=category, data={"effect": effect})
                for value, label, category, effect in DEFAULT_OUTCOMES]
    return [
        d.ChoiceListDecl(CATEGORIES, N_("Contact categories"), categories),
        d.ChoiceListDecl(OUTCOMES, N_("Contact outcomes"), outcomes),
    ]


@hookimpl
def hookdesk_register_permissions():
    return [
        d.PermissionDecl(WORK_ORDERS, N_("Manage work orders")),
    ]


@hookimpl
def hookdesk_register_roles():
    return [d.RoleDecl("agent", N_("Agent"), [WORK_ORDERS])]


@hookimpl
def hookdesk_register_event_kinds():
    return [
        d.EventKindDecl("autoservice.category_suggested", N_("Category chosen automatically"),
                        audience="staff"),
        d.EventKindDecl("autoservice.category_overridden", N_("Automatic category overridden"),
                        audience="staff"),
        d.EventKindDecl("autoservice.outcome", N_("Contact outcome"), audience="staff"),
        d.EventKindDecl("autoservice.request_continued",
                        N_("Service request continued after a repeat contact"),
                        audience="customer"),
    ]


@hookimpl
def hookdesk_register_migrations():
    return os.path.join(os.path.dirname(__file__), "migrations", "versions")


@hookimpl
def hookdesk_register_translations():
    return os.path.join(os.path.dirname(__file__), "translations")


@hookimpl
def hookdesk_classify_ticket(ticket_type, values, customer, actor):
    from plugins.autoservice import classify

    return classify.proposal(ticket_type, values, customer)


@hookimpl
def hookdesk_validate_ticket(ticket_type, values, ticket, actor):
    from plugins.autoservice import classify

    return classify.validate(ticket_type, values, ticket)


@hookimpl
def hookdesk_validate_transition(ticket, from_status, to_status, actor):
    from plugins.autoservice import contacts

    return contacts.validate_transition(ticket, to_status)


@hookimpl
def hookdesk_field_choices(field, ticket_type, actor, customer, ticket, purpose):
    from plugins.autoservice import categories

    return categories.field_choices(field, customer, ticket, purpose)


@hookimpl
def hookdesk_event_recorded(event, ticket):
    from plugins.autoservice import classify

    classify.on_event(event, ticket)


@hookimpl
def hookdesk_ticket_card_panels(ticket, viewer):
    from plugins.autoservice import views

    return views.card_panels(ticket, viewer)


@hookimpl
def hookdesk_register_trigger_conditions():
    from plugins.autoservice import categories

    return categories.trigger_conditions()


@hookimpl
def hookdesk_register_ticket_filters():
    from plugins.autoservice import categories

    return categories.ticket_filters()


@hookimpl
def hookdesk_register_blueprints():
    from plugins.autoservice.admin import bp as admin_bp
    from plugins.autoservice.views import bp

    return [bp, admin_bp]


@hookimpl
def hookdesk_register_api_blueprints():
    from plugins.autoservice.api import blp

    return [blp]


@hookimpl
def hookdesk_navigation_items(viewer):
    from flask import url_for

    return [
        d.NavItem("autoservice", N_("Auto service"), url_for("autoservice.work_orders"),
                  "agent", "tickets.view", order=45),
    ]


@hookimpl
def hookdesk_load_demo_data(ctx):
    from plugins.autoservice.demo import load

    load(ctx)


@hookimpl
def hookdesk_register_reports():
    from plugins.autoservice import report

    return [d.ReportDecl("autoservice.contacts", N_("Contacts report"), report.as_table)]
