"""The embedded queue end to end: a real `hookdesk worker` process delivers what
the web process committed, through the SQLite-backed queue."""

import os
import subprocess
import sys
import time

from webhook_receiver import Receiver

from kernel.services import tickets
from kernel.testing import build_app
from plugins.webhooks import service


def test_worker_process_delivers(tmp_path):
    queue_url = f"sqlite:///{tmp_path}/queue.db"
    app = build_app(tmp_path, ("helpdesk", "webhooks"), {"HOOKDESK_QUEUE_URL": queue_url,
                                                     "HOOKDESK_WEBHOOK_ALLOW": "127.0.0.1"})
    receiver = Receiver()
    env = {
        **os.environ,
        "HOOKDESK_INSTANCE_PATH": app.instance_path,
        "HOOKDESK_DATABASE_URL": app.config["HOOKDESK_DATABASE_URL"],
        "HOOKDESK_QUEUE_URL": queue_url,
        "HOOKDESK_PLUGINS": "helpdesk,webhooks",
        "HOOKDESK_SECRET_KEY": "test-secret",
        "HOOKDESK_WEBHOOK_ALLOW": "127.0.0.1",
    }
    worker = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "hookdesk"), "worker", "-w", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        with app.app_context():
            service.create({"url": receiver.url, "events": ["created"]})
            ticket = tickets.create({"subject": "Through the worker"})
            number = ticket.number
        deadline = time.monotonic() + 30
        while not receiver.calls and time.monotonic() < deadline:
            time.sleep(0.2)
        assert receiver.calls, worker.stdout.read1().decode() if worker.poll() else "no delivery"
        assert number.encode() in receiver.calls[0][1]
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        receiver.close()
        with app.app_context():
            from kernel.db import db

            db.session.remove()
            db.engine.dispose()
