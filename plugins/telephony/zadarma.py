"""Zadarma, a cloud PBX of the Russian market, as its API documentation and its
official PHP library (github.com/zadarma/user-api-v1) describe it.

Incoming: Zadarma POSTs form fields to the notification URL
(``/telephony/webhooks/zadarma``) for each PBX event — ``NOTIFY_START``,
``NOTIFY_INTERNAL``, ``NOTIFY_ANSWER``, ``NOTIFY_END``, ``NOTIFY_OUT_START``,
``NOTIFY_OUT_END``, ``NOTIFY_RECORD`` — with a ``Signature`` header: Base64 of the
hexadecimal HMAC-SHA1, keyed with the API secret, of the event's fields joined
(``caller_id + called_did + call_start`` for start and end, ``caller_id +
destination + call_start`` for answer, ``internal + destination + call_start`` for
outgoing calls, ``pbx_call_id + call_id_with_rec`` for a recording). When the URL is
saved Zadarma checks it with ``GET ?zd_echo=<text>``, expecting the text back.
The scheme carries no timestamp of the request, so the same event of the same call
(by ``pbx_call_id``) is accepted once; repeats are acknowledged and ignored.

Outgoing (click-to-call): ``GET /v1/request/callback/?from=<extension>&to=<number>``
— Zadarma rings the agent's extension, then the number. Requests are signed with
``Authorization: <key>:<Base64 of hex HMAC-SHA1 of method + query + md5(query)>``,
the query sorted by name and form-encoded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import requests

from kernel.errors import ValidationFailed
from kernel.i18n import N_
from plugins.telephony.calls import CallEvent, CallFailed

PROVIDER = "zadarma"
TIMEOUT_SECONDS = 10
CALLBACK_METHOD = "/v1/request/callback/"
# Which fields each event signs, and what it means for the call.
EVENTS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "NOTIFY_START": (("caller_id", "called_did", "call_start"), "in", "start"),
    "NOTIFY_INTERNAL": (("caller_id", "called_did", "call_start"), "in", "start"),
    "NOTIFY_ANSWER": (("caller_id", "destination", "call_start"), "in", "answer"),
    "NOTIFY_END": (("caller_id", "called_did", "call_start"), "in", "end"),
    "NOTIFY_OUT_START": (("internal", "destination", "call_start"), "out", "start"),
    "NOTIFY_OUT_END": (("internal", "destination", "call_start"), "out", "end"),
    "NOTIFY_RECORD": (("pbx_call_id", "call_id_with_rec"), "", "record"),
}


class SignatureRefused(Exception):
    pass


def encode_signature(secret: str, text: str) -> str:
    """Zadarma's ``encodeSignature``: Base64 of the *hex* HMAC-SHA1 digest."""
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def verify(secret: str, form: dict[str, str], signature: str) -> str:
    """Check an event's signature; returns its fingerprint (one per call and event)."""
    event = form.get("event", "")
    if event not in EVENTS:
        raise ValidationFailed({"event": f"Unknown Zadarma event {event!r}."})
    if not secret:
        raise SignatureRefused("The Zadarma API secret is not set.")
    fields, _direction, _kind = EVENTS[event]
    expected = encode_signature(secret, "".join(form.get(f, "") for f in fields))
    if not signature or not hmac.compare_digest(expected, signature):
        raise SignatureRefused("The signature does not match.")
    return hashlib.sha256(
        f"{PROVIDER}:{event}:{form.get('pbx_call_id', '')}:{signature}".encode()).hexdigest()


def _at(raw: str, zone: str) -> datetime | None:
    if not raw:
        return None
    try:
        local = datetime.strptime(raw.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise ValidationFailed({"call_start": "Expected YYYY-MM-DD HH:MM:SS."}) from None
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def parse(form: dict[str, str], zone: str = "Europe/Moscow",
          now: datetime | None = None) -> CallEvent:
    """A verified event -> a ``CallEvent``. Zadarma gives the call's start time
    (in the account's time zone) and, at the end, its duration; the moment of an
    answer is when it arrives; the end is the start plus the duration."""
    event = form["event"]
    _fields, direction, kind = EVENTS[event]
    call_id = form.get("pbx_call_id", "")
    started = _at(form.get("call_start", ""), zone)
    duration = None
    if form.get("duration", "").strip():
        if not form["duration"].strip().isdigit():
            raise ValidationFailed({"duration": "Whole seconds."})
        duration = int(form["duration"])
    at = started
    if kind == "answer":
        at = now
    elif kind == "end":
        at = None if started is None or duration is None else \
            started + timedelta(seconds=duration)
    if direction == "out":
        source, target = form.get("internal", ""), form.get("destination", "")
    else:
        source = form.get("caller_id", "")
        target = form.get("called_did", "") or form.get("destination", "")
    extension = form.get("internal", "") if kind in ("answer", "end") or direction == "out" \
        else ""
    return CallEvent(
        provider=PROVIDER, call_id=call_id, kind=kind, direction=direction or None,
        from_number=source, to_number=target if kind != "answer" else "",
        extension=extension, at=at, duration=duration,
        disposition=(form.get("disposition") or "").strip().lower(),
        recorded=kind == "record" or form.get("is_recorded") == "1",
    )


def _auth(key: str, secret: str, method: str, params: dict[str, Any]) -> str:
    query = urlencode(sorted(params.items()))
    text = method + query + hashlib.md5(query.encode()).hexdigest()
    return f"{key}:{encode_signature(secret, text)}"


RECORD_METHOD = "/v1/pbx/record/request/"


def recording_link(values: dict[str, Any], pbx_call_id: str, session=None) -> str:
    """A short-lived link to a call's recording (``pbx/record/request`` by the call's
    ``pbx_call_id``); raises ``CallFailed`` saying why not."""
    params = {"pbx_call_id": pbx_call_id, "format": "json"}
    headers = {"Authorization": _auth(values["api_key"], values["api_secret"], RECORD_METHOD,
                                      params)}
    url = values["api_url"].rstrip("/") + RECORD_METHOD
    try:
        response = (session or requests).get(url, params=sorted(params.items()),
                                             headers=headers, timeout=TIMEOUT_SECONDS)
        answer = response.json()
    except requests.RequestException as exc:
        raise CallFailed(N_("Zadarma did not answer."), type(exc).__name__) from exc
    except ValueError:
        answer = {}
    if not isinstance(answer, dict) or answer.get("status") != "success":
        message = answer.get("message") if isinstance(answer, dict) else None
        raise CallFailed(N_("Zadarma has no recording of this call."),
                         str(message or response.status_code))
    links = [answer.get("link")] if answer.get("link") else list(answer.get("links") or [])
    if not links or not str(links[0]).startswith("https://"):
        raise CallFailed(N_("Zadarma has no recording of this call."))
    return str(links[0])


def originate(values: dict[str, Any], extension: str, number: str, session=None) -> str:
    """Zadarma's callback: ring ``extension``, then ``number``. Returns our id for
    the call; raises ``CallFailed`` saying why not."""
    params = {"from": extension, "to": "".join(ch for ch in number if ch.isdigit()),
              "format": "json"}
    headers = {"Authorization": _auth(values["api_key"], values["api_secret"],
                                      CALLBACK_METHOD, params)}
    url = values["api_url"].rstrip("/") + CALLBACK_METHOD
    try:
        response = (session or requests).get(url, params=sorted(params.items()),
                                             headers=headers, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise CallFailed(N_("Zadarma did not answer."), type(exc).__name__) from exc
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code >= 400 or not isinstance(answer, dict) or \
            answer.get("status") != "success":
        message = answer.get("message") if isinstance(answer, dict) else None
        raise CallFailed(N_("Zadarma refused the call."), str(message or response.status_code))
    return f"callback-{uuid.uuid4().hex}"
