"""The generic adapter: our own JSON webhook for any PBX that can send HTTP, and
click-to-call through an HTTP endpoint the deployment names.

Incoming: ``POST /telephony/webhooks/generic`` with a JSON body::

    {"call_id": "a1b2", "event": "start", "direction": "in",
     "from": "+79123456789", "to": "+74951234567", "extension": "101",
     "at": "2026-12-03T10:15:00Z", "duration": 42, "outcome": "answered",
     "recording_url": "https://pbx.example/rec/a1b2.mp3"}

signed with the key shown on the admin page: ``X-Hookdesk-Timestamp`` (Unix
seconds) and ``X-Hookdesk-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<body>">`` — the scheme of Hookdesk's own outgoing webhooks. A
timestamp outside the window is refused; the same signed request twice is a
replay and refused; the same event sent again with a fresh signature changes
nothing (calls merge idempotently by ``call_id``).

Outgoing (click-to-call): a POST of ``{"extension", "to", "agent", "request_id"}``
to the configured URL, signed the same way; a 2xx answer accepts the call, and a
``call_id`` in its JSON names it (else ``request_id`` does).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import requests

from kernel.errors import ValidationFailed
from kernel.i18n import N_
from plugins.telephony.calls import CallEvent, CallFailed

PROVIDER = "generic"
TIMEOUT_SECONDS = 10


class SignatureRefused(Exception):
    """The request is not ours: bad or missing signature, or a stale timestamp."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, signature: str, body: bytes, window: int,
           now: float | None = None) -> str:
    """Check the signature and the timestamp window; returns the request's fingerprint
    (for refusing a replay). Raises ``SignatureRefused`` saying why."""
    if not secret:
        raise SignatureRefused("The generic webhook has no signing key yet.")
    if not timestamp or not timestamp.isdigit():
        raise SignatureRefused("X-Hookdesk-Timestamp (Unix seconds) is missing.")
    if abs((now if now is not None else time.time()) - int(timestamp)) > window:
        raise SignatureRefused(f"The timestamp is more than {window} s away from now.")
    if not signature or not hmac.compare_digest(sign(secret, timestamp, body), signature):
        raise SignatureRefused("The signature does not match.")
    return hashlib.sha256(f"{PROVIDER}:{timestamp}:{signature}".encode()).hexdigest()


def _at(raw: Any) -> datetime | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return datetime.fromtimestamp(raw, UTC)
    try:
        value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed({"at": "An ISO 8601 time or Unix seconds."}) from None
    if value.tzinfo is None:
        raise ValidationFailed({"at": "Give the time zone (e.g. Z or +03:00)."})
    return value.astimezone(UTC)


OUTCOME_WORDS = {"answered": "answered", "busy": "busy", "missed": "no answer"}


def parse(body: bytes) -> CallEvent:
    """The JSON body -> a ``CallEvent``; ``ValidationFailed`` names bad fields."""
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed({"_schema": "The body is not JSON."}) from None
    if not isinstance(data, dict):
        raise ValidationFailed({"_schema": "Expected a JSON object."})
    errors: dict[str, str] = {}
    for key in ("call_id", "event", "direction"):
        if not isinstance(data.get(key), str) or not data.get(key):
            errors[key] = "This field is required."
    duration = data.get("duration")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int)):
        errors["duration"] = "Whole seconds."
    for key in ("from", "to", "extension", "outcome", "recording_url"):
        if data.get(key) is not None and not isinstance(data.get(key), str | int):
            errors[key] = "Expected a string."
    if errors:
        raise ValidationFailed(errors)
    outcome = str(data.get("outcome") or "")
    return CallEvent(
        provider=PROVIDER, call_id=data["call_id"], kind=data["event"],
        direction=data["direction"], from_number=str(data.get("from") or ""),
        to_number=str(data.get("to") or ""), extension=str(data.get("extension") or ""),
        at=_at(data.get("at")), duration=duration,
        disposition=OUTCOME_WORDS.get(outcome, outcome),
        recording_url=str(data.get("recording_url") or ""),
    )


def originate(values: dict[str, Any], extension: str, number: str, agent_email: str,
              session=None) -> str:
    """Ask the deployment's endpoint to connect ``extension`` with ``number``;
    returns the call id. Raises ``CallFailed`` saying why not."""
    request_id = uuid.uuid4().hex
    body = json.dumps({"extension": extension, "to": number, "agent": agent_email,
                       "request_id": request_id}, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    try:
        response = (session or requests).post(
            values["callback_url"], data=body, timeout=TIMEOUT_SECONDS, allow_redirects=False,
            headers={"Content-Type": "application/json", "User-Agent": "Hookdesk-Telephony/1",
                     "X-Hookdesk-Timestamp": timestamp,
                     "X-Hookdesk-Signature": sign(values["secret"], timestamp, body)})
    except requests.RequestException as exc:
        raise CallFailed(N_("The telephony endpoint did not answer."),
                         type(exc).__name__) from exc
    if not 200 <= response.status_code < 300:
        raise CallFailed(N_("The telephony endpoint refused the call."),
                         f"HTTP {response.status_code} {response.text[:200]}")
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    call_id = answer.get("call_id") if isinstance(answer, dict) else None
    return str(call_id or request_id)[:200]
