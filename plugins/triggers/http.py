"""The ``triggers.http`` channel: a rule's webhook action, POSTed as JSON.

The body is ``{"id": <idempotency key>, "rule", "event", "ticket", "extra"}``;
headers ``Idempotency-Key`` and ``X-Hookdesk-Delivery`` carry the key (the
receiver drops a repeat), and with a ``secret`` the body is signed like the
webhooks plugin's deliveries: ``X-Hookdesk-Timestamp`` and
``X-Hookdesk-Signature: sha256=HMAC_SHA256(secret, timestamp + "." + body)``.
2xx is success; a network error, 408, 425, 429 and 5xx are retried by the
outbox; any other answer (a redirect too: none is followed) is a permanent
failure. The call goes through ``kernel.netguard``: an internal address (after
DNS resolution) is refused unless ``HOOKDESK_WEBHOOK_ALLOW`` allows it, and only
the status and time of the answer are logged, never its body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import requests

from kernel import netguard, outbox

TIMEOUT_SECONDS = 10
RETRY_STATUSES = {408, 425, 429}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def send(recipient: str, subject: str, body: str, context: dict, session=None) -> None:
    key = context["idempotency_key"]
    raw = json.dumps({"id": key, **(context.get("data") or {})}, ensure_ascii=False,
                     separators=(",", ":"), default=str).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Hookdesk-Triggers/1",
        "Idempotency-Key": key,
        "X-Hookdesk-Delivery": key,
    }
    if context.get("secret"):
        timestamp = str(int(time.time()))
        headers["X-Hookdesk-Timestamp"] = timestamp
        headers["X-Hookdesk-Signature"] = sign(context["secret"], timestamp, raw)
    try:
        answer = netguard.post(recipient, raw, headers, TIMEOUT_SECONDS, http=session)
    except netguard.DestinationRefused as exc:
        raise outbox.PermanentFailure(f"Refused: {exc}") from exc
    except requests.RequestException as exc:
        raise outbox.TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
    status = answer.status
    if 200 <= status < 300:
        return
    message = answer.describe()  # the status and time only: never the answer's body
    if 300 <= status < 400:
        message += ": redirects are not followed."
    if status >= 500 or status in RETRY_STATUSES:
        raise outbox.TemporaryFailure(message)
    raise outbox.PermanentFailure(message)
