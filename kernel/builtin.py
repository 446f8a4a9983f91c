"""The kernel's own contributions, registered through the same hooks as any
plugin (pytest's ``default_plugins`` idea): system fields, permissions, roles,
event kinds and reference entities."""

from __future__ import annotations

import os

from kernel import declarations as d
from kernel import hookimpl

PERMISSIONS = [
    d.PermissionDecl("tickets.view", "See all tickets"),
    d.PermissionDecl("tickets.create", "Create tickets"),
    d.PermissionDecl("tickets.edit", "Edit ticket fields"),
    d.PermissionDecl("tickets.transition", "Change ticket status"),
    d.PermissionDecl("tickets.assign", "Assign tickets"),
    d.PermissionDecl("tickets.reply", "Reply to customers"),
    d.PermissionDecl("tickets.note", "Write internal notes and see them"),
    d.PermissionDecl("customers.view", "Can see customers",
                     "Seed 001: «Может видеть покупателей»."),
    d.PermissionDecl("customers.edit", "Create and edit customers"),
    d.PermissionDecl("reports.view", "See reports"),
    d.PermissionDecl("admin.settings", "Configure types, pipelines, fields and settings"),
    d.PermissionDecl("admin.users", "Manage users and roles"),
]

AGENT_PERMISSIONS = [
    "tickets.view",
    "tickets.create",
    "tickets.edit",
    "tickets.transition",
    "tickets.assign",
    "tickets.reply",
    "tickets.note",
    "customers.view",
    "customers.edit",
    "reports.view",
]

# Kernel fields are ticket columns; declaring them as fields lets a deployment
# relabel, reorder, require or hide them like any other (seed 000 §1, §3).
SYSTEM_FIELDS = [
    d.FieldDecl("subject", "text", "Subject", required=True, order=10, shown_in_list=True,
                shown_to_customer=True, editable_by_customer=True, max_length=300,
                storage="column"),
    d.FieldDecl("text", "long_text", "Description", order=20, shown_to_customer=True,
                editable_by_customer=True, max_length=100_000, storage="column"),
    d.FieldDecl("queue", "choice", "Queue", order=30, shown_in_list=True,
                shown_to_customer=True, editable_by_customer=True, choice_list="queues",
                help_text="What the problem is about.", storage="column"),
    d.FieldDecl("priority", "choice", "Priority", order=40, shown_in_list=True,
                shown_to_customer=True,
                choices=[("low", "Low"), ("normal", "Normal"), ("high", "High"),
                         ("critical", "Critical")],
                storage="column"),
    d.FieldDecl("urgent", "flag", "Urgent", order=50, shown_in_list=True, storage="column"),
    d.FieldDecl("deadline", "datetime", "Deadline", order=60, shown_in_list=True,
                help_text="The date by which the ticket must be closed.", storage="column"),
    d.FieldDecl("location", "text", "Location", order=70, max_length=200, storage="column"),
    d.FieldDecl("customer", "reference", "Customer", order=80, shown_in_list=True,
                reference="customer", storage="column"),
    d.FieldDecl("assignee", "reference", "Manager", order=90, shown_in_list=True,
                reference="user", storage="column"),
]

EVENT_KINDS = [
    d.EventKindDecl("created", "Ticket created"),
    d.EventKindDecl("fields_changed", "Fields changed"),
    d.EventKindDecl("status_changed", "Status changed"),
    d.EventKindDecl("assigned", "Assignee changed"),
    d.EventKindDecl("message_posted", "Message posted"),
    d.EventKindDecl("attachment_added", "File attached"),
    d.EventKindDecl("linked", "Linked to another ticket"),
]


@hookimpl
def hookdesk_register_permissions():
    return PERMISSIONS


@hookimpl
def hookdesk_register_roles():
    return [
        d.RoleDecl("admin", "Administrator", ["*"]),
        d.RoleDecl("agent", "Agent", AGENT_PERMISSIONS),
    ]


@hookimpl
def hookdesk_register_fields():
    return SYSTEM_FIELDS


@hookimpl
def hookdesk_register_choice_lists():
    return [d.ChoiceListDecl("queues", "Queues", [
        d.ChoiceDecl("general", "General question"),
        d.ChoiceDecl("technical", "Technical problem"),
        d.ChoiceDecl("billing", "Billing and documents"),
    ])]


@hookimpl
def hookdesk_register_settings():
    return [
        d.SettingDecl("kernel.default_ticket_type", "Default ticket type", None, "choice",
                      "The type new tickets get when none is chosen."),
    ]


@hookimpl
def hookdesk_register_event_kinds():
    return EVENT_KINDS


@hookimpl
def hookdesk_register_reference_entities():
    from kernel.db import get_by_id
    from kernel.models import Customer, Ticket, User

    return [
        d.ReferenceEntityDecl("customer", "Customer", lambda i: get_by_id(Customer, i),
                              lambda c: c.name),
        d.ReferenceEntityDecl("user", "User", lambda i: get_by_id(User, i),
                              lambda u: u.name or u.email),
        d.ReferenceEntityDecl("ticket", "Ticket", lambda i: get_by_id(Ticket, i),
                              lambda t: f"{t.number} {t.subject}"),
    ]


@hookimpl
def hookdesk_register_migrations():
    return os.path.join(os.path.dirname(__file__), "migrations", "versions")
