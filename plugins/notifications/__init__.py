"""Notifications: e-mails to customers on each change that matters (P6) and to
employees on the events they chose (A5), through the kernel's outbox (R3).

* customers: ticket created, status changed, an agent's public reply — in the
  customer's language, with a link to the ticket in the portal;
* employees: assigned to me, the customer replied on my ticket, the deadline of
  my ticket passed (the periodic job ``notifications.deadline_scan``), a new
  ticket in a queue I follow — each switchable at ``/settings/notifications``.
"""

from __future__ import annotations

import os

from kernel import declarations as d
from kernel import hookimpl
from kernel.i18n import N_


@hookimpl
def hookdesk_describe_plugin():
    return d.PluginDescription(
        N_("Notifications"),
        N_("Letters to customers on every change that matters, and to employees on the "
           "events they chose."))


@hookimpl
def hookdesk_register_migrations():
    return os.path.join(os.path.dirname(__file__), "migrations", "versions")


@hookimpl
def hookdesk_event_committed(event, ticket, state):
    """Letters are rendered by the worker, after the change committed."""
    from plugins.notifications import service

    service.on_event(event, ticket, state)


@hookimpl
def hookdesk_register_jobs():
    from plugins.notifications import service

    return [d.JobDecl(service.SCAN_JOB, lambda: service.scan_deadlines(), retries=0,
                      periodic=service.SCAN_SCHEDULE)]


@hookimpl
def hookdesk_register_settings():
    from plugins.notifications import service

    return [d.SettingDecl(service.SETTING_CUSTOMERS, N_("E-mail customers about their tickets"),
                          True, "flag",
                          N_("Created, status changed, an agent replied: in the customer's "
                             "language, with a link to the ticket."))]


@hookimpl
def hookdesk_register_blueprints():
    from plugins.notifications.admin import bp as admin_bp
    from plugins.notifications.views import bp

    return [bp, admin_bp]


@hookimpl
def hookdesk_navigation_items(viewer):
    from flask import url_for

    if viewer is None or not viewer.is_agent:
        return None
    return [d.NavItem("notifications.settings", N_("Notifications"),
                      url_for("notifications.settings"), "agent", order=880)]
