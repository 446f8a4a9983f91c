"""The e-mail channel (M1-M5, issue 17): letters become tickets, replies thread
back, loops die.

Two ways in feed one service (``service.ingest``): fetching from IMAP
mailboxes (the periodic job ``mailchannel.poll``, ``hookdesk mail poll``) and an
LMTP/SMTP receiver an MTA hands letters to (``hookdesk mail serve``). Replies
are matched by the signed ids the kernel puts in every letter about a ticket
(``kernel.mail.ref_of``) and by the ticket number in the subject. See
docs/mail-channel.md."""

from __future__ import annotations

import os

from kernel import declarations as d
from kernel import hookimpl
from kernel.i18n import N_
from plugins.mailchannel import models  # noqa: F401 - the tables must be known to Alembic

POLL_JOB = "mailchannel.poll"


@hookimpl
def hookdesk_describe_plugin():
    return d.PluginDescription(
        N_("E-mail channel"),
        N_("Letters become tickets: mailboxes read over IMAP or handed over by the mail "
           "server, replies threaded back into their tickets, auto-replies and loops stopped."))


@hookimpl
def hookdesk_register_migrations():
    return os.path.join(os.path.dirname(__file__), "migrations", "versions")


@hookimpl
def hookdesk_register_translations():
    return os.path.join(os.path.dirname(__file__), "translations")


@hookimpl
def hookdesk_register_permissions():
    return [d.PermissionDecl("mailchannel.review", N_("Review letters from unknown senders")),
            d.PermissionDecl("mailchannel.manage",
                             N_("Configure the e-mail channel: mailboxes, quarantine"))]


@hookimpl
def hookdesk_register_roles():
    return [d.RoleDecl("agent", N_("Agent"), ["mailchannel.review"])]


@hookimpl
def hookdesk_register_settings():
    from plugins.mailchannel import service

    return [
        d.SettingDecl(service.MAX_BYTES_SETTING, N_("Largest letter taken in (bytes)"),
                      service.DEFAULT_MAX_BYTES, "number",
                      N_("A larger letter is refused and logged; its sender is not answered.")),
        d.SettingDecl(service.SENDER_LIMIT_SETTING, N_("Letters an hour from one sender"),
                      service.DEFAULT_SENDER_LIMIT, "number",
                      N_("More are held in the quarantine until an admin retries them; "
                         "0: no limit.")),
    ]


@hookimpl
def hookdesk_register_jobs():
    from plugins.mailchannel import imap

    return [d.JobDecl(POLL_JOB, lambda: imap.poll_all(), retries=0, periodic="* * * * *")]


@hookimpl
def hookdesk_register_blueprints():
    from plugins.mailchannel.admin import bp

    return [bp]


@hookimpl
def hookdesk_register_cli_commands():
    from plugins.mailchannel.cli import group

    return [group]


@hookimpl
def hookdesk_navigation_items(viewer):
    from flask import url_for
    from sqlalchemy import select

    from kernel import permissions
    from kernel.db import db
    from plugins.mailchannel.models import MailReview

    # Shown only while letters wait: one indexed look-up, no item in the way otherwise.
    if viewer is None or not viewer.is_agent or not permissions.has(viewer, "mailchannel.review"):
        return None
    if db.session.scalar(select(MailReview.id).where(MailReview.status == "pending").limit(1)
                         ) is None:
        return None
    return [d.NavItem("mailchannel.review", N_("Letters to review"),
                      url_for("mailchannel_admin.review"), "agent",
                      permission="mailchannel.review", order=870)]


@hookimpl
def hookdesk_ticket_card_panels(ticket, viewer):
    """Agents see the letters a ticket came from: sender, outcome, the original
    to download, the HTML part as sanitized."""
    from sqlalchemy import select

    from kernel.db import db
    from plugins.mailchannel.models import MailLetter

    if viewer is None or viewer.is_customer:
        return None
    rows = list(db.session.scalars(select(MailLetter).where(MailLetter.ticket_id == ticket.id)
                                   .order_by(MailLetter.id).limit(50)))
    if not rows:
        return None
    return [d.Panel("mailchannel", N_("Letters"), "mailchannel/_panel.html", order=35,
                    audience="staff", context={"letters": rows})]
