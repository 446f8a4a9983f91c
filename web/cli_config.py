"""Configuration from the command line, for integrators without the admin UI
at hand (scripts, provisioning): fields, ticket types, numbering, settings, and
the clean-up of stored files.

Every command goes through the same services as the admin screens.
"""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from kernel.errors import HookdeskError


def _fail(exc: HookdeskError):
    details = getattr(exc, "errors", None)
    if details:
        lines = [f"  {key}: {' '.join(msgs)}" for key, msgs in sorted(details.items())]
        return click.ClickException("refused:\n" + "\n".join(lines))
    return click.ClickException(exc.message)


fields_group = click.Group("fields", help="Field definitions: list, override, add custom.")


@fields_group.command("list")
@click.option("--type", "type_key", help="Only the form of this ticket type.")
@with_appcontext
def fields_list(type_key):
    """Fields in form order with their effective settings."""
    from kernel import fieldset
    from kernel.services import tickets

    rows = fieldset.for_type(tickets.ticket_type(type_key)) if type_key else fieldset.all_fields()
    click.echo(f"{'key':<18} {'type':<12} {'req':<4} {'list':<5} {'card':<5} {'cust':<5} "
               f"{'edit':<5} {'order':<6} label")
    for f in rows:
        flags = [f.required, f.shown_in_list, f.shown_on_card, f.shown_to_customer,
                 f.editable_by_customer]
        marks = ["yes " if flag else "-   " for flag in flags]
        click.echo(f"{f.key:<18} {f.type:<12} {marks[0]:<4} {marks[1]:<5} {marks[2]:<5} "
                   f"{marks[3]:<5} {marks[4]:<5} {f.order:<6} {f.label}"
                   f"{'  [custom]' if f.is_custom else ''}")


@fields_group.command("set")
@click.argument("key")
@click.option("--label")
@click.option("--help-text")
@click.option("--order", type=int)
@click.option("--required/--optional", default=None)
@click.option("--in-list/--not-in-list", "shown_in_list", default=None)
@click.option("--on-card/--not-on-card", "shown_on_card", default=None)
@click.option("--to-customer/--not-to-customer", "shown_to_customer", default=None)
@click.option("--customer-edits/--customer-cannot-edit", "editable_by_customer", default=None)
@with_appcontext
def fields_set(key, **options):
    """Override how field KEY is labelled, ordered, required and shown."""
    from kernel.services import fields

    changes = {k: v for k, v in options.items() if v is not None}
    if not changes:
        raise click.UsageError("Nothing to change: give at least one option.")
    try:
        fields.override(key, changes)
    except HookdeskError as exc:
        raise _fail(exc) from exc
    click.echo(f"Field {key}: {', '.join(f'{k}={v!r}' for k, v in changes.items())}.")


@fields_group.command("add")
@click.argument("key")
@click.argument("field_type")
@click.argument("label")
@click.option("--type", "ticket_types", multiple=True, help="Limit to these ticket types.")
@click.option("--choice", "choices", multiple=True, help="value=Label, for choice fields.")
@click.option("--required", is_flag=True)
@click.option("--to-customer", is_flag=True, help="Shown to and filled by customers.")
@with_appcontext
def fields_add(key, field_type, label, ticket_types, choices, required, to_customer):
    """Add a custom field (доп.поле) KEY of FIELD_TYPE with LABEL."""
    from kernel.services import fields

    data = {
        "key": key, "type": field_type, "label": label, "ticket_types": list(ticket_types),
        "choices": [list(c.split("=", 1)) if "=" in c else [c, c] for c in choices],
        "required": required, "shown_to_customer": to_customer,
        "editable_by_customer": to_customer,
    }
    try:
        fields.create_custom(data)
    except HookdeskError as exc:
        raise _fail(exc) from exc
    click.echo(f"Added custom field {key} ({field_type}).")


types_group = click.Group("types", help="Ticket types, their pipelines and numbering.")


@types_group.command("list")
@with_appcontext
def types_list():
    """Ticket types with pipeline, initial status and numbering template."""
    from kernel.db import db
    from kernel.models import TicketType
    from kernel.services import settings

    default = settings.get("kernel.default_ticket_type")
    for t in db.session.scalars(db.select(TicketType).order_by(TicketType.order, TicketType.key)):
        mark = "*" if t.key == default else " "
        initial = t.initial_status.key if t.initial_status else "-"
        click.echo(f"{mark} {t.key:<16} {t.name:<24} pipeline={t.pipeline.key:<14} "
                   f"initial={initial:<12} numbering={t.number_template}")
        flow = []
        for status in t.pipeline.statuses:
            nxt = ",".join(s.key for s in t.pipeline.next_statuses(status)) or "-"
            flow.append(f"{status.key}({status.group}) -> {nxt}")
        click.echo("    " + "\n    ".join(flow))


@types_group.command("numbering")
@click.argument("type_key")
@click.argument("template")
@with_appcontext
def types_numbering(type_key, template):
    """Set the numbering TEMPLATE of a type, e.g. 'W-{year}-{seq:05d}'."""
    from kernel.services import workflow

    try:
        workflow.set_number_template(type_key, template)
    except HookdeskError as exc:
        raise _fail(exc) from exc
    click.echo(f"{type_key}: numbering {template}")


@types_group.command("default")
@click.argument("type_key")
@with_appcontext
def types_default(type_key):
    """Make TYPE_KEY the default ticket type."""
    from kernel.services import settings

    try:
        settings.set("kernel.default_ticket_type", type_key)
    except HookdeskError as exc:
        raise _fail(exc) from exc
    click.echo(f"Default ticket type: {type_key}")


@types_group.command("transition")
@click.argument("pipeline_key")
@click.argument("from_key")
@click.argument("to_key")
@click.option("--allow/--forbid", default=True)
@with_appcontext
def types_transition(pipeline_key, from_key, to_key, allow):
    """Allow or forbid a move FROM_KEY -> TO_KEY in a pipeline."""
    from kernel.services import workflow

    try:
        workflow.set_transition(pipeline_key, from_key, to_key, allow)
    except HookdeskError as exc:
        raise _fail(exc) from exc
    click.echo(f"{pipeline_key}: {from_key} -> {to_key} {'allowed' if allow else 'forbidden'}")


settings_group = click.Group("settings", help="Live settings of the kernel and plugins.")


@settings_group.command("list")
@with_appcontext
def settings_list():
    from flask import current_app

    from kernel.services import settings

    registry = current_app.extensions["hookdesk"].registry
    for key, entry in sorted(registry.settings.items()):
        click.echo(f"{key:<36} = {json.dumps(settings.get(key), ensure_ascii=False):<20} "
                   f"{entry.decl.label}")


@settings_group.command("set")
@click.argument("key")
@click.argument("value")
@with_appcontext
def settings_set(key, value):
    """Set KEY to VALUE (JSON: true, 10, "text"; bare text is taken as a string)."""
    from kernel.services import settings

    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    try:
        settings.set(key, parsed)
    except HookdeskError as exc:
        raise _fail(exc) from exc
    click.echo(f"{key} = {json.dumps(parsed, ensure_ascii=False)}")


@click.group("attachments")
def attachments_group():
    """Stored files (attachments, plugins' files such as floor plans)."""


@attachments_group.command("gc")
@click.option("--older-than", "hours", type=click.FloatRange(min=0), default=24.0,
              show_default=True, help="Only files untouched for this many hours.")
@click.option("--dry-run", is_flag=True, help="List what would go; delete nothing.")
@with_appcontext
def attachments_gc(hours, dry_run):
    """Delete stored files that no attachment and no plugin refers to any more."""
    from datetime import timedelta

    from kernel.services import attachments

    found = attachments.collect_garbage(timedelta(hours=hours), dry_run=dry_run)
    for path in found.paths:
        click.echo(("would remove " if dry_run else "removed ") + path)
    verb = "would free" if dry_run else "freed"
    click.echo(f"{found.removed} file(s), {verb} {found.freed_bytes:,} bytes; kept "
               f"{found.kept} in use and {found.young} newer than {hours:g} h.")


COMMANDS = [fields_group, types_group, settings_group, attachments_group]
