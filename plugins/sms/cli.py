"""``hookdesk sms``: the SMPP receipt listener and the SMS.ru status poll."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

group = click.Group("sms", help="SMS: delivery reports from the gateway.")


@group.command("smpp-listen")
@click.option("--seconds", type=float, default=None,
              help="Stop after this many seconds (default: run until stopped).")
@with_appcontext
def smpp_listen(seconds):
    """Stay bound to the SMSC and apply its delivery receipts; a "STOP" reply
    opts its number out. Run it beside `hookdesk worker` when the gateway is SMPP."""
    from plugins.sms import gateways, service

    gateway = gateways.current()
    if gateway is None or gateway.key != "smpp":
        raise click.ClickException("The SMS gateway in use is not SMPP (Administration → SMS).")
    gateway.on_report = lambda r: service.report("smpp", r.provider_id, r.status, r.detail)
    gateway.on_reply = service.reply_received
    click.echo(f"Listening to {gateway.host}:{gateway.port} as {gateway.system_id}...")
    gateway.listen(seconds=seconds)


@group.command("poll")
@with_appcontext
def poll():
    """Ask SMS.ru for the state of messages without a final report (the worker
    does this every five minutes)."""
    from plugins.sms import service

    click.echo(f"Messages whose status changed: {service.poll_smsru()}")
