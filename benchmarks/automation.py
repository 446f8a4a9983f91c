"""(c) The rule engine and (d) e-mail delivery delay on the embedded queue.

(c) Events per second through ``tickets.create`` + ``tickets.update`` (two history
events each) with the triggers plugin enabled: with no rules (the baseline) and
with 1,000 active rules on those events, all but one not matching.

(d) Delay from the commit of an outbox e-mail to its arrival at a real SMTP
server on loopback, delivered by a real ``hookdesk worker`` process over the
SQLite-backed queue (the embedded default): median and 99th percentile.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from benchmarks.common import app_context, make_agent, ratio, table, title

PLUGINS = ("helpdesk", "triggers")


def _app(root: str, name: str, extra: dict | None = None):
    from kernel.testing import build_app

    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    return build_app(folder, plugins=PLUGINS, extra_config=extra)


def _rules(count: int) -> None:
    from plugins.triggers import service

    for i in range(count - 1):
        service.create({
            "name": f"Not matching {i}", "events": ["created", "fields_changed"],
            "conditions": {"all": [{"field": "subject", "op": "is", "value": f"nope {i}"}]},
            "actions": [{"action": "triggers.set_fields", "params": {"values": {"urgent": True}}}],
        })
    service.create({
        "name": "Matching", "events": ["created"],
        "conditions": {"all": [{"field": "subject", "op": "contains", "value": "bench"}]},
        "actions": [{"action": "triggers.add_note", "params": {"body": "seen"}}],
    })


def _events_per_second(app, tickets: int) -> float:
    from kernel.services import tickets as service

    with app_context(app):
        agent = make_agent()
        start = time.perf_counter()
        for n in range(tickets):
            ticket = service.create({"subject": f"bench {n}", "queue": "technical"}, actor=agent)
            service.update(ticket, {"queue": "billing"}, actor=agent)
        elapsed = time.perf_counter() - start
    return 2 * tickets / elapsed


def rule_engine(root: str, tickets: int) -> None:
    title(f"(c) rule engine: {2 * tickets:,} events, 1,000 rules vs none")
    bare = _app(root, "rules-none")
    loaded = _app(root, "rules-1000")
    with app_context(loaded):
        _rules(1000)
    none_eps = _events_per_second(bare, tickets)
    many_eps = _events_per_second(loaded, tickets)
    table([("no rules", f"{none_eps:,.0f}", "1.00x"),
           ("1,000 rules", f"{many_eps:,.0f}", f"{none_eps / many_eps:.2f}x slower")],
          ("rules", "events/s", "vs no rules"))


def mail_delay(root: str, messages: int) -> None:
    from aiosmtpd.controller import Controller

    from web.testing import Mailbox, _free_port, _Handler

    title(f"(d) commit -> SMTP delivery on the embedded queue, {messages} e-mails")
    arrived: dict[str, float] = {}

    class Timed(_Handler):
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            answer = await super().handle_DATA(server, session, envelope)
            arrived[self.box.messages[-1]["Subject"]] = time.time()
            return answer

    box = Mailbox("127.0.0.1", _free_port())
    smtp = Controller(Timed(box), hostname=box.host, port=box.port)
    smtp.start()
    queue_url = f"sqlite:///{root}/mail-queue.db"
    app = _app(root, "mail", {"HOOKDESK_QUEUE_URL": queue_url, "HOOKDESK_MAIL_URL": box.url})
    env = {**os.environ, "HOOKDESK_INSTANCE_PATH": app.instance_path,
           "HOOKDESK_DATABASE_URL": app.config["HOOKDESK_DATABASE_URL"],
           "HOOKDESK_QUEUE_URL": queue_url, "HOOKDESK_MAIL_URL": box.url,
           "HOOKDESK_PLUGINS": ",".join(PLUGINS), "HOOKDESK_SECRET_KEY": "bench"}
    worker = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "hookdesk"), "worker", "-w", "2",
         "--no-periodic"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    committed: dict[str, float] = {}
    try:
        time.sleep(3)  # let the worker start
        from kernel import outbox
        from kernel.services.uow import unit_of_work

        with app_context(app):
            for n in range(messages):
                subject = f"bench-{n}"
                with unit_of_work():
                    outbox.put("email", "someone@example.com",
                               {"subject": subject, "body": "hello"}, key=f"bench-{n}")
                committed[subject] = time.time()
                time.sleep(0.05)  # a steady trickle, not a burst: this measures delay
        deadline = time.time() + 60
        while len(arrived) < messages and time.time() < deadline:
            time.sleep(0.05)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        smtp.stop()
    delays = sorted(arrived[s] - committed[s] for s in committed if s in arrived)
    if len(delays) < messages:
        print(f"only {len(delays)} of {messages} arrived within 60 s")
    if delays:
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        table([("median", f"{statistics.median(delays) * 1000:.0f}"),
               ("99th percentile", f"{p99 * 1000:.0f}"),
               ("max", f"{delays[-1] * 1000:.0f}")], ("commit -> SMTP", "ms"))


def mail_burst(root: str, messages: int) -> None:
    """(f) What 50 users produce in a minute (about 1,500 letters), committed as fast
    as possible, ten to a transaction: how long a real ``hookdesk worker`` on the
    SQLite queue takes to hand them all to SMTP, against sending the same letters
    straight to the same server (a connection each, as the transport does)."""
    import smtplib
    from email.message import EmailMessage

    from aiosmtpd.controller import Controller

    from web.testing import Mailbox, _free_port, _Handler

    title(f"(f) a burst of {messages} letters through the outbox on the embedded queue")
    box = Mailbox("127.0.0.1", _free_port())
    smtp = Controller(_Handler(box), hostname=box.host, port=box.port)
    smtp.start()
    try:
        started = time.perf_counter()
        for n in range(messages):
            mail = EmailMessage()
            mail["Subject"], mail["From"], mail["To"] = f"raw-{n}", "a@example.com", "b@example.com"
            mail.set_content("hello")
            with smtplib.SMTP(box.host, box.port) as client:
                client.send_message(mail)
        baseline = time.perf_counter() - started
        box.messages.clear()
        queue_url = f"sqlite:///{root}/burst-queue.db"
        app = _app(root, "burst", {"HOOKDESK_QUEUE_URL": queue_url, "HOOKDESK_MAIL_URL": box.url})
        env = {**os.environ, "HOOKDESK_INSTANCE_PATH": app.instance_path,
               "HOOKDESK_DATABASE_URL": app.config["HOOKDESK_DATABASE_URL"],
               "HOOKDESK_QUEUE_URL": queue_url, "HOOKDESK_MAIL_URL": box.url,
               "HOOKDESK_PLUGINS": ",".join(PLUGINS), "HOOKDESK_SECRET_KEY": "bench"}
        worker = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "hookdesk"), "worker", "-w", "2",
             "--no-periodic"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(3)  # let the worker start
            from kernel import outbox
            from kernel.services.uow import unit_of_work

            started = time.perf_counter()
            with app_context(app):
                for first in range(0, messages, 10):
                    with unit_of_work():
                        for n in range(first, min(first + 10, messages)):
                            outbox.put("email", "someone@example.com",
                                       {"subject": f"burst-{n}", "body": "hello"},
                                       key=f"burst-{n}")
            committed = time.perf_counter() - started
            deadline = time.perf_counter() + 300
            while len(box.messages) < messages and time.perf_counter() < deadline:
                time.sleep(0.05)
            drained = time.perf_counter() - started
        finally:
            worker.terminate()
            worker.wait(timeout=20)
    finally:
        smtp.stop()
    arrived = len(box.messages)
    table([("straight to SMTP (baseline)", f"{baseline:.2f}", f"{messages / baseline:.0f}",
            "1.00x"),
           (f"outbox + worker ({arrived} arrived)", f"{drained:.2f}",
            f"{arrived / drained:.0f}", ratio(drained, baseline))],
          ("letters", "s", "letters/s", "vs baseline"))
    print(f"all {messages} committed after {committed:.2f} s; "
          f"{'all' if arrived == messages else f'only {arrived}'} sent after {drained:.2f} s")


def run(root: str, quick: bool) -> None:
    rule_engine(root, 100 if quick else 500)
    mail_delay(root, 50 if quick else 200)
    mail_burst(root, 300 if quick else 1500)
