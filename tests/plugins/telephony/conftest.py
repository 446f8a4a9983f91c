"""Fixtures of the telephony plugin's tests: a customer with a phone, an agent
with an extension, the generic webhook configured, and a signed sender."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from kernel.services import customers, users
from plugins.telephony import config, generic

PHONE = "+79123456789"
OFFICE = "+74951234567"


@pytest.fixture
def caller(app):
    """A customer whose phone rings in (typed as people type it)."""
    return customers.create({"name": "Ирина Соколова", "phones": ["8 (912) 345-67-89"]})


@pytest.fixture
def operator(app):
    """An agent (who may see customers) with extension 101."""
    user = users.create({"email": "operator@test.example", "password": "operator-pass-1",
                         "roles": ["agent"], "name": "Оператор"})
    users.update_preferences(user, {"locale": "en", "timezone": "UTC"}, actor=user)
    config.set_extension(user.id, "101")
    return user


@pytest.fixture
def telephony(app):
    """The generic adapter configured; returns its values (the signing key)."""
    config.save("generic", {"callback_url": "http://127.0.0.1:9/call"})
    config.save("main", {"provider": "generic"})
    return config.values("generic")


@pytest.fixture
def send(client, telephony):
    """``send(event_dict, **options)`` POSTs a signed generic webhook."""

    def post(data, secret=None, timestamp=None, signature=None, body=None):
        raw = body if body is not None else json.dumps(data).encode()
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        sig = signature or generic.sign(secret or telephony["secret"], stamp, raw)
        return client.post("/telephony/webhooks/generic", data=raw,
                           headers={"Content-Type": "application/json",
                                    "X-Hookdesk-Timestamp": stamp,
                                    "X-Hookdesk-Signature": sig})

    return post


def event(kind, call_id="c-1", direction="in", **extra):
    data = {"call_id": call_id, "event": kind, "direction": direction, "from": PHONE,
            "to": OFFICE}
    data.update(extra)
    return data


@pytest.fixture
def ev():
    return SimpleNamespace(make=event, phone=PHONE, office=OFFICE)
