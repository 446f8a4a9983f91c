"""The warranty plugin's decisions, answered through kernel hooks: which
apartments a claim may name (W2, W3), refusing an expired warranty on the
server (W3), not closing a claim with open defects (W4), and the filters and
trigger conditions over categories (W5)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String as SqlString
from sqlalchemy import cast, select

from kernel import declarations as d
from kernel.db import db
from kernel.i18n import N_
from kernel.models import Customer, Ticket, User
from plugins.warranty import defects
from plugins.warranty import property as prop
from plugins.warranty.models import Apartment, Defect, House

REFERENCE = "warranty.apartment"
EXPIRED = N_("The warranty of this apartment's house has ended: claims are no longer accepted.")
OPEN_DEFECTS = N_("Some defects of this claim are still open: mark each one fixed or "
                  "rejected first.")
APARTMENT_LOCKED = N_("The claim has defects marked on this apartment's plan: the apartment "
                      "cannot be changed.")


def _owner(actor: User | None, customer: Customer | None, ticket: Ticket | None):
    """Whose apartments to offer: the ticket's customer, the customer the ticket is
    being made for, or the buyer filing it. ``None``: nobody in particular."""
    if ticket is not None and ticket.customer_id is not None:
        return db.session.get(Customer, ticket.customer_id)
    if customer is not None:
        return customer
    if actor is not None and actor.is_customer and actor.customer_id is not None:
        return db.session.get(Customer, actor.customer_id)
    return None


def apartment_choices(field: Any, actor: User | None, customer: Customer | None,
                      ticket: Ticket | None, purpose: str = "offer"
                      ) -> list[tuple[str, str]] | None:
    """W2/W3: a buyer picks only their own apartments, and with "restrict by
    warranty" on, is offered only those whose house is still under warranty (an
    expired one sent anyway passes this check and is refused by ``validate_claim``
    with the reason). Agents filing for nobody in particular see every apartment."""
    if field is None or getattr(field, "reference", None) != REFERENCE:
        return None
    owner = _owner(actor, customer, ticket)
    if owner is None and actor is not None and actor.is_customer:
        return []
    found = prop.apartments_of(owner, active_only=prop.restricted() and purpose == "offer")
    choices = [(str(a.id), prop.label(a)) for a in found]
    if ticket is not None:  # the claim's own apartment stays valid on its card
        current = prop.apartment_of(ticket)
        if current is not None and str(current.id) not in {v for v, _ in choices}:
            choices.append((str(current.id), prop.label(current)))
    return choices


def validate_claim(values: dict[str, Any], ticket: Ticket | None) -> list[tuple[str, str]]:
    """Refuse an apartment under an ended warranty while the option is on (W3),
    whoever files the claim and by whatever way (form, API, trigger)."""
    if prop.APARTMENT_FIELD not in values:
        return []
    problems = []
    apartment = prop.apartment_by_value(values.get(prop.APARTMENT_FIELD))
    if ticket is not None and apartment is not None:
        old = (ticket.values or {}).get(prop.APARTMENT_FIELD)
        if str(old) != str(apartment.id) and db.session.scalar(
                select(Defect.id).where(Defect.ticket_id == ticket.id,
                                        Defect.x.is_not(None)).limit(1)) is not None:
            problems.append((prop.APARTMENT_FIELD, APARTMENT_LOCKED))
    if apartment is not None and prop.restricted() and not apartment.house.warranty_active(
            prop.today()):
        problems.append((prop.APARTMENT_FIELD, EXPIRED))
    return problems


def validate_transition(ticket: Ticket, to_status: Any) -> str | None:
    """A claim is not resolved while any of its defects is open (W4)."""
    if to_status.group != "closed_success":
        return None
    if defects.open_count(ticket):
        return OPEN_DEFECTS
    return None


# -- filters and trigger conditions (W5) ----------------------------------------------


def _value_clause(key: str):
    def clause(value: str):
        return cast(Ticket.values[key].as_string(), SqlString) == value
    return clause


def _defect_clause(value: str):
    return Ticket.id.in_(select(Defect.ticket_id).where(Defect.category == value))


def _house_clause(value: str):
    ids = select(cast(Apartment.id, SqlString)).where(Apartment.house_id == int(value))
    return cast(Ticket.values[prop.APARTMENT_FIELD].as_string(), SqlString).in_(ids)


def _claim_categories() -> list[tuple[str, str]]:
    return defects._list_items("warranty.claim_categories")


def _houses() -> list[tuple[str, str]]:
    return [(str(h.id), h.name) for h in db.session.scalars(select(House).order_by(House.name))]


def ticket_filters() -> list[d.TicketFilterDecl]:
    return [
        # Buyers see their claims' category, defects and apartment: they may filter too.
        d.TicketFilterDecl("warranty.claim_category", N_("Claim category"), _claim_categories,
                           _value_clause("claim_category"), ticket_types=("claim",), order=10,
                           audience="customer"),
        d.TicketFilterDecl("warranty.defect_category", N_("Defect category"),
                           defects.categories, _defect_clause, ticket_types=("claim",),
                           order=20, audience="customer"),
        d.TicketFilterDecl("warranty.house", N_("House"), _houses, _house_clause,
                           ticket_types=("claim",), order=30, audience="customer"),
    ]


def has_defect_category(ticket: Ticket, event: Any, params: dict[str, Any]) -> bool:
    """Some defect of the claim has one of ``categories``."""
    wanted = [str(c) for c in params.get("categories") or []]
    if not wanted:
        return False
    return db.session.scalar(select(Defect.id).where(
        Defect.ticket_id == ticket.id, Defect.category.in_(wanted)).limit(1)) is not None


def in_house(ticket: Ticket, event: Any, params: dict[str, Any]) -> bool:
    """The claim's apartment is in the house named ``house`` (its name, as in the list)."""
    apartment = prop.apartment_of(ticket)
    wanted = str(params.get("house") or "").strip().lower()
    return apartment is not None and apartment.house.name.strip().lower() == wanted


def warranty_active(ticket: Ticket, event: Any, params: dict[str, Any]) -> bool:
    apartment = prop.apartment_of(ticket)
    return apartment is not None and apartment.house.warranty_active(prop.today())


def trigger_conditions() -> list[d.TriggerConditionDecl]:
    return [
        d.TriggerConditionDecl(
            "warranty.defect_category", N_("A defect of the claim has one of the categories"),
            has_defect_category,
            params=[d.FieldDecl("categories", "multi_choice", N_("Defect categories"),
                                required=True, choice_list="warranty.defect_categories",
                                help_text=N_("Keys of the defect category list."))]),
        d.TriggerConditionDecl(
            "warranty.house", N_("The claim's apartment is in the house"), in_house,
            params=[d.FieldDecl("house", "text", N_("House name"), required=True)]),
        d.TriggerConditionDecl(
            "warranty.warranty_active", N_("The house is still under warranty"),
            warranty_active),
    ]
