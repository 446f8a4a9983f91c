"""The scenarios of seed 004 as order types with their pipelines (item 10), the
request inbox's pipeline, and the one-click presets an admin applies.

Every order type's pipeline is linear: each open stage may move to the next one,
back to the previous one, or to "Cancelled"; the last open stage moves to the
closed "Done" stage; a cancelled order may be reopened at the first stage. So a
jump the pipeline does not allow (from "Request accepted" straight to "Delivery")
is refused by the kernel's ``tickets.transition`` with the stages allowed next."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel import declarations as d
from kernel.i18n import N_

REQUEST_TYPE = "orders_request"
REQUEST_PIPELINE = "orders_requests"

REQUEST_PIPELINE_DECL = d.PipelineDecl(
    key=REQUEST_PIPELINE,
    name=N_("Order requests"),
    statuses=[
        d.StatusDecl("new", N_("New request"), "open", "#2563eb"),
        d.StatusDecl("converted", N_("Converted into an order"), "closed_success", "#16a34a"),
        d.StatusDecl("rejected", N_("Rejected"), "closed_failure", "#dc2626"),
    ],
    transitions=[("new", "converted"), ("new", "rejected"), ("rejected", "new")],
)

DONE = "done"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class Scenario:
    """One scenario of seed 004: an order type, its stages and its preset."""

    key: str  # the ticket type's and the pipeline's key
    name: str
    description: str
    stages: tuple[tuple[str, str, str], ...]  # (key, name, colour) of the open stages
    done: str  # the name of the closed "done" stage
    prefix: str  # numbering prefix
    # The preset: which details the customer may edit, and in which stages.
    editable_fields: tuple[str, ...] = ()
    editable_stages: tuple[str, ...] = ()
    order: int = 50
    extra: dict = field(default_factory=dict)

    def pipeline(self) -> d.PipelineDecl:
        statuses = [d.StatusDecl(k, n, "open", c) for k, n, c in self.stages]
        statuses.append(d.StatusDecl(DONE, self.done, "closed_success", "#16a34a"))
        statuses.append(d.StatusDecl(CANCELLED, N_("Cancelled"), "closed_failure", "#6b7280"))
        keys = [k for k, _n, _c in self.stages]
        transitions: list[tuple[str, str]] = []
        for index, key in enumerate(keys):
            following = keys[index + 1] if index + 1 < len(keys) else DONE
            transitions.append((key, following))
            if index:
                transitions.append((key, keys[index - 1]))
            transitions.append((key, CANCELLED))
        transitions.append((DONE, keys[-1]))
        transitions.append((CANCELLED, keys[0]))
        return d.PipelineDecl(self.key, self.name, statuses, transitions)

    def ticket_type(self) -> d.TicketTypeDecl:
        return d.TicketTypeDecl(self.key, self.name, self.key, self.stages[0][0],
                                self.prefix + "-{year}-{seq:05d}", customer_can_create=False,
                                order=self.order)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "orders_delivery", N_("Buy and deliver"),
        N_("Customers ask to buy goods and follow the buyout, payment and delivery; the "
           "manager attaches the invoice and the tracking link."),
        (("accepted", N_("Request accepted"), "#2563eb"),
         ("buyout", N_("Buyout"), "#0891b2"),
         ("payment", N_("Payment"), "#d97706"),
         ("delivery", N_("Delivery"), "#7c3aed")),
        N_("Done"), "ORD",
        editable_fields=("orders_details", "orders_address"),
        editable_stages=("accepted", "buyout"), order=51,
    ),
    Scenario(
        "orders_freelance", N_("Freelance project"),
        N_("Clients propose projects, follow negotiation and delivery; the freelancer "
           "attaches the contract and the finished work."),
        (("proposal", N_("Proposal received"), "#2563eb"),
         ("negotiation", N_("Negotiation"), "#0891b2"),
         ("in_work", N_("In progress"), "#d97706"),
         ("review", N_("Review"), "#7c3aed")),
        N_("Delivered"), "FRL",
        editable_fields=("orders_details", "orders_budget"),
        editable_stages=("proposal", "negotiation"), order=52,
    ),
    Scenario(
        "orders_event", N_("Event organisation"),
        N_("Clients order an event and follow the booking; the manager attaches "
           "confirmations and links to suppliers."),
        (("accepted", N_("Request accepted"), "#2563eb"),
         ("booking", N_("Booking"), "#0891b2"),
         ("payment", N_("Payment"), "#d97706"),
         ("preparation", N_("Preparation"), "#7c3aed")),
        N_("Event held"), "EVT",
        editable_fields=("orders_details", "orders_address", "orders_budget"),
        editable_stages=("accepted", "booking"), order=53,
    ),
    Scenario(
        "orders_consulting", N_("Consulting"),
        N_("Clients ask for a consultation and follow its preparation and scheduling; "
           "the consultant attaches questionnaires and materials."),
        (("accepted", N_("Request accepted"), "#2563eb"),
         ("preparation", N_("Preparing materials"), "#0891b2"),
         ("scheduling", N_("Scheduling the meeting"), "#d97706"),
         ("payment", N_("Payment"), "#7c3aed")),
        N_("Consultation held"), "CNS",
        editable_fields=("orders_details",),
        editable_stages=("accepted", "preparation"), order=54,
    ),
    Scenario(
        "orders_legal", N_("Legal services"),
        N_("Clients order legal work and follow document preparation and court "
           "hearings; the lawyer attaches documents and links to decisions."),
        (("accepted", N_("Request accepted"), "#2563eb"),
         ("documents", N_("Preparing documents"), "#0891b2"),
         ("court", N_("In court"), "#d97706"),
         ("payment", N_("Payment"), "#7c3aed")),
        N_("Case closed"), "LAW",
        editable_fields=("orders_details",),
        editable_stages=("accepted",), order=55,
    ),
    Scenario(
        "orders_repair", N_("Repair"),
        N_("Customers send equipment for repair and follow diagnostics, repair and "
           "delivery; the engineer attaches reports and instructions."),
        (("accepted", N_("Request accepted"), "#2563eb"),
         ("diagnostics", N_("Diagnostics"), "#0891b2"),
         ("repair", N_("Repair"), "#d97706"),
         ("delivery", N_("Delivery"), "#7c3aed")),
        N_("Done"), "REP",
        editable_fields=("orders_details", "orders_address"),
        editable_stages=("accepted", "diagnostics"), order=56,
    ),
)

BY_KEY = {s.key: s for s in SCENARIOS}
ORDER_TYPES = tuple(BY_KEY)

# The details a customer may be allowed to edit (O7), with the request's contact.
DETAIL_FIELDS = ("orders_details", "orders_address", "orders_budget")
CONTACT_FIELDS = ("orders_contact_name", "orders_contact_email", "orders_contact_phone")


def pipelines() -> list[d.PipelineDecl]:
    return [REQUEST_PIPELINE_DECL] + [s.pipeline() for s in SCENARIOS]


def ticket_types() -> list[d.TicketTypeDecl]:
    return [d.TicketTypeDecl(REQUEST_TYPE, N_("Order request"), REQUEST_PIPELINE, "new",
                             "RQ-{year}-{seq:05d}", customer_can_create=True, order=50)] + [
        s.ticket_type() for s in SCENARIOS]


# What the customer writes in a request, and the order's details it becomes. Two
# sets of fields, because a field's "editable by the customer" is one switch for
# every type it is on: the request's are the customer's to fill in, the order's
# only in the stages the order type's setting names (O7, through this plugin).
REQUEST_DETAILS = {"orders_request_details": "orders_details",
                   "orders_request_address": "orders_address",
                   "orders_request_budget": "orders_budget"}


def fields() -> list[d.FieldDecl]:
    every = (REQUEST_TYPE, *ORDER_TYPES)
    request = (REQUEST_TYPE,)
    details_help = N_("What to buy or do: items, links, sizes, quantities, wishes.")
    return [
        d.FieldDecl("orders_request_details", "long_text", N_("Order details"), order=40,
                    max_length=10_000, shown_to_customer=True, editable_by_customer=True,
                    ticket_types=request, help_text=details_help),
        d.FieldDecl("orders_request_address", "text", N_("Delivery address"), order=42,
                    max_length=500, shown_to_customer=True, editable_by_customer=True,
                    ticket_types=request),
        d.FieldDecl("orders_request_budget", "text", N_("Budget"), order=44, max_length=100,
                    shown_to_customer=True, editable_by_customer=True, ticket_types=request),
        d.FieldDecl("orders_details", "long_text", N_("Order details"), order=40,
                    max_length=10_000, shown_to_customer=True, ticket_types=ORDER_TYPES,
                    help_text=details_help),
        d.FieldDecl("orders_address", "text", N_("Delivery address"), order=42, max_length=500,
                    shown_to_customer=True, ticket_types=ORDER_TYPES),
        d.FieldDecl("orders_budget", "text", N_("Budget"), order=44, max_length=100,
                    shown_to_customer=True, ticket_types=ORDER_TYPES),
        d.FieldDecl("orders_contact_name", "text", N_("Contact name"), order=46, max_length=200,
                    shown_to_customer=True, ticket_types=every),
        d.FieldDecl("orders_contact_email", "email", N_("Contact e-mail"), order=47,
                    shown_to_customer=True, ticket_types=every),
        d.FieldDecl("orders_contact_phone", "phone", N_("Contact phone"), order=48,
                    shown_to_customer=True, ticket_types=every),
    ]


# A8: the status linking a lead to an order moves it to, added to the helpdesk
# plugin's support pipeline (the "Request" type's) through an extension.
LEAD_SUCCESS = "orders_success"


def extensions() -> list[d.PipelineExtension]:
    return [d.PipelineExtension(
        "support",
        [d.StatusDecl(LEAD_SUCCESS, N_("Successful order"), "closed_success", "#059669")],
        transitions=[("new", LEAD_SUCCESS), ("in_progress", LEAD_SUCCESS),
                     ("waiting", LEAD_SUCCESS), (LEAD_SUCCESS, "in_progress")],
    )]
