"""The kernel's own contributions, registered through the same hooks as any
plugin (pytest's ``default_plugins`` idea): system fields, permissions, roles,
event kinds and reference entities."""

from __future__ import annotations

import os

from kernel import declarations as d
from kernel import hookimpl
from kernel.i18n import N_

PERMISSIONS = [
    d.PermissionDecl("tickets.view", N_("See all tickets")),
    d.PermissionDecl("tickets.create", N_("Create tickets")),
    d.PermissionDecl("tickets.edit", N_("Edit ticket fields")),
    d.PermissionDecl("tickets.transition", N_("Change ticket status")),
    d.PermissionDecl("tickets.assign", N_("Assign tickets")),
    d.PermissionDecl("tickets.reply", N_("Reply to customers")),
    d.PermissionDecl("tickets.note", N_("Write internal notes and see them")),
    d.PermissionDecl("customers.view", N_("Can see customers"),
                     "Seed 001: «Может видеть покупателей»."),
    d.PermissionDecl("customers.edit", N_("Create and edit customers")),
    d.PermissionDecl("reports.view", N_("See reports")),
    d.PermissionDecl("admin.settings", N_("Configure types, pipelines, fields and settings")),
    d.PermissionDecl("admin.users", N_("Manage users and roles")),
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
    d.FieldDecl("subject", "text", N_("Subject"), required=True, order=10, shown_in_list=True,
                shown_to_customer=True, editable_by_customer=True, max_length=300,
                storage="column"),
    d.FieldDecl("text", "long_text", N_("Description"), order=20, shown_to_customer=True,
                editable_by_customer=True, max_length=100_000, storage="column"),
    d.FieldDecl("queue", "choice", N_("Queue"), order=30, shown_in_list=True,
                shown_to_customer=True, editable_by_customer=True, choice_list="queues",
                help_text=N_("What the problem is about."), storage="column"),
    d.FieldDecl("priority", "choice", N_("Priority"), order=40, shown_in_list=True,
                shown_to_customer=True,
                choices=[("low", N_("Low")), ("normal", N_("Normal")), ("high", N_("High")),
                         ("critical", N_("Critical"))],
                storage="column"),
    d.FieldDecl("urgent", "flag", N_("Urgent"), order=50, shown_in_list=True, storage="column"),
    d.FieldDecl("deadline", "datetime", N_("Deadline"), order=60, shown_in_list=True,
                help_text=N_("The date by which the ticket must be closed."), storage="column"),
    d.FieldDecl("location", "text", N_("Location"), order=70, max_length=200, storage="column"),
    d.FieldDecl("customer", "reference", N_("Customer"), order=80, shown_in_list=True,
                reference="customer", storage="column"),
    d.FieldDecl("assignee", "reference", N_("Manager"), order=90, shown_in_list=True,
                reference="user", storage="column"),
]

# The kernel's kinds reach customers, each filtered by its own rule in
# ``kernel.visibility`` (hidden fields, internal notes and files, agents'
# comments, links to tickets the reader may not view).
EVENT_KINDS = [
    d.EventKindDecl("created", N_("Ticket created"), audience="customer"),
    d.EventKindDecl("fields_changed", N_("Fields changed"), audience="customer"),
    d.EventKindDecl("status_changed", N_("Status changed"), audience="customer"),
    d.EventKindDecl("assigned", N_("Assignee changed"), audience="customer"),
    d.EventKindDecl("message_posted", N_("Message posted"), audience="customer"),
    d.EventKindDecl("attachment_added", N_("File attached"), audience="customer"),
    d.EventKindDecl("linked", N_("Linked to another ticket"), audience="customer"),
]


@hookimpl
def hookdesk_register_permissions():
    return PERMISSIONS


@hookimpl
def hookdesk_register_roles():
    return [
        d.RoleDecl("admin", N_("Administrator"), ["*"]),
        d.RoleDecl("agent", N_("Agent"), AGENT_PERMISSIONS),
    ]


@hookimpl
def hookdesk_register_fields():
    return SYSTEM_FIELDS


@hookimpl
def hookdesk_register_choice_lists():
    return [d.ChoiceListDecl("queues", N_("Queues"), [
        d.ChoiceDecl("general", N_("General question")),
        d.ChoiceDecl("technical", N_("Technical problem")),
        d.ChoiceDecl("billing", N_("Billing and documents")),
    ])]


@hookimpl
def hookdesk_register_settings():
    return [
        d.SettingDecl("kernel.default_ticket_type", N_("Default ticket type"), None, "choice",
                      N_("The type new tickets get when none is chosen.")),
    ]


@hookimpl
def hookdesk_register_event_kinds():
    return EVENT_KINDS


@hookimpl
def hookdesk_register_reference_entities():
    from kernel.db import get_by_id
    from kernel.models import Customer, Ticket, User

    return [
        d.ReferenceEntityDecl("customer", N_("Customer"), lambda i: get_by_id(Customer, i),
                              lambda c: c.name),
        d.ReferenceEntityDecl("user", N_("User"), lambda i: get_by_id(User, i),
                              lambda u: u.name or u.email),
        d.ReferenceEntityDecl("ticket", N_("Ticket"), lambda i: get_by_id(Ticket, i),
                              lambda t: f"{t.number} {t.subject}"),
    ]


@hookimpl
def hookdesk_register_jobs():
    from kernel import mail

    # E-mail is delivered after commit; a temporary failure is retried 6 times,
    # 30 s after the first failure and twice as long after each next one (~30 min).
    return [d.JobDecl(mail.JOB_KEY, mail.deliver, retries=6, retry_delay=30)]


@hookimpl
def hookdesk_register_migrations():
    return os.path.join(os.path.dirname(__file__), "migrations", "versions")
