"""The everyday API mix of a helpdesk under load (``make load``).

5 agents and N customers, each with their own token: customers create tickets,
read their lists, open and answer their tickets; agents read the open tickets,
open and answer them. Every create carries a unique tag in its subject, and what
the server acknowledged or refused is written to ``HOOKDESK_LOAD_LEDGER`` when
the run stops, so the driver can check the database afterwards.

Tokens come from ``HOOKDESK_LOAD_TOKENS`` (JSON: {"agents": [...], "customers": [...]}),
written by ``python -m benchmarks.load``. Only loopback hosts are allowed.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import uuid
from urllib.parse import urlparse

from locust import HttpUser, between, events, task

with open(os.environ["HOOKDESK_LOAD_TOKENS"], encoding="utf-8") as _fh:
    _tokens = json.load(_fh)
_agent_tokens = itertools.cycle(_tokens["agents"])
_customer_tokens = itertools.cycle(_tokens["customers"])
_pick = threading.Lock()
_ledger: dict = {"acknowledged": [], "refused": [], "unknown": [], "status": {}}


@events.request.add_listener
def _count_status(response=None, **_kwargs):
    code = str(getattr(response, "status_code", 0) or 0)
    _ledger["status"][code] = _ledger["status"].get(code, 0) + 1


@events.test_start.add_listener
def _loopback_only(environment, **_kwargs):
    host = urlparse(environment.host or "").hostname or ""
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        raise SystemExit(f"refusing to load {host!r}: the load test targets loopback only")


@events.test_stop.add_listener
def _write_ledger(**_kwargs):
    path = os.environ.get("HOOKDESK_LOAD_LEDGER")
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(_ledger, fh)


class _ApiUser(HttpUser):
    abstract = True
    wait_time = between(0.5, 1.5)
    token_source = _agent_tokens

    def on_start(self):
        with _pick:
            token = next(self.token_source)
        self.client.headers.update({"Authorization": f"Bearer {token}"})
        self.known: list[int] = []

    def _list(self, params: str, name: str) -> None:
        with self.client.get(f"/api/v1/tickets?{params}", name=name,
                             catch_response=True) as response:
            if response.status_code == 200:
                ids = [t["id"] for t in response.json()["items"]]
                if ids:
                    self.known = ids[:20]
                response.success()

    def _open(self, name: str) -> None:
        if self.known:
            self.client.get(f"/api/v1/tickets/{random.choice(self.known)}", name=name)

    def _reply(self, name: str) -> None:
        if self.known:
            ticket = random.choice(self.known)
            self.client.post(f"/api/v1/tickets/{ticket}/messages", name=name,
                             json={"body": f"reply {uuid.uuid4().hex[:8]}"})


class Customer(_ApiUser):
    weight = 10
    token_source = _customer_tokens

    @task(3)
    def create(self):
        tag = uuid.uuid4().hex
        with self.client.post("/api/v1/tickets", name="create", catch_response=True,
                              json={"type": "request",
                                    "values": {"subject": f"load {tag}",
                                               "text": "The intercom does not work."}}) as response:
            if response.status_code == 201:
                _ledger["acknowledged"].append(tag)
                self.known.append(response.json()["id"])
                response.success()
            elif response.status_code == 0:  # no answer: may or may not have landed
                _ledger["unknown"].append(tag)
            else:
                _ledger["refused"].append(tag)

    @task(4)
    def my_tickets(self):
        self._list("per_page=20", "list (customer)")

    @task(3)
    def open_ticket(self):
        self._open("open (customer)")

    @task(2)
    def reply(self):
        self._reply("reply (customer)")


class Agent(_ApiUser):
    fixed_count = 5
    token_source = _agent_tokens

    @task(4)
    def open_tickets(self):
        self._list("state=open&sort=-created_at&per_page=50", "list (agent)")

    @task(3)
    def open_ticket(self):
        self._open("open (agent)")

    @task(3)
    def reply(self):
        self._reply("reply (agent)")
