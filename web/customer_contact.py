"""A ticket's contact fields fall back to its customer's record on the card.

The helpdesk plugin's intake fields hold the name and phone typed with a
ticket; when they are empty (the customer record already knew them), the card
shows what the record has instead of "—" — only to a viewer the visibility
policy lets read that customer."""

from __future__ import annotations

from typing import Any

from kernel import visibility
from kernel.models import Ticket, User

# The helpdesk plugin's intake fields that hold the contact's name and phone.
NAME_FIELD, PHONE_FIELD = "contact_name", "contact_phone"


def fallback(definition: Any, ticket: Ticket | None, viewer: User | None) -> Any:
    """What the card shows for an empty contact field: the customer's name or
    first phone; None otherwise."""
    if ticket is None or definition.key not in (NAME_FIELD, PHONE_FIELD):
        return None
    if viewer is None or not visibility.sees_customer_of(ticket, viewer):
        return None
    customer = ticket.customer
    if customer is None:
        return None
    if definition.key == NAME_FIELD:
        return customer.name or None
    if customer.phones:
        return customer.phones[0].number
    return None

