"""Work on a ticket event done by the worker after commit: letters, webhooks.

Rendering a letter or a webhook body inside the request costs the request its
recipients' queries, the templates and one outbox row per letter. Instead
``history.record`` writes one outbox row per event (channel ``kernel.event``,
key ``event-<id>``, in the change's transaction) when a plugin implements
``hookdesk_event_committed``; the worker's delivery of that row calls the hook,
in a unit of work of its own, and the plugins write their letters and webhook
deliveries there as outbox rows with their own idempotency keys.

So the outbox's promises hold for the work itself: a rolled-back change leaves
no row, a worker that dies mid-way leaves the row to be claimed again (the
sweep, after ``CLAIM_TIMEOUT``), a failing plugin makes the row retried with
backoff — and a second run writes nothing twice, because every letter and
delivery keeps its key (``notify-<event id>-<address>``,
``webhook-<endpoint id>-<event id>``).

The row's payload keeps the ticket as it was at the event (``state``): the
ticket may have changed again before the worker runs.
"""

from __future__ import annotations

from typing import Any

from kernel import declarations as d
from kernel import hookimpl, runtime
from kernel.db import db, utcnow

CHANNEL = "kernel.event"


def wanted() -> bool:
    """Whether an enabled plugin does work on events after commit."""
    return bool(runtime.host().hook.hookdesk_event_committed.get_hookimpls())


def state_of(ticket: Any) -> dict[str, Any]:
    """The ticket's columns a receiver may want as they were at the event (read
    from the loaded object: no query)."""
    return {
        "number": ticket.number, "type_id": ticket.type_id, "status_id": ticket.status_id,
        "subject": ticket.subject, "customer_id": ticket.customer_id,
        "assignee_id": ticket.assignee_id, "version": ticket.version,
    }


def put(event: Any, ticket: Any) -> None:
    """Inside the change's transaction: queue the after-commit work on ``event``.

    One INSERT and no read: the key is new (one row per event id), so the outbox's
    repeat check is not needed."""
    from kernel import jobs
    from kernel.models.outbox import OutboxMessage

    row = OutboxMessage(key=f"event-{event.id}", channel=CHANNEL, recipient="",
                        payload={"event_id": event.id, "ticket_id": ticket.id,
                                 "state": state_of(ticket)},
                        ref=f"ticket:{ticket.id}", next_attempt_at=utcnow())
    db.session.add(row)
    jobs.enqueue("outbox.deliver", once=True, message_id=None)


def run(recipient: str, subject: str, body: str, context: dict[str, Any]) -> None:
    """The channel's ``send``: call ``hookdesk_event_committed`` for the event,
    in one unit of work (all plugins' rows, or none, then a retry)."""
    from kernel.models import Ticket, TicketEvent
    from kernel.services.uow import unit_of_work

    event = db.session.get(TicketEvent, context.get("event_id"))
    ticket = db.session.get(Ticket, context.get("ticket_id"))
    if event is None or ticket is None:
        return  # history rows are never deleted: only a test's emptied tables
    with unit_of_work():
        runtime.host().call_all("hookdesk_event_committed", event=event, ticket=ticket,
                                state=dict(context.get("state") or {}))


@hookimpl
def hookdesk_register_notification_channels():
    return [d.NotificationChannelDecl(CHANNEL, "Work on ticket events", run)]
