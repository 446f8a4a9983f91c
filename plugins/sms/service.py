"""The SMS plugin's service layer: every page, the trigger action and the
outbox channel go through here.

* ``send()`` — an agent (or a rule, as the system) sends an SMS about a ticket:
  checks who may, the gateway, the number (normalized to E.164 by the kernel's
  ``phones``), the text (not empty, at most ``sms.max_parts`` parts), the opt-out
  list and the per-number rate limit; then, in one unit of work, writes the
  message, puts it on the ticket's timeline (``sms.sent``, staff only) and queues
  an outbox row. Nothing is sent before that commits; a refusal leaves nothing.
* ``deliver()`` — the outbox channel ``sms``: hands the message to the gateway once.
  A message already accepted by a gateway is never handed over again, whatever
  the outbox retries.
* ``report()`` — a delivery report (SMPP receipt, SMS.ru callback or poll, the dev
  gateway's buttons) moves the message's status; a final one goes on the timeline.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta
from typing import Any

from kernel import outbox, permissions, phones, runtime
from kernel.db import db, get_by_id, utcnow
from kernel.errors import ValidationFailed
from kernel.i18n import N_
from kernel.models import Ticket, User
from kernel.services import settings
from kernel.services.uow import unit_of_work
from plugins.sms import gateways, segments
from plugins.sms.models import FINAL, SmsMessage, SmsOptOut, SmsPart, SmsTemplate

log = logging.getLogger("hookdesk.sms")

CHANNEL = "sms"
SEND = "sms.send"
MANAGE = "sms.manage"
EVENT_SENT, EVENT_DELIVERED, EVENT_UNDELIVERED = "sms.sent", "sms.delivered", "sms.undelivered"
STOP_WORDS = {"STOP", "СТОП", "ОТПИСКА", "UNSUBSCRIBE", "STOPALL"}
RANK = {"queued": 0, "failed": 1, "sent": 1, "delivered": 2, "undelivered": 2}


class SmsRefused(ValidationFailed):
    """Bad input, with the message id and its values kept for translation."""

    def __init__(self, field: str, msgid: str, **values: Any):
        self.field, self.msgid, self.values = field, msgid, values
        super().__init__({field: msgid % values if values else msgid})


# The refusals, marked for the catalogue (the pages show them translated).
NO_GATEWAY = N_("No SMS gateway is configured.")
EMPTY_TEXT = N_("Write the text of the SMS.")
TOO_LONG = N_("The text takes %(parts)s parts; at most %(max)s are allowed.")
OPTED_OUT = N_("%(phone)s asked not to receive SMS.")
RATE_LIMITED = N_("At most %(n)s SMS an hour may go to one number; try again later.")
EMPTY_PHONE = N_("Give a phone number.")
BAD_PHONE = N_("%(phone)s is not a valid phone number.")


def configured() -> bool:
    return gateways.is_configured()


def _int_setting(key: str, default: int) -> int:
    try:
        return max(0, int(settings.get(key) or default))
    except (TypeError, ValueError):
        return default


def normalize(raw: str) -> str:
    text = (raw or "").strip()
    if not text:
        raise SmsRefused("phone", EMPTY_PHONE)
    try:
        return phones.normalize(text, runtime.config("HOOKDESK_DEFAULT_REGION", "RU"))
    except phones.InvalidPhone as exc:
        raise SmsRefused("phone", BAD_PHONE, phone=text[:40]) from exc


def is_opted_out(phone: str) -> bool:
    return db.session.scalar(db.select(SmsOptOut.id).where(SmsOptOut.phone == phone)) is not None


def sent_last_hour(phone: str) -> int:
    since = utcnow() - timedelta(hours=1)
    return db.session.scalar(db.select(db.func.count(SmsMessage.id)).where(
        SmsMessage.phone == phone, SmsMessage.created_at >= since,
        SmsMessage.status != "failed")) or 0


def _recheck_rate(phone: str) -> None:
    """The rate limit again, inside the writing transaction and one writer per number
    at a time (PostgreSQL: an advisory lock on the number; SQLite: the one writer),
    so concurrent sends cannot both slip under it."""
    limit = _int_setting("sms.rate_limit", 5)
    if not limit:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(db.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                           {"key": f"sms-rate:{phone}"})
    if sent_last_hour(phone) >= limit:
        raise SmsRefused("phone", RATE_LIMITED, n=limit)


def check(phone_raw: str, text: str) -> tuple[str, str, segments.Segments]:
    """Validate a send; returns (E.164 number, text, its segments) or raises ``SmsRefused``."""
    if not configured():
        raise SmsRefused("gateway", NO_GATEWAY)
    text = (text or "").strip()
    refusals: list[SmsRefused] = []
    phone = ""
    try:
        phone = normalize(phone_raw)
    except SmsRefused as exc:
        refusals.append(exc)
    counted = segments.count(text)
    if not text:
        refusals.append(SmsRefused("text", EMPTY_TEXT))
    elif counted.parts > (limit := _int_setting("sms.max_parts", 6)):
        refusals.append(SmsRefused("text", TOO_LONG, parts=counted.parts, max=limit))
    if phone and is_opted_out(phone):
        refusals.append(SmsRefused("phone", OPTED_OUT, phone=phone))
    elif phone and (limit := _int_setting("sms.rate_limit", 5)) and sent_last_hour(phone) >= limit:
        refusals.append(SmsRefused("phone", RATE_LIMITED, n=limit))
    if refusals:
        raise combined(refusals)
    return phone, text, counted


def combined(refusals: list[SmsRefused]) -> SmsRefused:
    """One error carrying several refusals (``.all``), each translatable on its own."""
    error = SmsRefused(refusals[0].field, refusals[0].msgid, **refusals[0].values)
    error.errors = {}
    for refusal in refusals:
        for key, messages in refusal.errors.items():
            error.errors.setdefault(key, []).extend(messages)
    error.all = refusals
    return error


def send(ticket: Ticket | None, phone_raw: str, text: str, actor: User | None,
         via: str = "web", key: str | None = None) -> SmsMessage:
    """Queue one SMS (see the module's doc). ``key`` makes a repeat a no-op (a rule's run)."""
    permissions.require(actor, SEND)
    if ticket is not None:
        permissions.require_view(actor, ticket)
    if key:
        existing = db.session.scalar(db.select(SmsMessage).where(SmsMessage.key == key))
        if existing is not None:
            return existing
    phone, text, counted = check(phone_raw, text)
    with unit_of_work():
        _recheck_rate(phone)
        message = SmsMessage(key=key or f"sms-{uuid.uuid4().hex}", phone=phone, body=text,
                             encoding=counted.encoding, parts=counted.parts, status="queued",
                             ticket_id=ticket.id if ticket else None, via=via[:100],
                             sent_by_id=actor.id if actor else None, created_at=utcnow())
        db.session.add(message)
        db.session.flush()
        if ticket is not None:
            _timeline(ticket, EVENT_SENT, message, actor=actor, via=via)
        outbox.put(CHANNEL, phone, {"subject": "", "body": text, "sms_id": message.id,
                                    "ticket_id": ticket.id if ticket else None},
                   key=message.key, ref=f"ticket:{ticket.id}" if ticket else "sms")
    return message


def _timeline(ticket: Ticket, kind: str, message: SmsMessage, actor: User | None = None,
              via: str | None = None) -> None:
    from kernel.services import tickets

    data = {"sms_id": message.id, "phone": message.phone, "text": message.body[:1000],
            "parts": message.parts, "status": message.status}
    if message.error:
        data["error"] = message.error[:300]
    tickets.record_custom_event(ticket, kind, data, actor=actor, via=via)


# -- the outbox channel ------------------------------------------------------------------


def _message_for(recipient: str, body: str, context: dict[str, Any]) -> SmsMessage:
    """The message an outbox row stands for; a row another plugin queued on the
    ``sms`` channel (e.g. the triggers plugin's ``triggers.sms``) gets one here."""
    message = get_by_id(SmsMessage, context.get("sms_id")) if context.get("sms_id") else None
    if message is not None:
        return message
    key = str(context["idempotency_key"])
    message = db.session.scalar(db.select(SmsMessage).where(SmsMessage.key == key))
    if message is not None:
        return message
    try:
        phone = normalize(recipient)
    except SmsRefused as exc:
        raise outbox.PermanentFailure(exc.message) from exc
    counted = segments.count(body)
    ticket = get_by_id(Ticket, context.get("ticket_id")) if context.get("ticket_id") else None
    with unit_of_work():
        message = SmsMessage(key=key, phone=phone, body=body, encoding=counted.encoding,
                             parts=counted.parts, status="queued",
                             ticket_id=ticket.id if ticket else None,
                             via=str(context.get("rule") or "outbox")[:100], created_at=utcnow())
        db.session.add(message)
        db.session.flush()
        if ticket is not None:
            _timeline(ticket, EVENT_SENT, message, via=message.via)
    return message


def _fail(message: SmsMessage, error: str) -> None:
    with unit_of_work():
        message.status, message.error = "failed", error[:2000]
        ticket = get_by_id(Ticket, message.ticket_id) if message.ticket_id else None
        if ticket is not None:
            _timeline(ticket, EVENT_UNDELIVERED, message, via="sms")


def deliver(recipient: str, subject: str, body: str, context: dict[str, Any]) -> None:
    """The ``sms`` channel's ``send`` (called by the outbox worker, after commit)."""
    message = _message_for(recipient, body, context)
    if message.status != "queued":
        return  # accepted by a gateway before (or failed for good): never twice
    if is_opted_out(message.phone):
        _fail(message, f"{message.phone} asked not to receive SMS.")
        raise outbox.PermanentFailure(f"{message.phone} asked not to receive SMS.")
    gateway = gateways.current()
    if gateway is None:
        raise outbox.TemporaryFailure("No SMS gateway is configured.")
    early: list[gateways.Report] = []
    if hasattr(gateway, "on_report"):
        gateway.on_report = early.append
        gateway.on_reply = reply_received
    try:
        ids = gateway.send(message.phone, message.body, message.key)
    except outbox.PermanentFailure as exc:
        _fail(message, str(exc))
        raise
    except Exception as exc:
        with unit_of_work():
            message.error = f"{exc}"[:2000]
        raise
    with unit_of_work():
        message.status, message.gateway, message.sent_at, message.error = (
            "sent", gateway.key, utcnow(), "")
        for provider_id in ids:
            db.session.add(SmsPart(message_id=message.id, gateway=gateway.key,
                                   provider_id=provider_id[:100]))
    for item in early:
        report(gateway.key, item.provider_id, item.status, item.detail)


# -- delivery reports ------------------------------------------------------------------


def report(gateway_key: str, provider_id: str, state: str, detail: str = "") -> SmsMessage | None:
    """Apply one delivery report; returns the message, or None for an id we never sent."""
    part = db.session.scalar(db.select(SmsPart).where(SmsPart.gateway == gateway_key,
                                                       SmsPart.provider_id == provider_id))
    if part is None:
        log.info("A %s report for an unknown message %r", gateway_key, provider_id)
        return None
    message = part.message
    if RANK.get(state, 0) < RANK.get(part.status, 0) or message.status == "failed":
        return message  # reports may arrive out of order: never go back
    with unit_of_work():
        part.status, part.detail = state, detail[:200]
        states = [p.status for p in message.part_ids]
        if "undelivered" in states:
            new = "undelivered"
        elif all(s == "delivered" for s in states):
            new = "delivered"
        else:
            new = "sent"
        if new != message.status:
            message.status, message.reported_at = new, utcnow()
            if new == "undelivered":
                message.error = detail[:2000]
            ticket = get_by_id(Ticket, message.ticket_id) if message.ticket_id else None
            if ticket is not None and new in FINAL:
                _timeline(ticket, EVENT_DELIVERED if new == "delivered" else EVENT_UNDELIVERED,
                          message, via=f"sms:{gateway_key}")
    return message


def poll_smsru(limit: int = 100) -> int:
    """Ask SMS.ru for the state of messages sent in the last three days that have
    no final report yet (the fallback for a missed callback). Returns how many changed."""
    if gateways.chosen() != "smsru" or not configured():
        return 0
    since = utcnow() - timedelta(days=3)
    parts = db.session.scalars(
        db.select(SmsPart).join(SmsMessage).where(
            SmsPart.gateway == "smsru", SmsPart.status == "sent", SmsMessage.sent_at >= since)
        .order_by(SmsPart.id).limit(limit)).all()
    ids = [p.provider_id for p in parts]
    db.session.rollback()
    gateway = gateways.current()
    changed = 0
    for item in gateway.status(ids) if ids else []:
        message = report("smsru", item.provider_id, item.status, item.detail)
        changed += bool(message is not None and item.status != "sent")
    return changed


# -- opt-out ---------------------------------------------------------------------------


def opt_out(phone_raw: str, actor: User | None = None, source: str = "admin",
            note: str = "") -> SmsOptOut:
    permissions.require(actor, MANAGE)
    phone = normalize(phone_raw)
    existing = db.session.scalar(db.select(SmsOptOut).where(SmsOptOut.phone == phone))
    if existing is not None:
        return existing
    with unit_of_work():
        row = SmsOptOut(phone=phone, source=source, note=note.strip()[:200], created_at=utcnow())
        db.session.add(row)
    return row


def opt_in(phone: str, actor: User | None = None) -> None:
    permissions.require(actor, MANAGE)
    with unit_of_work():
        db.session.execute(db.delete(SmsOptOut).where(SmsOptOut.phone == phone))


def reply_received(phone: str, text: str) -> bool:
    """A customer's SMS to us: a stop word opts the number out. True when it did."""
    if re.sub(r"[^\wА-Яа-яЁё]", "", text or "").upper() not in STOP_WORDS:
        return False
    try:
        opt_out(phone, None, source="reply", note=(text or "").strip()[:200])
    except ValidationFailed:
        return False
    return True


# -- templates -------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")
KNOWN = ("ticket.number", "ticket.subject", "ticket.status", "ticket.type", "ticket.deadline",
         "customer.name", "assignee.name")
UNKNOWN_PLACEHOLDER = N_("Unknown placeholder %(name)s; use %(known)s or ticket.<field key>.")
NAME_TAKEN = N_("A template with this name exists.")
NAME_NEEDED = N_("Give a name of 1 to 100 characters.")
BODY_NEEDED = N_("Write the text in at least one language.")


def _label(text: str, locale: str) -> str:
    from flask_babel import force_locale

    from web import i18n

    with force_locale(locale):
        return i18n.translate_label(text)


def _local(when, customer) -> str:
    """A time in the customer's zone (their account's, else the deployment's)."""
    if when is None:
        return ""
    from zoneinfo import ZoneInfo

    accounts = customer.accounts if customer is not None else []
    zone = next((a.timezone for a in accounts if a.timezone), None) or str(
        runtime.config("HOOKDESK_DEFAULT_TIMEZONE", "Europe/Moscow"))
    try:
        return when.astimezone(ZoneInfo(zone)).strftime("%d.%m.%Y %H:%M")
    except (KeyError, ValueError):
        return when.strftime("%d.%m.%Y %H:%M UTC")


def render(body: str, ticket: Ticket | None, locale: str = "ru") -> str:
    """Fill ``{{ticket.number}}``-style placeholders; unknown ones stay as written."""
    if ticket is None or "{{" not in body:
        return body
    customer, assignee = ticket.customer, ticket.assignee

    def one(match: re.Match) -> str:
        name = match.group(1)
        values = {
            "ticket.number": ticket.number, "ticket.subject": ticket.subject or "",
            "ticket.status": _label(ticket.status.name, locale),
            "ticket.type": _label(ticket.type.name, locale),
            "ticket.deadline": _local(ticket.deadline, customer),
            "customer.name": customer.name if customer else "",
            "assignee.name": (assignee.name or assignee.email) if assignee else "",
        }
        if name in values:
            return str(values[name])
        if name.startswith("ticket."):
            value = ticket.value(name[len("ticket."):])
            return "" if value is None else str(value)
        return match.group(0)

    return PLACEHOLDER.sub(one, body)


def check_placeholders(body: str) -> str | None:
    from kernel import fieldset

    keys = {f.key for f in fieldset.all_fields()}
    for name in PLACEHOLDER.findall(body or ""):
        if name in KNOWN or (name.startswith("ticket.") and name[7:] in keys):
            continue
        return name
    return None


def save_template(values: dict[str, Any], actor: User | None,
                  template: SmsTemplate | None = None) -> SmsTemplate:
    permissions.require(actor, MANAGE)
    name = str(values.get("name") or "").strip()
    body_ru, body_en = (str(values.get(k) or "").strip() for k in ("body_ru", "body_en"))
    refusals: list[SmsRefused] = []
    if not name or len(name) > 100:
        refusals.append(SmsRefused("name", NAME_NEEDED))
    elif db.session.scalar(db.select(SmsTemplate.id).where(
            SmsTemplate.name == name, SmsTemplate.id != (template.id if template else -1))):
        refusals.append(SmsRefused("name", NAME_TAKEN))
    if not body_ru and not body_en:
        refusals.append(SmsRefused("body_ru", BODY_NEEDED))
    for key, body in (("body_ru", body_ru), ("body_en", body_en)):
        bad = check_placeholders(body)
        if bad and not any(r.field == key for r in refusals):
            refusals.append(SmsRefused(key, UNKNOWN_PLACEHOLDER, name="{{" + bad + "}}",
                                       known=", ".join(KNOWN)))
    if refusals:
        raise combined(refusals)
    with unit_of_work():
        if template is None:
            template = SmsTemplate(created_at=utcnow())
            db.session.add(template)
        template.name, template.body_ru, template.body_en = name, body_ru, body_en
        template.is_active = bool(values.get("is_active", True))
    return template


def delete_template(template: SmsTemplate, actor: User | None) -> None:
    permissions.require(actor, MANAGE)
    with unit_of_work():
        db.session.delete(template)


def templates(active_only: bool = True) -> list[SmsTemplate]:
    query = db.select(SmsTemplate).order_by(SmsTemplate.name)
    if active_only:
        query = query.where(SmsTemplate.is_active.is_(True))
    return list(db.session.scalars(query))


def template_text(template: SmsTemplate, ticket: Ticket | None, locale: str) -> str:
    body = (template.body_ru if locale == "ru" else template.body_en) or \
        template.body_ru or template.body_en
    return render(body, ticket, locale)


def customer_locale(ticket: Ticket | None) -> str:
    customer = ticket.customer if ticket is not None else None
    accounts = customer.accounts if customer is not None else []
    found = next((a.locale for a in accounts if a.locale), None)
    return found or str(runtime.config("HOOKDESK_DEFAULT_LOCALE", "ru") or "ru")


def ticket_phones(ticket: Ticket) -> list[str]:
    """The numbers an SMS about ``ticket`` may go to: the customer's, then phone fields."""
    from kernel import fieldset

    found = [p.number for p in ticket.customer.phones] if ticket.customer else []
    for field in fieldset.for_type(ticket.type):
        value = ticket.value(field.key) if field.type == "phone" else None
        if value and str(value) not in found:
            found.append(str(value))
    return found


def for_ticket(ticket: Ticket) -> list[SmsMessage]:
    return list(db.session.scalars(db.select(SmsMessage).where(SmsMessage.ticket_id == ticket.id)
                                   .order_by(SmsMessage.id.desc())))


# -- the trigger action -----------------------------------------------------------------


def run_action(ticket, event, params, context) -> None:
    """``sms.send``: to the customer's phone (or a given number), a template or a text."""
    if params.get("to") == "phone":
        phone = params.get("phone") or ""
    else:
        found = ticket_phones(ticket)
        if not found:
            raise ValidationFailed({"phone": "The ticket's customer has no phone."})
        phone = found[0]
    locale = customer_locale(ticket)
    name = str(params.get("template") or "").strip()
    if name:
        template = db.session.scalar(db.select(SmsTemplate).where(SmsTemplate.name == name))
        if template is None:
            raise ValidationFailed({"template": f"No SMS template named {name!r}."})
        text = template_text(template, ticket, locale)
    else:
        text = render(str(params.get("text") or ""), ticket, locale)
    send(ticket, phone, text, actor=None, via=context["via"], key=context["idempotency_key"])
