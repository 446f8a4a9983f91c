"""Calls as records (T1): events merged whatever their order (every permutation,
with repeats), the customer found by the kernel's normalized phones, the call on
its ticket's timeline once, a ticket opened for every incoming call when the
deployment wants it, bad events refused naming the field."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.models import Ticket, TicketEvent
from plugins.telephony import calls, config
from plugins.telephony.calls import CallEvent
from plugins.telephony.models import Call

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
FACTS = ("direction", "from_number", "to_number", "phone", "extension", "customer_id",
         "agent_id", "started_at", "answered_at", "ended_at", "disposition", "duration",
         "outcome", "recording_url", "state")


def facts(call: Call) -> dict:
    db.session.refresh(call)
    return {name: getattr(call, name) for name in FACTS}


def scenario(call_id: str, answered: bool, disposition: str, talk: int, recording: bool,
             reported: bool) -> list[CallEvent]:
    base = {"provider": "generic", "call_id": call_id, "direction": "in",
            "from_number": "8 912 345-67-89", "to_number": "+74951234567"}
    events = [CallEvent(kind="start", at=T0, **base)]
    if answered:
        events.append(CallEvent(kind="answer", at=T0 + timedelta(seconds=9), extension="101",
                                **base))
    end = T0 + timedelta(seconds=9 + talk)
    events.append(CallEvent(kind="end", at=end, disposition=disposition,
                            duration=talk if reported else None,
                            extension="101" if answered else "", **base))
    if recording:
        events.append(CallEvent(kind="record", recording_url="https://pbx.test/r.mp3", **base))
    return events


@pytest.fixture
def world(app, caller, operator):
    return {"customer": caller, "agent": operator}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answered=st.booleans(),
       disposition=st.sampled_from(["answered", "busy", "no answer", "cancel", ""]),
       talk=st.integers(0, 3600), recording=st.booleans(), reported=st.booleans(),
       data=st.data())
def test_any_order_and_any_repeats_give_the_same_call(world, answered, disposition, talk,
                                                      recording, reported, data):
    reference_id, shuffled_id = uuid.uuid4().hex, uuid.uuid4().hex
    for item in scenario(reference_id, answered, disposition, talk, recording, reported):
        calls.apply(item)
    events = scenario(shuffled_id, answered, disposition, talk, recording, reported)
    order = data.draw(st.permutations(events))
    repeats = data.draw(st.lists(st.sampled_from(events), max_size=3))
    for item in [*order, *repeats]:
        last = calls.apply(item)
    reference = db.session.scalar(db.select(Call).where(Call.provider_call_id == reference_id))
    assert facts(last) == facts(reference)
    assert last.customer_id == world["customer"].id  # found by the normalized phone
    assert last.phone == "+79123456789"
    if answered:
        assert (last.outcome, last.agent_id) == ("answered", world["agent"].id)
        assert last.duration == talk
    else:
        expected = {"answered": "answered", "busy": "busy"}.get(disposition, "missed")
        assert last.outcome == expected


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_every_order_puts_the_call_on_its_ticket_once(world, order):
    config.save("main", {"auto_ticket_type": "request"})
    events = scenario("perm", answered=True, disposition="answered", talk=61, recording=True,
                      reported=False)
    for index in order:
        call = calls.apply(events[index])
    db.session.refresh(call)
    assert (call.state, call.outcome, call.duration) == ("ended", "answered", 61)
    assert call.recording_url == "https://pbx.test/r.mp3"
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 1  # one ticket a call
    ticket = db.session.get(Ticket, call.ticket_id)
    assert ticket.customer_id == world["customer"].id
    assert ticket.subject == "☎ +7 912 345-67-89"
    kinds = [e.kind for e in db.session.scalars(
        db.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.id))]
    # Linked once; "ended" only when the end came after the ticket was opened.
    assert kinds.count("telephony.call") == 1
    assert kinds.count("telephony.call_ended") == (0 if order[0] == 2 else 1)


def test_an_unknown_number_has_no_customer_and_a_bad_number_no_phone(app):
    call = calls.apply(CallEvent("generic", "x", "start", "in", "+79031112233", "", at=T0))
    assert (call.customer_id, call.phone) == (None, "+79031112233")
    call = calls.apply(CallEvent("generic", "y", "start", "in", "anonymous", "", at=T0))
    assert (call.customer_id, call.phone, call.state) == (None, None, "ringing")


def test_a_ticket_type_that_refuses_is_noted_and_the_call_is_kept(app, caller):
    from kernel.services import fields as field_service

    field_service.override("comment", {"required": True})
    config.save("main", {"auto_ticket_type": "request"})
    call = calls.apply(CallEvent("generic", "r", "start", "in", "+79123456789", "", at=T0))
    assert call.ticket_id is None and "comment" in call.note
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0
    # Noted once: later events do not try again.
    calls.apply(CallEvent("generic", "r", "end", "in", at=T0 + timedelta(seconds=5)))
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0


def test_outgoing_calls_open_no_ticket(app, caller):
    config.save("main", {"auto_ticket_type": "request"})
    call = calls.apply(CallEvent("generic", "o", "start", "out", "101", "+79123456789", at=T0))
    assert (call.direction, call.customer_id, call.ticket_id) == ("out", caller.id, None)


@pytest.mark.parametrize("changes, field", [
    ({"kind": "ring"}, "event"), ({"call_id": ""}, "call_id"), ({"direction": "up"},
                                                                 "direction"),
    ({"duration": -1}, "duration"), ({"recording_url": "ftp://x"}, "recording_url"),
    ({"from_number": "1" * 65}, "from"),
])
def test_bad_events_are_refused_naming_the_field(app, changes, field):
    values = {"provider": "generic", "call_id": "b", "kind": "start", "direction": "in",
              **changes}
    with pytest.raises(ValidationFailed) as refused:
        calls.apply(CallEvent(**values))
    assert field in refused.value.errors
    assert db.session.scalar(db.select(db.func.count(Call.id))) == 0


def test_an_agent_opens_a_ticket_from_a_call_once(app, caller, operator):
    call = calls.apply(CallEvent("generic", "p", "start", "in", "+79123456789", "", at=T0))
    ticket = calls.open_ticket(call, operator)
    assert (ticket.customer_id, ticket.assignee_id) == (caller.id, operator.id)
    assert calls.open_ticket(call, operator).id == ticket.id  # the same ticket again
    events = [e.kind for e in db.session.scalars(db.select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id))]
    assert events.count("telephony.call") == 1
