"""Pages of the SMS plugin seen by agents: the SMS panel on the ticket card (a
template, the number, the text with its length and parts counted live, the
messages sent and their status), the card's "Send SMS" button, the SMS icon
beside phone numbers (T3), a send page for a number without a ticket, and the
address SMS.ru posts delivery reports to.

The admin screens (gateway settings, templates, the dev gateway's messages,
opt-outs) are in ``plugins.sms.admin``."""

from __future__ import annotations

import hmac

from flask import (
    Blueprint,
    abort,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from kernel import declarations as d
from kernel import permissions
from kernel.errors import NotFound, PermissionDenied, ValidationFailed
from kernel.i18n import N_
from kernel.models import Ticket, User
from kernel.services import settings, tickets
from plugins.sms import segments, service
from plugins.sms.gateways.smsru import parse_callback
from web import i18n
from web.auth import agent_required, viewer
from web.security import csrf

bp = Blueprint("sms", __name__, url_prefix="/sms", template_folder="templates",
               static_folder="static", static_url_path="/static")

STATUS_LABELS = {"queued": N_("Queued"), "sent": N_("Sent, awaiting the report"),
                 "delivered": N_("Delivered"),
                 "undelivered": N_("Not delivered"), "failed": N_("Failed")}
STATUS_TONES = {"queued": "neutral", "sent": "info", "delivered": "success",
                "undelivered": "danger", "failed": "danger"}


def may_send(user: User | None) -> bool:
    return (user is not None and user.is_agent and service.configured()
            and permissions.has(user, service.SEND))


def card_panels(ticket: Ticket, viewer_: User) -> list[d.Panel] | None:
    """The SMS panel, for agents who may send, while a gateway is configured."""
    if viewer_ is None or viewer_.is_customer:
        return None
    sent = service.for_ticket(ticket)
    if not may_send(viewer_) and not sent:
        return None
    locale = service.customer_locale(ticket)
    choices = [{"id": t.id, "name": t.name,
                "ru": service.template_text(t, ticket, "ru"),
                "en": service.template_text(t, ticket, "en")} for t in service.templates()]
    return [d.Panel("sms", N_("SMS"), "sms/_panel.html", order=30, audience="staff", context={
        "can_send": may_send(viewer_), "messages": sent, "templates": choices,
        "locale": locale, "phones": service.ticket_phones(ticket),
        "status_labels": STATUS_LABELS, "status_tones": STATUS_TONES,
        "chosen_phone": request.args.get("sms_to", "") if has_request_context() else "",
        "max_parts": settings.get("sms.max_parts") or 6,
    })]


def card_buttons(ticket: Ticket, viewer_: User) -> list[d.Button] | None:
    if not may_send(viewer_):
        return None
    return [d.Button("sms.send", N_("Send SMS"),
                     url_for("agent.ticket", ticket_id=ticket.id, _anchor="sms"), method="get",
                     icon="✉", order=40)]


def phone_actions(phone: str, viewer_: User, ticket: Ticket | None) -> list[d.PhoneAction] | None:
    """T3: the SMS icon only when the plugin is enabled (this hook runs) and a gateway
    is configured, for agents who may send."""
    if not may_send(viewer_):
        return None
    if ticket is not None:
        url = url_for("agent.ticket", ticket_id=ticket.id, sms_to=phone, _anchor="sms")
    else:
        url = url_for("sms.new", phone=phone)
    return [d.PhoneAction("sms", N_("Send SMS"), url, icon="✉")]


def _flash(exc: ValidationFailed) -> None:
    for refusal in getattr(exc, "all", None) or [exc]:
        if isinstance(refusal, service.SmsRefused):
            flash(_(refusal.msgid, **refusal.values), "error")
        else:
            for messages in i18n.translate_errors(refusal.errors).values():
                for message in messages:
                    flash(message, "error")


@bp.post("/tickets/<int:ticket_id>/send")
@agent_required
def send(ticket_id: int):
    """The panel's form: send one SMS about the ticket."""
    try:
        ticket = tickets.require_ticket(ticket_id, viewer())
    except NotFound:
        abort(404)
    phone = request.form.get("phone_other", "").strip() or request.form.get("phone", "")
    try:
        message = service.send(ticket, phone, request.form.get("text", ""), actor=viewer(),
                               via="web")
    except PermissionDenied:
        abort(403)
    except ValidationFailed as exc:
        _flash(exc)
    else:
        flash(_("The SMS to %(phone)s is queued (%(parts)s part(s)).",
                phone=message.phone, parts=message.parts), "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket.id, _anchor="sms"), code=303)


@bp.route("/new", methods=["GET", "POST"])
@agent_required
def new():
    """Send an SMS to a number that is on no ticket (the icon beside a customer's phone)."""
    user = viewer()
    if not permissions.has(user, service.SEND):
        abort(403)
    phone = request.values.get("phone", "")
    text = request.form.get("text", "")
    if request.method == "POST":
        try:
            message = service.send(None, phone, text, actor=user, via="web")
        except ValidationFailed as exc:
            _flash(exc)
        else:
            flash(_("The SMS to %(phone)s is queued (%(parts)s part(s)).",
                    phone=message.phone, parts=message.parts), "success")
            return redirect(url_for("sms.new", phone=message.phone), code=303)
    return render_template("sms/new.html", phone=phone, text=text,
                           configured=service.configured(),
                           templates=[{"id": t.id, "name": t.name,
                                       "ru": service.template_text(t, None, "ru"),
                                       "en": service.template_text(t, None, "en")}
                                      for t in service.templates()],
                           counted=segments.count(text))


@bp.post("/callback/smsru/<token>")
@csrf.exempt
def smsru_callback(token: str):
    """SMS.ru's delivery reports. The secret in the address (``sms.callback_token``)
    is compared in constant time; SMS.ru wants ``100`` back, else it repeats."""
    secret = str(settings.get("sms.callback_token") or "")
    if not secret or not hmac.compare_digest(secret.encode(), token.encode()):
        abort(404)
    values = [v for k, v in sorted(request.form.items(multi=True)) if k.startswith("data")]
    for item in parse_callback(values):
        service.report("smsru", item.provider_id, item.status, item.detail)
    return "100", 200, {"Content-Type": "text/plain; charset=utf-8"}

