"""E-mail storms: letters about one ticket to one person are coalesced, and no
address gets more than a set number of letters an hour, whatever rules,
plugins or people ask for.

Both work on the outbox rows of the ``email`` channel, so "written in the
change's transaction, sent once, survives a crash" still holds.

**Coalescing** (``HOOKDESK_MAIL_COALESCE_SECONDS``, default 60; 0 turns it off)
applies to letters tagged with a ticket (``ref="ticket:<id>"``, as the
notifications plugin and the triggers' e-mail action write them):

* a letter while another one to the same address about the same ticket still
  waits (pending or held, never tried) is *merged into it* — in the same
  transaction, under a row lock — and the waiting letter then lists every
  change (each part's subject and text, in order; at most ``MAX_PARTS``, the
  oldest dropped with a note). The merged letter keeps its own row, with status
  ``merged`` and ``payload["merged_into"]``, so its idempotency key stays spent
  and the admin sees where it went;
* a letter within the window after one was sent waits until the window ends
  (``next_attempt_at``), and what comes meanwhile merges into it. So one edit
  that four rules answer is one letter, and twenty quick edits are two: the
  first at once, one listing the other nineteen a minute later.

**The hourly limit** (``HOOKDESK_MAIL_MAX_PER_HOUR``, default 30 per address;
0 turns it off) is checked when a letter is about to be sent: over the limit it
is not sent but *held* — status ``held``, the reason in ``last_error``, shown
on Administration → Outgoing messages — and goes out by itself when the hour
allows (the sweep picks it up at ``next_attempt_at``). Nothing is dropped.
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy import func, or_, select

from kernel import runtime
from kernel.db import db, utcnow
from kernel.models.outbox import OutboxMessage

CHANNEL = "email"
COALESCE_OPTION = "HOOKDESK_MAIL_COALESCE_SECONDS"
RATE_OPTION = "HOOKDESK_MAIL_MAX_PER_HOUR"
DEFAULT_COALESCE_SECONDS = 60
DEFAULT_MAX_PER_HOUR = 30
MAX_PARTS = 50
HOUR = timedelta(hours=1)
OPEN = ("pending", "held")  # waiting letters that may still take more parts
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S | re.I)
_DROPPED = {  # the one sentence the kernel writes into a letter itself
    "ru": "Более ранних изменений не показано: {n}.",
    "en": "Earlier changes not shown: {n}.",
}


def coalesce_window() -> timedelta:
    return timedelta(seconds=max(0, int(runtime.config(COALESCE_OPTION,
                                                       DEFAULT_COALESCE_SECONDS) or 0)))


def max_per_hour() -> int:
    return max(0, int(runtime.config(RATE_OPTION, DEFAULT_MAX_PER_HOUR) or 0))


def address_of(recipient: str) -> str:
    """``"Ivan <Ivan@Example.ru>"`` -> ``ivan@example.ru``."""
    return (parseaddr(recipient or "")[1] or recipient or "").strip().lower()


def _to(address: str):
    """Rows whose recipient is ``address``, bare or with a display name."""
    escaped = address.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    lowered = func.lower(OutboxMessage.recipient)
    return or_(lowered == address, lowered.like(f"%<{escaped}>", escape="\\"))


# -- coalescing (at put) --------------------------------------------------------------


def before_put(recipient: str, payload: dict[str, Any], key: str, ref: str | None,
               not_before: datetime | None) -> tuple[OutboxMessage | None, datetime | None]:
    """Called by ``outbox.put`` for a new e-mail row, inside its unit of work.
    Returns ``(row, None)`` when the letter was merged into a waiting ``row``,
    else ``(None, when it may be sent)``."""
    window = coalesce_window()
    if not window or not ref or not ref.startswith("ticket:"):
        return None, not_before
    address = address_of(recipient)
    waiting = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.channel == CHANNEL, OutboxMessage.ref == ref,
               OutboxMessage.status.in_(OPEN), OutboxMessage.attempts == 0, _to(address))
        .order_by(OutboxMessage.id).limit(1).with_for_update()
        .execution_options(populate_existing=True)).first()
    if waiting is not None:
        waiting.payload = merge(waiting.payload or {}, payload)
        db.session.add(OutboxMessage(
            key=key[:200], channel=CHANNEL, recipient=recipient, ref=ref, status="merged",
            payload={**payload, "merged_into": waiting.id}, next_attempt_at=utcnow()))
        db.session.flush()
        return waiting, None
    latest = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.channel == CHANNEL, OutboxMessage.ref == ref,
               OutboxMessage.status.in_(("sent", "sending")), _to(address))
        .order_by(OutboxMessage.id.desc()).limit(1)).first()
    last = (latest.sent_at or latest.claimed_at or latest.created_at) if latest else None
    if last is not None and last + window > utcnow():
        hold = last + window
        not_before = max(not_before, hold) if not_before else hold
    return None, not_before


def _part(payload: dict[str, Any]) -> dict[str, Any]:
    return {"subject": payload.get("subject") or "", "body": payload.get("body") or "",
            "html": payload.get("html") or ""}


def merge(waiting: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The payload of one letter that lists the parts of ``waiting`` and ``new``."""
    parts = list(waiting.get("parts") or [_part(waiting)])
    parts.append(_part(new))
    dropped = int(waiting.get("parts_dropped") or 0)
    if len(parts) > MAX_PARTS:
        dropped += len(parts) - MAX_PARTS
        parts = parts[-MAX_PARTS:]
    locale = str(waiting.get("locale") or new.get("locale") or "en")
    note = _DROPPED.get(locale, _DROPPED["en"]).format(n=dropped) if dropped else ""
    text_blocks = [f"{p['subject']}\n\n{p['body'].strip()}" for p in parts]
    html_blocks = []
    for p in parts:
        inner = p["html"]
        match = _BODY.search(inner) if inner else None
        inner = match.group(1) if match else inner
        if not inner:
            inner = "<p>" + html_lib.escape(p["body"]).replace("\n", "<br>\n") + "</p>"
        html_blocks.append(f"<h3>{html_lib.escape(p['subject'])}</h3>\n{inner}")
    if note:
        text_blocks.insert(0, note)
        html_blocks.insert(0, f"<p><em>{html_lib.escape(note)}</em></p>")
    return {
        **waiting,
        "subject": parts[-1]["subject"] or waiting.get("subject") or "",
        "body": "\n\n-----\n\n".join(text_blocks) + "\n",
        "html": "<!doctype html><html><body>\n" + "\n<hr>\n".join(html_blocks)
                + "\n</body></html>",
        "parts": parts,
        "parts_dropped": dropped,
    }


# -- the hourly limit (at delivery) ------------------------------------------------------


def hold_until(row: OutboxMessage, already: int = 0) -> datetime | None:
    """When ``row`` (being sent now) may go out, if the hourly limit of its
    address is reached; None when it may go now. ``already``: letters to the
    same address the caller sent a moment ago and has not recorded yet."""
    limit = max_per_hour()
    if not limit or row.channel != CHANNEL:
        return None
    now = utcnow()
    sent = db.session.scalars(
        select(OutboxMessage.sent_at)
        .where(OutboxMessage.channel == CHANNEL, OutboxMessage.status == "sent",
               OutboxMessage.sent_at >= now - HOUR, OutboxMessage.id != row.id,
               _to(address_of(row.recipient)))
        .order_by(OutboxMessage.sent_at.desc()).limit(limit)).all()
    recent = sorted([now] * already + list(sent), reverse=True)[:limit]
    if len(recent) < limit:
        return None
    return min(recent) + HOUR


def held_reason(until: datetime) -> str:
    return (f"Held: {max_per_hour()} letters an hour to this address were sent already "
            f"({RATE_OPTION}); it goes out after {until:%Y-%m-%d %H:%M} UTC.")
