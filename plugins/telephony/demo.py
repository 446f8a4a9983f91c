"""Demo data of the telephony plugin: extensions for the demo agents and a few
calls — answered, missed, busy, one from a number not in the customer base, and
one that became a ticket — made through the same service the webhooks use."""

from __future__ import annotations

from datetime import timedelta

from plugins.telephony import calls, config

EXTENSIONS = (("agent", "101"), ("admin", "100"))
OFFICE = "+74951234567"


def load(ctx) -> None:
    config.set_extension(ctx.agent.id, "101")
    config.set_extension(ctx.admin.id, "100")
    phone_of = [c.phones[0].number if c.phones else "" for c in ctx.customers]
    # (id, direction, outside number, minutes ago, talk seconds or None, disposition)
    plan = [
        ("demo-1", "in", phone_of[1], 60 * 26, 192, "answered"),
        ("demo-2", "in", phone_of[2], 60 * 5, None, "no answer"),
        ("demo-3", "out", phone_of[0], 60 * 3, None, "busy"),
        ("demo-4", "in", "+79261234567", 90, None, "cancel"),
        ("demo-5", "out", phone_of[2], 40, 75, "answered"),
    ]
    for call_id, direction, number, ago, talk, disposition in plan:
        started = ctx.now - timedelta(minutes=ago)
        source, target = (number, OFFICE) if direction == "in" else ("101", number)
        base = {"provider": "generic", "call_id": call_id, "direction": direction,
                "from_number": source, "to_number": target}
        calls.apply(calls.CallEvent(kind="start", at=started, **base))
        if talk:
            calls.apply(calls.CallEvent(kind="answer", extension="101",
                                        at=started + timedelta(seconds=12), **base))
        ended = started + timedelta(seconds=12 + (talk or 20))
        last = calls.apply(calls.CallEvent(kind="end", at=ended, disposition=disposition,
                                           extension="101" if talk else "", **base))
        if call_id == "demo-1":
            calls.open_ticket(last, ctx.agent)
