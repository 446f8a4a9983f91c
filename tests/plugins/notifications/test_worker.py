"""The real queue and real worker processes: a `hookdesk worker` killed (SIGKILL)
in the middle of an SMTP delivery; after the claim timeout another worker
delivers the letter, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from kernel import outbox
from kernel.db import db, utcnow
from kernel.models import OutboxMessage
from kernel.services import customers, tickets
from kernel.services.uow import unit_of_work
from kernel.testing import build_app
from web.testing import Mailbox, _free_port, _Handler

pytestmark = pytest.mark.slow


class _HangsOnce(_Handler):
    """The first DATA hangs until released, then is refused (nothing recorded)."""

    def __init__(self, box):
        super().__init__(box)
        self.entered, self.release, self.first = threading.Event(), threading.Event(), True

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.first:
            self.first = False
            self.entered.set()
            while not self.release.is_set():
                await __import__("asyncio").sleep(0.05)
            return "451 4.4.2 Connection lost"
        return await super().handle_DATA(server, session, envelope)


def _worker(env):
    return subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "hookdesk"), "worker", "-w", "1",
         "--no-periodic"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _status(app, row_id):
    with app.app_context():
        db.session.expire_all()
        return db.session.get(OutboxMessage, row_id).status


def test_a_worker_killed_mid_delivery_is_replaced_and_the_letter_arrives_once(tmp_path):
    box = Mailbox("127.0.0.1", _free_port())
    handler = _HangsOnce(box)
    controller = Controller(handler, hostname=box.host, port=box.port)
    controller.start()
    queue_url = f"sqlite:///{tmp_path}/queue.db"
    app = build_app(tmp_path, ("helpdesk", "notifications"),
                    {"HOOKDESK_QUEUE_URL": queue_url, "HOOKDESK_MAIL_URL": box.url})
    env = {**os.environ, "HOOKDESK_INSTANCE_PATH": app.instance_path,
           "HOOKDESK_DATABASE_URL": app.config["HOOKDESK_DATABASE_URL"],
           "HOOKDESK_QUEUE_URL": queue_url, "HOOKDESK_PLUGINS": "helpdesk,notifications",
           "HOOKDESK_SECRET_KEY": "test-secret", "HOOKDESK_MAIL_URL": box.url}
    first = _worker(env)
    second = None
    try:
        with app.app_context():
            customer = customers.create({"name": "Crash", "emails": ["crash@test.example"]})
            ticket = tickets.create({"subject": "Mid-delivery", "customer": customer.id})
            number = ticket.number
        assert handler.entered.wait(30), first.stdout.read1().decode() if first.poll() else ""
        with app.app_context():  # the worker rendered the letter from the event's row
            (row_id,) = db.session.scalars(db.select(OutboxMessage.id)
                                           .where(OutboxMessage.channel == "email")).all()
        assert _status(app, row_id) == "sending"
        first.send_signal(signal.SIGKILL)  # the worker dies in the middle of DATA
        first.wait(timeout=10)
        handler.release.set()
        time.sleep(0.3)
        assert box.messages == [] and _status(app, row_id) == "sending"
        second = _worker(env)
        with app.app_context():
            assert outbox.sweep() == 0  # claimed recently: not taken from a live worker
            with unit_of_work():
                db.session.execute(update(OutboxMessage).values(
                    claimed_at=utcnow() - outbox.CLAIM_TIMEOUT - timedelta(seconds=1)))
            assert outbox.sweep() == 1  # what the periodic outbox.sweep does every minute
        (message,) = box.wait(1, timeout=30)
        assert number in message["Subject"]
        deadline = time.monotonic() + 10
        while _status(app, row_id) != "sent" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _status(app, row_id) == "sent"
        time.sleep(0.5)
        assert len(box.messages) == 1
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=20)
        controller.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
