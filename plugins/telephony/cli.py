"""``hookdesk telephony``: the Asterisk listener and the calls in a terminal."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from kernel.db import db, utcnow
from kernel.services.uow import unit_of_work

# Replays are refused within the signature window; Zadarma's repeats (which carry
# no timestamp) within this long.
KEEP_DELIVERIES = timedelta(days=7)

group = click.Group("telephony", help="Telephony: calls, the Asterisk listener.")


def purge_deliveries() -> int:
    """Forget webhook requests older than a week (the periodic job)."""
    from plugins.telephony.models import Delivery

    with unit_of_work():
        return db.session.execute(db.delete(Delivery).where(
            Delivery.received_at < utcnow() - KEEP_DELIVERIES)).rowcount


def apply_ami_event(app, event) -> None:
    """One AMI event, in its own app context and transaction. Answers and hang-ups
    of calls the listener never saw start (calls between colleagues) are skipped."""
    from plugins.telephony import calls
    from plugins.telephony.models import Call

    with app.app_context():
        try:
            if event.kind != "start" and db.session.scalar(db.select(Call.id).where(
                    Call.provider == event.provider,
                    Call.provider_call_id == event.call_id)) is None:
                return
            calls.apply(event)
        finally:
            db.session.remove()


@group.command("ami-listen")
@with_appcontext
def ami_listen():
    """Stay connected to Asterisk's manager interface and record calls."""
    from plugins.telephony import asterisk, config
    from plugins.telephony import calls as calls_module

    values = config.values("asterisk")
    if not config.is_complete("asterisk"):
        raise click.ClickException("Asterisk is not configured: set the AMI host, user, "
                                   "secret and channel on /admin/telephony.")
    app = current_app._get_current_object()
    click.echo(f"Listening to Asterisk at {values['host']}:{values['port']} (Ctrl+C stops).")
    try:
        asterisk.run_sync(asterisk.listen(values, lambda event: apply_ami_event(app, event)))
    except calls_module.CallFailed as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        pass


@group.command("calls")
@click.option("--limit", default=20, show_default=True)
@with_appcontext
def list_calls(limit):
    """The latest calls."""
    from plugins.telephony import calls

    for call in calls.recent(limit):
        when = calls.when(call).strftime("%Y-%m-%d %H:%M")
        who = call.customer.name if call.customer else "-"
        click.echo(f"{call.id:>5} {when} {call.direction:<3} {call.external_number:<16} "
                   f"{call.state:<8} {call.outcome or '-':<9} {who}")
