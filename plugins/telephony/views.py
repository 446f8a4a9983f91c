"""Pages and endpoints of the telephony plugin (``/telephony``).

* ``POST /telephony/webhooks/generic`` and ``/telephony/webhooks/zadarma`` —
  provider events, signed (no CSRF: they come from the PBX, not a browser);
* ``GET /telephony/popup.json`` — calls ringing now, for the agents' pop-up
  (only agents who may see customers);
* ``POST /telephony/calls/<id>/ticket`` — open a ticket from a call;
* ``GET|POST /telephony/call`` — click-to-call: a confirmation, then the
  provider's originate/callback, synchronously, with the error shown;
* ``GET /telephony/calls`` — the call log; ``GET /telephony/customers/<id>`` —
  a customer with their open tickets and calls.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from kernel import declarations as d
from kernel import permissions, phones, runtime
from kernel.db import db, get_by_id, utcnow
from kernel.errors import NotFound, PermissionDenied, ValidationFailed
from kernel.i18n import N_
from kernel.models import Customer, Ticket, User
from kernel.services import customers as customer_service
from kernel.services import tickets
from kernel.services.uow import unit_of_work
from plugins.telephony import calls, config, generic, zadarma
from plugins.telephony.models import Call, Delivery
from web import i18n
from web.auth import agent_required, permission_required, safe_next, viewer
from web.security import csrf

bp = Blueprint("telephony", __name__, url_prefix="/telephony", template_folder="templates",
               static_folder="static", static_url_path="/static")

OUTCOME_LABELS = {"answered": N_("Answered"), "missed": N_("Missed"), "busy": N_("Busy")}
OUTCOME_TONES = {"answered": "success", "missed": "danger", "busy": "warning"}
STATE_LABELS = {"ringing": N_("Ringing"), "talking": N_("Talking"), "ended": N_("Ended")}
CUSTOMERS_VIEW = "customers.view"


# -- incoming events -----------------------------------------------------------------


def _take(fingerprint: str, event: calls.CallEvent) -> Call | None:
    """Apply an event once: its delivery row and the call's change commit together.
    None when the same request was seen before."""
    try:
        with unit_of_work():
            seen = db.session.scalar(db.select(Delivery.id).where(
                Delivery.fingerprint == fingerprint))
            if seen is not None:
                return None
            db.session.add(Delivery(fingerprint=fingerprint, provider=event.provider,
                                    provider_call_id=event.call_id[:200],
                                    event=event.kind, received_at=utcnow()))
            db.session.flush()
            return calls.apply(event)
    except IntegrityError:  # the same request, at the same moment, on another worker
        return None


def _refused(status: int, message: str, errors: dict | None = None):
    body = {"error": message}
    if errors:
        body["errors"] = errors
    return jsonify(body), status


@bp.post("/webhooks/generic")
@csrf.exempt
def webhook_generic():
    values = config.values("generic")
    body = request.get_data(cache=True)
    try:
        fingerprint = generic.verify(
            values["secret"], request.headers.get("X-Hookdesk-Timestamp", ""),
            request.headers.get("X-Hookdesk-Signature", ""), body,
            int(config.values("main")["signature_window"]))
        event = generic.parse(body)
        call = _take(fingerprint, event)
    except generic.SignatureRefused as exc:
        return _refused(401, str(exc))
    except ValidationFailed as exc:
        return _refused(422, "The event is not valid.", exc.errors)
    if call is None:
        return _refused(409, "This request was already received (a replay).")
    return jsonify(status="ok", call=call.id, state=call.state, outcome=call.outcome)


@bp.route("/webhooks/zadarma", methods=["GET", "POST"])
@csrf.exempt
def webhook_zadarma():
    if request.method == "GET":
        echo = request.args.get("zd_echo", "")
        return (echo[:200], 200, {"Content-Type": "text/plain"}) if echo else ("", 204)
    values = config.values("zadarma")
    form = {k: v for k, v in request.form.items()}
    try:
        fingerprint = zadarma.verify(values["api_secret"], form,
                                     request.headers.get("Signature", ""))
        event = zadarma.parse(form, values["timezone"], utcnow())
        call = _take(fingerprint, event)
    except zadarma.SignatureRefused as exc:
        return _refused(401, str(exc))
    except ValidationFailed as exc:
        return _refused(422, "The event is not valid.", exc.errors)
    if call is None:
        return jsonify(status="duplicate")
    return jsonify(status="ok")


# -- the pop-up ------------------------------------------------------------------------


def _customer_json(customer: Customer, user: User) -> dict:
    open_tickets = [t for t in customer_service.open_tickets(customer)
                    if permissions.can_view_ticket(user, t)]
    return {
        "id": customer.id, "name": customer.name,
        "url": url_for("telephony.customer", customer_id=customer.id),
        "phones": [phones.display(p.number) for p in customer.phones],
        "tickets": [{"number": t.number, "subject": t.subject,
                     "status": i18n.translate_label(t.status.name),
                     "url": url_for("agent.ticket", ticket_id=t.id)} for t in open_tickets],
    }


@bp.get("/popup.json")
@agent_required
def popup():
    """Calls ringing now; 403 for agents who may not see customers."""
    user = viewer()
    if not permissions.has(user, CUSTOMERS_VIEW):
        return _refused(403, _("You are not allowed to see customers."))
    result = []
    for call in calls.ringing(user):
        ticket = get_by_id(Ticket, call.ticket_id) if call.ticket_id else None
        result.append({
            "id": call.id,
            "number": phones.display(call.phone) if call.phone else call.external_number,
            "since": call.started_at.isoformat() if call.started_at else None,
            "agent": (call.agent.name or call.agent.email) if call.agent else None,
            "customer": _customer_json(call.customer, user) if call.customer else None,
            "ticket": ({"number": ticket.number,
                        "url": url_for("agent.ticket", ticket_id=ticket.id)}
                       if ticket is not None and permissions.can_view_ticket(user, ticket)
                       else None),
            "open_url": url_for("telephony.open_ticket", call_id=call.id),
        })
    response = jsonify(calls=result)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/calls/<int:call_id>/ticket")
@permission_required("tickets.create")
def open_ticket(call_id: int):
    user = viewer()
    try:
        call = calls.get(call_id, user)
        ticket = calls.open_ticket(call, user)
    except (NotFound, PermissionDenied):
        abort(404)
    except ValidationFailed as exc:
        flash(_("The ticket could not be opened: %(why)s",
                why=" ".join(sum(i18n.translate_errors(exc.errors).values(), []))), "error")
        return redirect(url_for("telephony.calls_page"), code=303)
    flash(_("Ticket %(number)s is opened for the call.", number=ticket.number), "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket.id), code=303)


@bp.get("/calls/<int:call_id>/recording")
@permission_required(CUSTOMERS_VIEW)
def recording(call_id: int):
    """The call's recording: its own link, or one the provider makes on demand."""
    try:
        call = calls.get(call_id, viewer())
    except (NotFound, PermissionDenied):
        abort(404)
    if call.recording_url:
        return redirect(call.recording_url)
    if call.recorded and call.provider == "zadarma":
        try:
            return redirect(zadarma.recording_link(config.values("zadarma"),
                                                   call.provider_call_id))
        except calls.CallFailed as exc:
            flash(f"{_(exc.message)} {exc.detail}".strip(), "error")
            return redirect(safe_next(request.referrer) or url_for("telephony.calls_page"))
    abort(404)


# -- click-to-call -------------------------------------------------------------------


def can_call(user: User | None) -> bool:
    """T3: an agent may call when telephony is configured and they have an extension."""
    return (user is not None and user.is_agent and bool(config.provider())
            and bool(config.extension_of(user)))


def originate(provider: str, extension: str, number: str, agent: User) -> str:
    """The adapter's originate/callback; ``CallFailed`` saying why not."""
    if provider == "generic":
        return generic.originate(config.values("generic"), extension, number, agent.email)
    if provider == "zadarma":
        return zadarma.originate(config.values("zadarma"), extension, number)
    from plugins.telephony import asterisk

    return asterisk.originate(config.values("asterisk"), extension, number)


def _call_target():
    raw = (request.values.get("to") or "").strip()
    try:
        number = phones.normalize(raw, runtime.config("HOOKDESK_DEFAULT_REGION", "RU"))
    except phones.InvalidPhone:
        number = None
    ticket = None
    ticket_id = request.values.get("ticket", "")
    if ticket_id.isdigit():
        try:
            ticket = tickets.require_ticket(int(ticket_id), viewer())
        except NotFound:
            ticket = None
    return raw, number, ticket


@bp.route("/call", methods=["GET", "POST"])
@agent_required
def call():
    user = viewer()
    if not can_call(user):
        abort(404)
    raw, number, ticket = _call_target()
    back = safe_next(request.values.get("next")) or (
        url_for("agent.ticket", ticket_id=ticket.id) if ticket else url_for("agent.index"))
    error = None if number else _("“%(number)s” is not a phone number.", number=raw)
    status = 200 if number else 422
    if request.method == "POST" and number:
        provider = config.provider()
        try:
            call_id = originate(provider, config.extension_of(user), number, user)
        except calls.CallFailed as exc:
            why = f"{_(exc.message)} {exc.detail}".strip()
            error, status = _("The call was not placed: %(why)s", why=why), 502
        else:
            calls.record_outgoing(provider, call_id, user, number, ticket)
            flash(_("Calling %(number)s: your phone rings first.",
                    number=phones.display(number)), "success")
            return redirect(back, code=303)
    return render_template(
        "telephony/call.html", number=number, raw=raw, ticket=ticket, back=back, error=error,
        extension=config.extension_of(user), customer=calls.customer_for(number),
    ), status


# -- reading -----------------------------------------------------------------------------


@bp.get("/calls")
@permission_required(CUSTOMERS_VIEW)
def calls_page():
    return render_template("telephony/calls.html", calls=calls.recent(200), **_labels())


@bp.get("/customers/<int:customer_id>")
@permission_required(CUSTOMERS_VIEW)
def customer(customer_id: int):
    user = viewer()
    try:
        found = customer_service.get(customer_id, user)
    except (NotFound, PermissionDenied):
        abort(404)
    open_tickets = [t for t in customer_service.open_tickets(found)
                    if permissions.can_view_ticket(user, t)]
    return render_template("telephony/customer.html", customer=found, open_tickets=open_tickets,
                           calls=calls.for_customer(found), **_labels())


def _labels() -> dict:
    return {"outcome_labels": OUTCOME_LABELS, "outcome_tones": OUTCOME_TONES,
            "state_labels": STATE_LABELS, "when": calls.when, "show_phone": phones.display}


def card_panels(ticket: Ticket, user: User) -> list[d.Panel] | None:
    """The calls of a ticket, on the agents' card only (staff), for those who may see
    customers (the callers' numbers are theirs, A3)."""
    if user is None or not user.is_agent or not permissions.has(user, CUSTOMERS_VIEW):
        return None
    found = calls.for_ticket(ticket)
    if not found:
        return None
    return [d.Panel("telephony.calls", N_("Calls"), "telephony/_panel.html",
                    context={"calls": found, "can_see_customers": True, **_labels()},
                    order=30, placement="side", audience="staff")]
