"""``hookdesk triggers``: list rules, dry-run one on a ticket, scan timers, show runs."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from kernel.errors import HookdeskError

group = click.Group("triggers", help="Trigger rules: on an event, when conditions hold, do "
                                     "actions.")


def _kinds(rule) -> str:
    return ",".join(e["kind"] if isinstance(e, dict) else str(e) for e in rule.events)


@group.command("list")
@with_appcontext
def list_command():
    """Rules in the order they run, with their events and the last day's runs."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from kernel.db import db, utcnow
    from plugins.triggers import service
    from plugins.triggers.models import Run

    since = utcnow() - timedelta(days=1)
    counts = dict(db.session.execute(
        select(Run.rule_id, func.count(Run.id)).where(Run.at >= since).group_by(Run.rule_id)
    ).all())
    rules = service.all_rules()
    if not rules:
        click.echo("No rules yet. Create them with the API: POST /api/v1/triggers/rules.")
    for rule in rules:
        state = "active" if rule.active else "off"
        problems = service.problems(rule)
        flag = "  PROBLEM: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items()) \
            if problems else ""
        click.echo(f"{rule.id:>4} {state:<6} pos={rule.position:<5} {rule.name}  "
                   f"on={_kinds(rule)}  actions={len(rule.actions)}  "
                   f"runs(24h)={counts.get(rule.id, 0)}{flag}")


@group.command("test")
@click.argument("rule")
@click.argument("ticket")
@click.option("--event", "event_id", type=int, help="Test against this event id of the ticket.")
@with_appcontext
def test_command(rule, ticket, event_id):
    """Dry run: would RULE (id or name) fire for TICKET (id or number)? Writes nothing."""
    from plugins.triggers import service

    try:
        result = service.test(service.get(rule), ticket, None, event_id)
    except HookdeskError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Would fire: {'yes' if result['would_fire'] else 'no'} "
               f"(event {result['event']['kind']}"
               f"{' #' + str(result['event']['id']) if result['event']['id'] else ''})")
    for line in result["because"]:
        click.echo("  " + line)
    if result["actions"]:
        click.echo("Actions:")
        for n, text in enumerate(result["actions"]):
            click.echo(f"  {n}. {text}")


@group.command("scan")
@with_appcontext
def scan_command():
    """Fire the time-based rules that are due now (the worker does it every 5 minutes)."""
    from plugins.triggers import timers

    click.echo(f"Fired {timers.scan()} time-based rule(s).")


@group.command("runs")
@click.option("--rule", "rule_ref", help="Only this rule (id or name).")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@with_appcontext
def runs_command(rule_ref, limit):
    """The run log, newest first."""
    from kernel.db import db
    from kernel.models import Ticket
    from plugins.triggers import service

    try:
        rule_id = service.get(rule_ref).id if rule_ref else None
    except HookdeskError as exc:
        raise click.ClickException(exc.message) from exc
    for run in service.runs(rule_id=rule_id, limit=limit):
        ticket = db.session.get(Ticket, run.ticket_id)
        click.echo(f"{run.at:%Y-%m-%d %H:%M} {run.outcome:<11} {run.rule_name}  "
                   f"{ticket.number if ticket else run.ticket_id}  {run.event_kind}"
                   f"{'  ' + run.error if run.error else ''}")
