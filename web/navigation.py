"""The main menu: the application's own entries plus what plugins add with
``hookdesk_navigation_items``, for the viewer's kind (agent or customer) and
permissions.

Pages of the application add their entry to ``CORE_ITEMS`` (an endpoint, not a
URL; an entry whose endpoint is not registered is skipped). Plugins return
``NavItem`` declarations from the hook; entries whose permission the viewer
lacks are dropped. Everything is sorted by ``(order, key)``; labels are
translated (declare them with ``kernel.i18n.N_``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import request, url_for
from werkzeug.routing import BuildError

from kernel import permissions, runtime
from kernel.i18n import N_
from kernel.models import User
from kernel.services import reports
from web import i18n


@dataclass(frozen=True)
class CoreItem:
    key: str
    label: str
    endpoint: str
    audience: str = "agent"  # agent | customer
    permission: str | None = None
    order: int = 100
    # Shown only when this says so (the reports entry: some report the viewer may see).
    when: Callable[[User], bool] | None = None


@dataclass(frozen=True)
class MenuEntry:
    key: str
    label: str
    url: str
    order: int
    active: bool = False


CORE_ITEMS: list[CoreItem] = [
    CoreItem("portal.tickets", N_("My tickets"), "portal.index", "customer", order=10),
    CoreItem("agent.tickets", N_("Tickets"), "agent.index", "agent", "tickets.view", order=10),
    CoreItem("core.status", N_("System"), "core.status", "agent", "admin.settings", order=900),
    CoreItem("admin", N_("Administration"), "admin.index", "agent", "admin.settings", order=800),
    CoreItem("agent.board", N_("Board"), "agent.board", "agent", "tickets.view", order=15),
    CoreItem("reports", N_("Reports"), "reports.index", "agent", order=700,
             when=lambda user: bool(reports.visible(user))),
]


def _audience(user: User) -> str:
    return "customer" if user.is_customer else "agent"


def _allowed(user: User, permission: str | None) -> bool:
    return permission is None or permissions.has(user, permission)


def menu_for(user: User | None) -> list[MenuEntry]:
    """The entries ``user`` sees, in order, the current page's marked active."""
    if user is None:
        return []
    audience = _audience(user)
    entries: list[MenuEntry] = []
    for item in CORE_ITEMS:
        if item.audience != audience or not _allowed(user, item.permission):
            continue
        if item.when is not None and not item.when(user):
            continue
        try:
            url = url_for(item.endpoint)
        except BuildError:
            continue
        entries.append(MenuEntry(item.key, i18n.translate_label(item.label), url, item.order))
    for _plugin, answer in runtime.host().collect("hookdesk_navigation_items", viewer=user):
        for item in answer or []:
            if item.audience == audience and _allowed(user, item.permission):
                entries.append(MenuEntry(item.key, i18n.translate_label(item.label), item.url,
                                         item.order))
    entries.sort(key=lambda e: (e.order, e.key))
    return _mark_active(entries)


def snippets_for(user: User | None) -> list:
    """Markup plugins add to the end of every page (``hookdesk_page_snippets``) for
    ``user``: their audience and permission checked, sorted by key."""
    from flask import render_template
    from markupsafe import Markup

    if user is None:
        return []
    audience = _audience(user)
    found = []
    for _plugin, answer in runtime.host().collect("hookdesk_page_snippets", viewer=user):
        for snippet in answer or []:
            if snippet.audience == audience and _allowed(user, snippet.permission):
                found.append(snippet)
    found.sort(key=lambda s: s.key)
    return [Markup(render_template(s.template, viewer=user, **dict(s.context))) for s in found]


def _mark_active(entries: list[MenuEntry]) -> list[MenuEntry]:
    path = request.path
    best = None
    for entry in entries:
        prefix = entry.url.split("?", 1)[0].rstrip("/")
        if prefix and (path == prefix or path.startswith(prefix + "/")) and (
            best is None or len(prefix) > len(best.url)
        ):
            best = entry
    return [MenuEntry(e.key, e.label, e.url, e.order, e is best) for e in entries]
