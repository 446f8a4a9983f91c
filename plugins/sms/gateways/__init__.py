"""SMS gateways as adapters: ``dev`` (a table shown in the admin), ``smsru``
(SMS.ru's HTTP API) and ``smpp`` (any SMSC speaking SMPP 3.4, through smpplib).

Each adapter's ``send(phone, text, key)`` hands one message to the gateway and
returns the ids the gateway gave it (one per part for SMPP, one for the whole
message for SMS.ru and dev). It raises ``outbox.TemporaryFailure`` when trying
again later may work (connection refused, timeout, throttling, HTTP 5xx) and
``outbox.PermanentFailure`` when it never will (a number the gateway refuses).
The gateway in use and its options are live settings (``sms.*``, the admin page
``/admin/sms``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from kernel.services import settings

GATEWAYS = ("dev", "smsru", "smpp")
# What each gateway needs before it counts as configured (T3).
REQUIRED = {"dev": (), "smsru": ("sms.smsru_api_id", "sms.smsru_url"),
            "smpp": ("sms.smpp_host", "sms.smpp_port", "sms.smpp_system_id")}


@dataclass(frozen=True)
class Report:
    """A delivery report: the gateway's id of a part and what became of it."""

    provider_id: str
    status: str  # sent | delivered | undelivered
    detail: str = ""


class Gateway(Protocol):
    key: str

    def send(self, phone: str, text: str, key: str) -> list[str]: ...


def chosen() -> str:
    value = settings.get("sms.gateway") or ""
    return value if value in GATEWAYS else ""


def is_configured() -> bool:
    key = chosen()
    return bool(key) and all(str(settings.get(name) or "").strip() for name in REQUIRED[key])


def options() -> dict[str, Any]:
    names = ("sender", "smsru_api_id", "smsru_url", "smsru_test", "smpp_host", "smpp_port",
             "smpp_system_id", "smpp_password", "smpp_system_type", "smpp_tls")
    return {name: settings.get(f"sms.{name}") for name in names}


def current() -> Gateway | None:
    """The configured gateway, or None."""
    if not is_configured():
        return None
    key, opts = chosen(), options()
    if key == "dev":
        from plugins.sms.gateways.dev import DevGateway

        return DevGateway(sender=opts["sender"] or "")
    if key == "smsru":
        from plugins.sms.gateways.smsru import SmsRu

        return SmsRu(api_id=str(opts["smsru_api_id"]), base_url=str(opts["smsru_url"]),
                     sender=opts["sender"] or "", test=bool(opts["smsru_test"]))
    from plugins.sms.gateways.smpp import SmppGateway

    return SmppGateway(host=str(opts["smpp_host"]), port=int(opts["smpp_port"]),
                       system_id=str(opts["smpp_system_id"]),
                       password=str(opts["smpp_password"] or ""),
                       system_type=str(opts["smpp_system_type"] or ""),
                       sender=opts["sender"] or "")
