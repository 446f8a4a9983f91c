"""Demo data: users every plugin can build on, then each plugin's own data.

Each plugin's data is loaded once per database (marked by a ``demo.loaded.<name>``
setting), so ``hookdesk demo`` may run at every ``make run``.
"""

from __future__ import annotations

import random
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kernel.db import db, utcnow
from kernel.models import Customer, Setting, User
from kernel.plugins import PluginHost
from kernel.services import customers, users
from kernel.services.uow import unit_of_work

# The demo's people live on example.com (RFC 2606: it never receives mail). Their
# addresses are recorded at load under this key, and the e-mail channel never
# sends to them: ``make run`` with a real relay must not write to them.
DEMO_DOMAIN = "example.com"
SUPPRESSED_KEY = "demo.mail_suppressed"

DEMO_LOGINS = [
    ("admin@example.com", "admin-demo-1", "agent", ["admin"], "Анна Админова"),
    ("agent@example.com", "agent-demo-1", "agent", ["agent"], "Игорь Агентов"),
    ("customer@example.com", "customer-demo-1", "customer", [], "Мария Покупателева"),
]


@dataclass
class DemoContext:
    """What a plugin's ``hookdesk_load_demo_data`` receives."""

    admin: User
    agent: User
    customer_user: User
    customers: list[Customer]
    now: datetime
    rng: random.Random
    extra: dict[str, Any] = field(default_factory=dict)


def _ensure_user(email, password, kind, roles, name) -> User:
    user = users.by_email(email)
    if user is None:
        user = users.create({"email": email, "password": password, "kind": kind,
                             "roles": roles, "name": name})
    return user


_loading: ContextVar[bool] = ContextVar("hookdesk_demo_loading", default=False)


def load(host: PluginHost) -> list[tuple[str, str, str]]:
    """Load what is missing; return the demo logins ``(email, password, role)``."""
    token = _loading.set(True)  # letters sent while loading: to people not recorded yet
    try:
        return _load(host)
    finally:
        _loading.reset(token)


def _load(host: PluginHost) -> list[tuple[str, str, str]]:
    made = [_ensure_user(*row) for row in DEMO_LOGINS]
    admin, agent, customer_user = made
    if customer_user.customer and not customer_user.customer.phones:
        customers.update(customer_user.customer, {"phones": ["+7 912 345-67-89"]})
    people = [customer_user.customer]
    for name, phone in [("Пётр Иванов", "+7 903 111-22-33"),
                        ("Ольга Смирнова", "+7 916 555-44-33")]:
        existing = db.session.scalar(db.select(Customer).where(Customer.name == name))
        people.append(existing or customers.create({"name": name, "phones": [phone]}))
    ctx = DemoContext(admin, agent, customer_user, people, utcnow(), random.Random(42))
    for name in sorted(["kernel", *host.enabled]):
        marker = f"demo.loaded.{name}"
        if db.session.get(Setting, marker) is not None:
            continue
        impls = [i for i in host.pm.hook.hookdesk_load_demo_data.get_hookimpls()
                 if i.plugin_name == name]
        with unit_of_work():
            for impl in impls:
                impl.function(**{arg: ctx for arg in impl.argnames})
            db.session.add(Setting(key=marker, value=True))
    with unit_of_work():
        _record_addresses()
    return [(email, password, roles[0] if roles else kind)
            for email, password, kind, roles, _n in DEMO_LOGINS]


def _record_addresses() -> None:
    """Remember every address on the demo domain (its users' and its customers')."""
    from kernel.models import CustomerEmail

    suffix = "@" + DEMO_DOMAIN
    found = set(db.session.scalars(db.select(User.email).where(User.email.endswith(suffix))))
    found |= set(db.session.scalars(
        db.select(CustomerEmail.email).where(CustomerEmail.email.endswith(suffix))))
    found = {address.lower() for address in found}
    row = db.session.get(Setting, SUPPRESSED_KEY)
    if row is None:
        db.session.add(Setting(key=SUPPRESSED_KEY, value=sorted(found)))
    else:
        row.value = sorted(found | set(row.value or []))


def mail_suppressed(address: str) -> bool:
    """Whether ``address`` (bare or ``Name <addr>``) is one of the demo's people:
    they get no letters."""
    from email.utils import parseaddr

    bare = parseaddr(address)[1].strip().lower()
    if _loading.get() and bare.endswith("@" + DEMO_DOMAIN):
        return True
    row = db.session.get(Setting, SUPPRESSED_KEY)
    return bool(row and row.value) and bare in row.value
