"""The development gateway: "sends" by writing a row the admin page shows
(``/admin/sms/dev``), where a delivery report can be played back by hand.
Keyed by the outbox's idempotency key, so a repeat never makes a second row."""

from __future__ import annotations

from kernel.db import db
from kernel.services.uow import unit_of_work
from plugins.sms import segments
from plugins.sms.models import SmsDevMessage


class DevGateway:
    key = "dev"

    def __init__(self, sender: str = ""):
        self.sender = sender

    def send(self, phone: str, text: str, key: str) -> list[str]:
        existing = db.session.scalar(db.select(SmsDevMessage)
                                     .where(SmsDevMessage.idempotency_key == key))
        if existing is not None:
            return [existing.provider_id]
        with unit_of_work():
            row = SmsDevMessage(idempotency_key=key, phone=phone, sender=self.sender[:20],
                                body=text, parts=segments.count(text).parts,
                                provider_id=f"dev-{key}"[:40])
            db.session.add(row)
            db.session.flush()
            row.provider_id = f"dev-{row.id}"
        return [row.provider_id]
