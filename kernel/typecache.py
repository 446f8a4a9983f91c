"""Ticket types with their pipelines (statuses, transitions), read once per process.

Every write and most reads of a ticket need its type and pipeline: loaded from
the database that is three statements (the type joined with its pipeline, then
the statuses and the transitions) each time. They change only when an admin or
a plugin sync changes them, so the types are kept as detached objects in the
field-set view (``fieldset.cached``), under the same stamp as fields and choice
lists: any change to ``ticket_types``, ``pipelines``, ``statuses`` or
``transitions`` through the ORM writes a new stamp, and every process reloads
at its next transaction.

``prime()`` copies them into the current session without SQL
(``Session.merge(load=False)``): afterwards ``ticket.type``, ``ticket.status``
and ``type.pipeline.statuses`` of any ticket loaded in the session come from the
identity map. The session's copies are its own: changing one changes nothing
in the cache (and writes a new stamp when flushed).
"""

from __future__ import annotations

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kernel import fieldset
from kernel.db import db
from kernel.models import Pipeline, TicketType

_PRIMED = "hookdesk.typecache.primed"  # session.info: the stamp's types are merged


def _load() -> dict[str, TicketType]:
    """Every type, fully loaded, detached: a session of its own on this
    transaction's connection (what it reads matches the stamp just read)."""
    with Session(bind=db.session.connection()) as own:
        types = own.scalars(
            select(TicketType).options(
                selectinload(TicketType.pipeline).selectinload(Pipeline.statuses),
                selectinload(TicketType.pipeline).selectinload(Pipeline.transitions),
            )
        ).all()
        for ttype in types:  # touch what merge copies, so nothing is left to load
            ttype.initial_status  # noqa: B018
            for transition in ttype.pipeline.transitions:
                transition.from_status_id  # noqa: B018
        own.expunge_all()
    return {t.key: t for t in types}


def types() -> dict[str, TicketType]:
    """``{key: type}`` of the current session (merged copies), active or not."""
    session = db.session()
    if not fieldset.unchanged(session):  # a merge would overwrite the session's changes
        return {t.key: t for t in session.scalars(select(TicketType))}
    cached = fieldset.cached("ticket_types", _load)
    primed = session.info.get(_PRIMED)
    if primed is not None and primed[0] is cached:
        return primed[1]
    with session.no_autoflush:
        merged = {key: session.merge(ttype, load=False) for key, ttype in cached.items()}
    session.info[_PRIMED] = (cached, merged)
    return merged


def prime() -> None:
    """Put every type, pipeline and status in the session's identity map."""
    types()


def get(key: str) -> TicketType | None:
    """The type with this key (active or not), without SQL once cached."""
    return types().get(key)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session, transaction):
    if transaction.parent is None:  # a rollback expires the copies: merge again
        session.info.pop(_PRIMED, None)
