"""Kernel tables. Plugins never alter these; they add their own prefixed tables."""

from kernel.models.audit import AuditEntry
from kernel.models.fields import ChoiceItem, ChoiceList, FieldDefinition
from kernel.models.labels import LabelTranslation
from kernel.models.outbox import OutboxMessage
from kernel.models.people import Customer, CustomerEmail, CustomerPhone, Role, User, user_roles
from kernel.models.search import SearchEntry
from kernel.models.settings import Setting
from kernel.models.tickets import (
    Attachment,
    Message,
    NumberCounter,
    Ticket,
    TicketEvent,
    TicketLink,
)
from kernel.models.tokens import ApiToken
from kernel.models.workflow import Pipeline, Status, TicketType, Transition

__all__ = [
    "AuditEntry",
    "ApiToken",
    "Attachment",
    "ChoiceItem",
    "ChoiceList",
    "Customer",
    "CustomerEmail",
    "CustomerPhone",
    "FieldDefinition",
    "LabelTranslation",
    "Message",
    "NumberCounter",
    "OutboxMessage",
    "Pipeline",
    "Role",
    "SearchEntry",
    "Setting",
    "Status",
    "Ticket",
    "TicketEvent",
    "TicketLink",
    "TicketType",
    "Transition",
    "User",
    "user_roles",
]
