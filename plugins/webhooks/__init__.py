"""Outgoing webhooks: an admin registers a URL and the events it wants;
deliveries are signed (HMAC-SHA256), retried with backoff, and logged."""

from __future__ import annotations

import os

import click
from flask.cli import with_appcontext

from kernel import declarations as d
from kernel import hookimpl
from kernel.i18n import N_


@hookimpl
def hookdesk_describe_plugin():
    return d.PluginDescription(
        N_("Webhooks"),
        N_("Tells other systems what happened: signed HTTP calls to the addresses an admin "
           "registers, retried until they are accepted."))


@hookimpl
def hookdesk_register_migrations():
    return os.path.join(os.path.dirname(__file__), "migrations", "versions")


@hookimpl
def hookdesk_event_committed(event, ticket, state):
    """Deliveries are built by the worker, after the change committed."""
    from plugins.webhooks.delivery import enqueue_for_event

    enqueue_for_event(event, ticket, state)


@hookimpl
def hookdesk_register_notification_channels():
    from plugins.webhooks import delivery

    return [d.NotificationChannelDecl(delivery.CHANNEL, "Webhook", delivery.send)]


@hookimpl
def hookdesk_register_api_blueprints():
    from plugins.webhooks.api import blp

    return [blp]


@hookimpl
def hookdesk_register_cli_commands():
    group = click.Group("webhooks", help="Outgoing webhooks.")

    @group.command("list")
    @with_appcontext
    def list_command():
        from kernel.db import db
        from kernel.models import OutboxMessage
        from plugins.webhooks.models import Endpoint

        for e in db.session.scalars(db.select(Endpoint).order_by(Endpoint.id)):
            failed = db.session.scalar(db.select(db.func.count()).where(
                OutboxMessage.ref == f"webhook:{e.id}", OutboxMessage.status == "failed"))
            state = "active" if e.is_active else "paused"
            click.echo(f"{e.id:>4} {state:<7} {e.url}  events={','.join(e.events)}  "
                       f"failed={failed}")

    @group.command("add")
    @click.argument("url")
    @click.option("--event", "events", multiple=True, help="Event kind (repeat); default: all.")
    @with_appcontext
    def add_command(url, events):
        from kernel.errors import HookdeskError
        from plugins.webhooks import service

        try:
            row = service.create({"url": url, "events": list(events) or ["*"]})
        except HookdeskError as exc:
            raise click.ClickException(exc.message) from exc
        click.echo(f"Webhook {row.id} -> {row.url}; signing secret: {row.secret}")

    return [group]
