"""Domain events: what already happened, announced after commit.

Receivers take ``f(sender, **kwargs)``, connect with ``weak=False``, never change
the arguments, and do their side effects through the outbox. The sender is the
service module's name (never the ``current_app`` proxy). Every signal carries
``app`` (the real Flask application) besides the arguments listed.
"""

from blinker import Namespace

_signals = Namespace()

ticket_created = _signals.signal(
    "ticket-created", doc="A ticket was created. kwargs: ticket, event, actor."
)
ticket_updated = _signals.signal(
    "ticket-updated",
    doc="Fields of a ticket changed. kwargs: ticket, event, actor, changes "
    "({key: [old, new]}).",
)
ticket_status_changed = _signals.signal(
    "ticket-status-changed",
    doc="A ticket moved in its pipeline. kwargs: ticket, event, actor, from_status, to_status "
    "(keys).",
)
ticket_assigned = _signals.signal(
    "ticket-assigned",
    doc="A ticket's assignee changed. kwargs: ticket, event, actor, from_user_id, to_user_id.",
)
message_posted = _signals.signal(
    "message-posted",
    doc="A message was added to a thread. kwargs: ticket, message, event, actor.",
)
attachment_added = _signals.signal(
    "attachment-added", doc="A file was attached. kwargs: ticket, attachment, event, actor."
)
tickets_linked = _signals.signal(
    "tickets-linked", doc="Two tickets were linked. kwargs: link, source, target, actor."
)
event_recorded = _signals.signal(
    "event-recorded",
    doc="Any ticket history event, including plugin kinds. kwargs: ticket, event, actor.",
)
customer_created = _signals.signal(
    "customer-created", doc="A customer was created. kwargs: customer, actor."
)
customer_updated = _signals.signal(
    "customer-updated", doc="A customer changed. kwargs: customer, actor, changes."
)
user_created = _signals.signal(
    "user-created", doc="A user was created. kwargs: user, password_set."
)

ALL = [
    ticket_created,
    ticket_updated,
    ticket_status_changed,
    ticket_assigned,
    message_posted,
    attachment_added,
    tickets_linked,
    event_recorded,
    customer_created,
    customer_updated,
    user_created,
]
