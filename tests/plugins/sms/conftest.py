"""Fixtures of the SMS plugin's tests: loopback gateways and a configured app."""

from __future__ import annotations

import pytest
from loopback import SmppServer, SmsRuServer


@pytest.fixture
def configure(app):
    """``configure("dev", sender="Hookdesk", ...)``: the live settings, as the admin sets them."""
    from kernel.services import settings

    def apply(gateway: str, **options):
        settings.set("sms.gateway", gateway)
        for key, value in options.items():
            settings.set(f"sms.{key}", value)

    return apply


@pytest.fixture
def dev(configure):
    configure("dev", sender="Hookdesk")


@pytest.fixture
def smsru(configure):
    server = SmsRuServer()
    configure("smsru", smsru_api_id="test-api-id", smsru_url=server.url, sender="Hookdesk")
    yield server
    server.close()


@pytest.fixture
def smpp(configure):
    server = SmppServer()
    configure("smpp", smpp_host="127.0.0.1", smpp_port=server.port, smpp_system_id="hookdesk",
              smpp_password="secret", sender="Hookdesk")
    yield server
    server.close()


@pytest.fixture
def ticket(app, agent, make_ticket):
    from kernel.services import customers

    person = customers.create({"name": "Ирина Соколова", "phones": ["8 (912) 345-67-89"]})
    return make_ticket(actor=agent, subject="Не работает домофон", customer=person.id)
