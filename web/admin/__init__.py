"""The administration screens (A6, K2-K5, K10, P7): ``/admin``.

Ticket types, pipelines and transitions, fields, numbering, dictionaries,
users and roles, plugins and live settings. Every change goes through the
kernel services (``kernel.services.workflow``, ``fields``, ``users``,
``settings``), so validation is the same as in the REST API and the CLI.

Access: ``admin.settings`` for configuration, ``admin.users`` for people and
roles; agents without it get 403, customers 404 (the screens do not exist for
them).

Other pages join the admin menu by appending a ``Section`` to ``SECTIONS``
(an endpoint; entries whose endpoint is not registered are skipped), e.g. the
triggers plugin's rules screen: ``Section("triggers", N_("Triggers"),
"triggers.rules", order=60)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint, abort, g, has_request_context, request, url_for
from werkzeug.routing import BuildError

from kernel import permissions
from kernel.i18n import N_

bp = Blueprint("admin", __name__, url_prefix="/admin")


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    endpoint: str
    permission: str = "admin.settings"
    order: int = 100
    description: str = ""


SECTIONS: list[Section] = [
    Section("types", N_("Ticket types"), "admin.types", order=10,
            description=N_("Forms and pipelines of tickets, initial status, default type.")),
    Section("pipelines", N_("Pipelines"), "admin.pipelines", order=20,
            description=N_("Statuses in order and the allowed moves between them.")),
    Section("fields", N_("Fields"), "admin.fields", order=30,
            description=N_("Labels, order, required, what customers fill in and see.")),
    Section("numbering", N_("Numbering"), "admin.numbering", order=40,
            description=N_("Number templates of each ticket type.")),
    Section("dictionaries", N_("Categories and lists"), "admin.dictionaries", order=50,
            description=N_("Categories, queues, campaigns and other choice lists.")),
    # Slot for the triggers plugin's rules screen (its own blueprint).
    Section("triggers", N_("Triggers"), "triggers.rules", order=60,
            description=N_("Automatic actions: event, conditions, actions.")),
    Section("users", N_("Users"), "admin.users", "admin.users", order=70,
            description=N_("Agents and customers' accounts, passwords.")),
    Section("roles", N_("Roles"), "admin.roles", "admin.users", order=80,
            description=N_("What each role may do.")),
    Section("plugins", N_("Plugins"), "admin.plugins", order=90,
            description=N_("Installed and enabled plugins.")),
    Section("settings", N_("Settings"), "admin.settings", order=100,
            description=N_("Live options of the plugins.")),
    Section("outbox", N_("Outgoing messages"), "admin.outbox", order=105,
            description=N_("E-mails, SMS and webhook calls: pending, sent, failed; send again.")),
    Section("audit", N_("Change log"), "admin.audit", order=110,
            description=N_("Who changed the configuration, when and how.")),
]

ADMIN_PERMISSIONS = ("admin.settings", "admin.users")


def sections_for(user) -> list[dict[str, Any]]:
    """The sections ``user`` may open, in order, with their URL and whether active."""
    from web import i18n

    result = []
    for section in sorted(SECTIONS, key=lambda s: (s.order, s.key)):
        if not permissions.has(user, section.permission):
            continue
        try:
            url = url_for(section.endpoint)
        except BuildError:
            continue
        result.append({"key": section.key, "label": i18n.translate_label(section.label),
                       "url": url, "description": i18n.translate_label(section.description),
                       "active": request.path == url or request.path.startswith(url + "/")})
    return result


def admin_required(permission: str | tuple[str, ...] = "admin.settings") -> Callable:
    """Agents holding ``permission`` (any of a tuple); other agents get 403,
    customers 404, visitors the login page."""
    wanted = (permission,) if isinstance(permission, str) else permission

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            from web.auth import login_manager, viewer

            user = viewer()
            if user is None:
                return login_manager.unauthorized()
            if not user.is_agent:
                abort(404)
            if not any(permissions.has(user, p) for p in wanted):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


@bp.app_context_processor
def _admin_context() -> dict[str, Any]:
    if not has_request_context() or request.blueprint != "admin":
        return {}
    from web.auth import viewer

    user = viewer()
    return {"admin_sections": sections_for(user) if user is not None else [],
            "plugin_title": plugin_title}


def plugin_title(name: str) -> str:
    """A plugin's own title in the reader's language (its entry-point name if it
    gives none): section headings group by plugin."""
    from web.admin.views import _descriptions

    titles = getattr(g, "_hookdesk_plugin_titles", None)
    if titles is None:
        titles = g._hookdesk_plugin_titles = {n: t for n, (t, _s) in _descriptions().items()}
    return titles.get(name, name)


from web.admin import (  # noqa: E402,F401  - registers the routes
    dictionaries,
    fields,
    people,
    pipelines,
    types,
    views,
)
