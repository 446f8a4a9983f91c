"""Real-estate warranty (seed 000, W1–W6): houses with a warranty end date,
apartments with floor plans, buyers who own them, and warranty claims whose
defects are marked on the plan and worked one by one.

Everything here goes through the kernel's hooks, signals and services: the
claim is a kernel ticket type with its own pipeline and numbering, the
apartment is a ``reference`` field, categories are kernel choice lists."""

from __future__ import annotations

import os

from kernel import declarations as d
from kernel import hookimpl
from kernel.i18n import N_

PIPELINE = d.PipelineDecl(
    key="warranty",
    name=N_("Warranty claims"),
    statuses=[
        d.StatusDecl("new", N_("New"), "open", "#2563eb"),
        d.StatusDecl("inspection", N_("Inspection scheduled"), "open", "#0891b2"),
        d.StatusDecl("in_repair", N_("Repairs in progress"), "open", "#d97706"),
        d.StatusDecl("waiting_owner", N_("Waiting for the owner"), "open", "#7c3aed"),
        d.StatusDecl("done", N_("Resolved"), "closed_success", "#16a34a"),
        d.StatusDecl("rejected", N_("Rejected"), "closed_failure", "#dc2626"),
    ],
    transitions=[
        ("new", "inspection"), ("new", "in_repair"), ("new", "rejected"),
        ("inspection", "in_repair"), ("inspection", "waiting_owner"), ("inspection", "rejected"),
        ("inspection", "done"),
        ("in_repair", "waiting_owner"), ("in_repair", "done"), ("in_repair", "inspection"),
        ("waiting_owner", "inspection"), ("waiting_owner", "in_repair"),
        ("waiting_owner", "rejected"),
        ("done", "in_repair"), ("rejected", "new"),
    ],
)

CLAIM_TYPE = "claim"


@hookimpl
def hookdesk_describe_plugin():
    return d.PluginDescription(
        N_("Warranty claims"),
        N_("Real-estate warranty: houses, apartments with floor plans, their owners, and "
           "claims whose defects are marked on the plan."))


@hookimpl
def hookdesk_register_pipelines():
    return [PIPELINE]


@hookimpl
def hookdesk_register_ticket_types():
    return [d.TicketTypeDecl(CLAIM_TYPE, N_("Warranty claim"), "warranty", "new",
                             "W-{year}-{seq:05d}", order=10)]


@hookimpl
def hookdesk_register_fields():
    return [
        d.FieldDecl("apartment", "reference", N_("Apartment"), required=True, order=12,
                    reference="warranty.apartment", shown_in_list=True, shown_to_customer=True,
                    editable_by_customer=True, ticket_types=(CLAIM_TYPE,),
                    help_text=N_("One of the apartments you own.")),
        d.FieldDecl("claim_category", "choice", N_("Claim category"), required=True, order=14,
                    choice_list="warranty.claim_categories", shown_in_list=True,
                    shown_to_customer=True, editable_by_customer=True,
                    ticket_types=(CLAIM_TYPE,)),
    ]


def _items(pairs):
    return [d.ChoiceDecl(value, label) for value, label in pairs]


@hookimpl
def hookdesk_register_choice_lists():
    return [
        d.ChoiceListDecl("warranty.claim_categories", N_("Warranty claim categories"), _items([
            ("plumbing", N_("Plumbing")),
            ("electrical", N_("Electrical")),
            ("windows_doors", N_("Windows and doors")),
            ("heating", N_("Heating and ventilation")),
            ("finishing", N_("Finishing")),
            ("structure", N_("Walls and structure")),
            ("other", N_("Other")),
        ])),
        d.ChoiceListDecl("warranty.defect_categories", N_("Defect categories"), _items([
            ("leak", N_("Leak")),
            ("crack", N_("Crack")),
            ("finishing", N_("Finishing defect")),
            ("window", N_("Window or balcony door")),
            ("door", N_("Door")),
            ("electrics", N_("Electrics")),
            ("heating", N_("Heating")),
            ("other", N_("Other")),
        ])),
    ]


@hookimpl
def hookdesk_register_permissions():
    return [
        d.PermissionDecl("warranty.manage", N_("Manage houses, apartments and buyers")),
        d.PermissionDecl("warranty.defects", N_("Work defects of warranty claims")),
    ]


@hookimpl
def hookdesk_register_roles():
    return [d.RoleDecl("agent", N_("Agent"), ["warranty.defects"])]


@hookimpl
def hookdesk_register_settings():
    return [
        d.SettingDecl("warranty.restrict_by_warranty", N_("Restrict claims by warranty"),
                      False, "flag",
                      N_("Buyers may file claims only for apartments in houses whose "
                         "warranty is still active.")),
        d.SettingDecl("warranty.defects_enabled", N_("Defects in claims"), True, "flag",
                      N_("Buyers list defects with photos and marks on the plan.")),
    ]


@hookimpl
def hookdesk_register_event_kinds():
    return [
        # The buyer follows their claim's defects on the card and in the API.
        d.EventKindDecl("warranty.defect_added", N_("Defect added"), audience="customer"),
        d.EventKindDecl("warranty.defect_status_changed", N_("Defect status changed"),
                        audience="customer"),
    ]


@hookimpl
def hookdesk_register_reference_entities():
    from plugins.warranty import property as prop

    return [d.ReferenceEntityDecl("warranty.apartment", N_("Apartment"), _lookup_apartment,
                                  prop.label)]


def _lookup_apartment(ident):
    from kernel.db import get_by_id
    from plugins.warranty.models import Apartment

    return get_by_id(Apartment, ident)


@hookimpl
def hookdesk_register_migrations():
    return os.path.join(os.path.dirname(__file__), "migrations", "versions")


@hookimpl
def hookdesk_field_choices(field, ticket_type, actor, customer, ticket, purpose):
    from plugins.warranty import rules

    return rules.apartment_choices(field, actor, customer, ticket, purpose)


@hookimpl
def hookdesk_validate_ticket(ticket_type, values, ticket, actor):
    from plugins.warranty import rules

    return rules.validate_claim(values, ticket)


@hookimpl
def hookdesk_validate_transition(ticket, from_status, to_status, actor):
    from plugins.warranty import rules

    return rules.validate_transition(ticket, to_status)


@hookimpl
def hookdesk_ticket_form_sections(ticket_type, viewer):
    from plugins.warranty import form

    return form.sections(ticket_type, viewer)


@hookimpl
def hookdesk_ticket_card_panels(ticket, viewer):
    from plugins.warranty import views

    return views.card_panels(ticket, viewer)


@hookimpl
def hookdesk_register_ticket_filters():
    from plugins.warranty import rules

    return rules.ticket_filters()


@hookimpl
def hookdesk_register_trigger_conditions():
    from plugins.warranty import rules

    return rules.trigger_conditions()


@hookimpl
def hookdesk_register_blueprints():
    from plugins.warranty.admin import bp as admin_bp
    from plugins.warranty.views import bp

    return [bp, admin_bp]


@hookimpl
def hookdesk_register_cli_commands():
    from plugins.warranty.cli import group

    return [group]


@hookimpl
def hookdesk_navigation_items(viewer):
    from flask import url_for

    return [d.NavItem("warranty.houses", N_("Houses"), url_for("warranty_admin.houses"),
                      "agent", "warranty.manage", order=40)]


@hookimpl
def hookdesk_register_api_blueprints():
    from plugins.warranty.api import blp

    return [blp]


@hookimpl
def hookdesk_load_demo_data(ctx):
    from plugins.warranty.demo import load

    load(ctx)


@hookimpl
def hookdesk_blob_references():
    """Floor plans live in the kernel's file store: keep them from its clean-up."""
    from sqlalchemy import select

    from kernel.db import db
    from plugins.warranty.models import Apartment

    return list(db.session.scalars(select(Apartment.plan_sha256).distinct()
                                   .where(Apartment.plan_sha256.is_not(None))))


@hookimpl
def hookdesk_register_reports():
    from plugins.warranty import reports

    return [reports.declaration()]
