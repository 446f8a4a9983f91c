"""Triggers: stored rules — on an event, when conditions hold, run actions (R1-R3).

Rules react to every history event inside its transaction
(``hookdesk_event_recorded``) and to time (a periodic scan for "deadline
passed" and "N hours in a status"). Conditions and actions are the built-ins
here plus whatever enabled plugins declare with
``hookdesk_register_trigger_conditions`` / ``_actions``. See docs/triggers.md.
"""

from __future__ import annotations

import os

from kernel import declarations as d
from kernel import hookimpl
from kernel.i18n import N_
from plugins.triggers import models  # noqa: F401 - the tables must be known to Alembic


@hookimpl
def hookdesk_describe_plugin():
    return d.PluginDescription(
        N_("Rules"),
        N_("Automation: when an event happens and the conditions hold, rules send letters "
           "and SMS, change fields, assign people and call webhooks."))


@hookimpl
def hookdesk_register_migrations():
    return os.path.join(os.path.dirname(__file__), "migrations", "versions")


@hookimpl
def hookdesk_event_recorded(event, ticket):
    from plugins.triggers import engine

    engine.on_event(event, ticket)


@hookimpl
def hookdesk_register_event_kinds():
    from plugins.triggers.catalogue import DEADLINE_PASSED, TIME_IN_STATUS

    return [d.EventKindDecl(DEADLINE_PASSED, N_("Deadline passed")),
            d.EventKindDecl(TIME_IN_STATUS, N_("Time in status reached"))]


@hookimpl
def hookdesk_register_trigger_conditions():
    from plugins.triggers.history_conditions import CONDITIONS

    return CONDITIONS


@hookimpl
def hookdesk_register_trigger_actions():
    from plugins.triggers.actions import ACTIONS

    return ACTIONS


@hookimpl
def hookdesk_register_notification_channels():
    from plugins.triggers import http
    from plugins.triggers.actions import HTTP_CHANNEL

    return [d.NotificationChannelDecl(HTTP_CHANNEL, N_("HTTP call (triggers)"), http.send)]


@hookimpl
def hookdesk_register_jobs():
    from plugins.triggers import timers

    return [d.JobDecl(timers.JOB_KEY, lambda: timers.periodic(), retries=0,
                      periodic=timers.SCHEDULE)]


@hookimpl
def hookdesk_register_api_blueprints():
    from plugins.triggers.api import blp

    return [blp]


@hookimpl
def hookdesk_register_blueprints():
    from plugins.triggers.views import bp

    return [bp]


@hookimpl
def hookdesk_register_translations():
    return os.path.join(os.path.dirname(__file__), "translations")


@hookimpl
def hookdesk_register_cli_commands():
    from plugins.triggers.cli import group

    return [group]


@hookimpl
def hookdesk_startup(app):
    from plugins.triggers import shipped

    shipped.install(app)
