"""``hookdesk mail``: the LMTP/SMTP receiver, a poll now, taking in a file."""

from __future__ import annotations

import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext

group = click.Group("mail", help="The e-mail channel: receive and fetch letters.")


@group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=2424, show_default=True)
@click.option("--smtp", is_flag=True, help="Speak SMTP instead of LMTP.")
@click.option("--seconds", type=float, default=None,
              help="Stop after this many seconds (default: run until stopped).")
@with_appcontext
def serve(host, port, smtp, seconds):
    """Receive letters from an MTA over LMTP (default) or SMTP: each becomes a
    ticket or a reply before the MTA is told 250."""
    from plugins.mailchannel import receiver

    app = current_app._get_current_object()
    controller = receiver.start(app, host, port, lmtp=not smtp)
    click.echo(f"Receiving {'SMTP' if smtp else 'LMTP'} on {host}:{port}...")
    try:
        deadline = time.monotonic() + seconds if seconds else None
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@group.command("poll")
@with_appcontext
def poll():
    """Fetch from every IMAP mailbox now (the worker does it every minute)."""
    from plugins.mailchannel import imap

    counts = imap.poll_all()
    click.echo(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "No new letters.")


@group.command("ingest")
@click.option("--mailbox", "mailbox_name", default=None, help="The mailbox's name.")
@click.argument("path", type=click.File("rb"), default="-")
@with_appcontext
def ingest(mailbox_name, path):
    """Take in one letter from a file (or standard input), as an MTA's pipe would."""
    from sqlalchemy import select

    from kernel.db import db
    from plugins.mailchannel import service
    from plugins.mailchannel.models import MailMailbox

    mailbox = None
    if mailbox_name:
        mailbox = db.session.scalar(select(MailMailbox).where(MailMailbox.name == mailbox_name))
        if mailbox is None:
            raise click.ClickException(f"No mailbox named {mailbox_name!r}.")
    outcome = service.ingest(path.read(), mailbox)
    click.echo(f"{outcome.outcome}" + (f" ticket {outcome.ticket_id}" if outcome.ticket_id
                                       else "") + (f": {outcome.detail}" if outcome.detail else ""))
    if outcome.refused:
        sys.exit(1)
