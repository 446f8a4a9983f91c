"""Mailboxes: created, changed and switched off by admins ("mailchannel.manage").
Every refusal names its field; nothing is half-saved."""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from kernel import permissions
from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.i18n import N_
from kernel.models import TicketType, User
from kernel.services.uow import unit_of_work
from plugins.mailchannel.models import SECURITY, MailMailbox

TEXT = {"name": 100, "address": 254, "ticket_type": 64, "queue": 64, "imap_host": 255,
        "imap_username": 254, "imap_password": 500, "imap_folder": 200}
FLAGS = ("create_customers", "is_active", "imap_verify", "delete_after")


def save(data: dict[str, Any], actor: User | None, mailbox: MailMailbox | None = None
         ) -> MailMailbox:
    """Create (``mailbox`` None) or change a mailbox from form-like ``data``. An
    empty ``imap_password`` on a change keeps the stored one."""
    permissions.require(actor, "mailchannel.manage")
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for key, limit in TEXT.items():
        value = str(data.get(key) or "").strip()
        if len(value) > limit:
            errors.setdefault(key, []).append(N_("Too long."))
        clean[key] = value
    for key in FLAGS:
        clean[key] = str(data.get(key, "")).lower() in ("1", "true", "on", "yes")
    if not clean["name"]:
        errors.setdefault("name", []).append(N_("This field is required."))
    elif db.session.scalar(select(MailMailbox.id).where(
            func.lower(MailMailbox.name) == clean["name"].lower(),
            MailMailbox.id != (mailbox.id if mailbox else -1))):
        errors.setdefault("name", []).append(N_("Another mailbox has this name."))
    if clean["address"]:
        try:
            clean["address"] = validate_email(clean["address"], check_deliverability=False
                                              ).normalized.lower()
        except EmailNotValidError:
            errors.setdefault("address", []).append(N_("Not a valid e-mail address."))
    if clean["ticket_type"] and not db.session.scalar(
            select(TicketType.id).where(TicketType.key == clean["ticket_type"])):
        errors.setdefault("ticket_type", []).append(N_("Unknown ticket type."))
    security = str(data.get("imap_security") or "ssl")
    if security not in SECURITY:
        errors.setdefault("imap_security", []).append(N_("Choose one of the listed options."))
    clean["imap_security"] = security
    raw_port = str(data.get("imap_port") or "").strip() or ("993" if security == "ssl"
                                                             else "143")
    if not raw_port.isdigit() or not 1 <= int(raw_port) <= 65535:
        errors.setdefault("imap_port", []).append(N_("A port number from 1 to 65535."))
    else:
        clean["imap_port"] = int(raw_port)
    if clean["imap_host"] and not clean["imap_username"]:
        errors.setdefault("imap_username", []).append(N_("Required to fetch over IMAP."))
    if not clean["imap_folder"]:
        clean["imap_folder"] = "INBOX"
    if mailbox is not None and not clean["imap_password"]:
        clean.pop("imap_password")
    if errors:
        raise ValidationFailed(errors)
    with unit_of_work():
        if mailbox is None:
            mailbox = MailMailbox()
            db.session.add(mailbox)
        for key, value in clean.items():
            setattr(mailbox, key, value)
        db.session.flush()
    return mailbox


def all_mailboxes() -> list[MailMailbox]:
    return list(db.session.scalars(select(MailMailbox).order_by(MailMailbox.name)))
