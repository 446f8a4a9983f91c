"""The embeddable request form (O1) for a company's own site.

* ``GET  /orders/form``         — the form as a page to put in an ``<iframe>``
  (framing allowed for the origins of the setting ``orders.form_origins``).
* ``GET  /orders/form/token``   — a fresh signed start time for a plain HTML form
  pasted on the site (JSON, CORS for allowed origins).
* ``POST /orders/form``         — the endpoint both post to; answers JSON when
  asked (``Accept: application/json`` or a JSON body), else a plain page.

Anti-spam without a third-party service: a honeypot field (``website``) a person
never fills; a signed start time (``started``) — a form sent faster than
``orders.form_min_seconds`` or with a forged or stale time is refused; and at
most ``orders.form_rate_limit`` posts per hour from one address (``orders_form_hits``).
A post carrying an ``Origin`` that is neither this site nor in
``orders.form_origins`` is refused (403) before anything is written."""

from __future__ import annotations

import time
from datetime import timedelta

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, func, select

from kernel.db import db, utcnow
from kernel.errors import ValidationFailed
from kernel.i18n import N_
from kernel.services import settings
from kernel.services.uow import unit_of_work
from plugins.orders import service
from plugins.orders.models import FormHit
from web import i18n

bp = Blueprint("orders_form", __name__, url_prefix="/orders/form",
               template_folder="templates")

HONEYPOT = "website"
TOKEN_FIELD = "started"
TOKEN_MAX_AGE = 24 * 3600
WINDOW = timedelta(hours=1)
FIELDS = ("name", "email", "phone", "subject", "details", "address", "budget")


def init_app(app) -> None:
    from web.security import csrf

    csrf.exempt(bp)


# -- anti-spam --------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="orders.form")


def new_token() -> str:
    return _serializer().dumps({"t": time.time()})


def check_token(token: str | None, now: float | None = None) -> None:
    """Refuse a missing, forged or stale start time, or a form filled too fast."""
    if not token:
        raise ValidationFailed({TOKEN_FIELD: N_("The form is out of date; load it again.")})
    try:
        data = _serializer().loads(token, max_age=TOKEN_MAX_AGE)
        started = float(data["t"])
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise ValidationFailed(
            {TOKEN_FIELD: N_("The form is out of date; load it again.")}) from exc
    minimum = _number("orders.form_min_seconds", 3)
    if (now if now is not None else time.time()) - started < minimum:
        raise ValidationFailed({TOKEN_FIELD: N_("The form was sent too quickly; "
                                                "please check it and send it again.")})


def _number(key: str, default: float) -> float:
    try:
        return float(settings.get(key, default))
    except (TypeError, ValueError):
        return default


def address() -> str:
    return (request.remote_addr or "unknown")[:64]


def over_limit(addr: str) -> bool:
    """Count this post and say whether the address is over its hourly limit. Every
    post counts, refused ones too, so a flood stays refused."""
    limit = int(_number("orders.form_rate_limit", 5))
    now = utcnow()
    with unit_of_work():
        db.session.execute(delete(FormHit).where(FormHit.at < now - timedelta(days=1)))
        recent = db.session.scalar(select(func.count(FormHit.id)).where(
            FormHit.address == addr, FormHit.at >= now - WINDOW)) or 0
        db.session.add(FormHit(address=addr, at=now))
    return recent >= limit


# -- origins and CORS ------------------------------------------------------------------------


def allowed_origins() -> list[str]:
    raw = str(settings.get("orders.form_origins", "") or "")
    return [o.strip().rstrip("/").lower() for o in raw.replace(",", " ").split() if o.strip()]


def _own_origin() -> str:
    return request.host_url.rstrip("/").lower()


def origin_allowed(origin: str | None) -> bool:
    """No Origin (a same-site page, a server) or our own: allowed; else the list."""
    if not origin:
        return True
    origin = origin.rstrip("/").lower()
    return origin == _own_origin() or origin in allowed_origins()


def _cors(response):
    origin = request.headers.get("Origin")
    if origin and origin.rstrip("/").lower() in allowed_origins():
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, Accept"
        response.headers["Access-Control-Max-Age"] = "600"
    response.headers.add("Vary", "Origin")
    return response


def _frame_policy(response):
    """Let the allowed sites frame the form page (CSP ``frame-ancestors`` supersedes
    ``X-Frame-Options`` in browsers)."""
    ancestors = " ".join(["'self'", *allowed_origins()])
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        f"form-action 'self'; frame-ancestors {ancestors}")
    return response


# -- answers ------------------------------------------------------------------------------------


def _wants_json() -> bool:
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > \
        request.accept_mimetypes["text/html"]


def _answer(status: int, ok: bool, message: str, errors: dict | None = None,
            number: str | None = None, values: dict | None = None):
    if _wants_json():
        body = {"ok": ok, "message": message}
        if errors:
            body["errors"] = errors
        if number:
            body["number"] = number
        response = jsonify(body)
    else:
        response = current_app.make_response(render_template(
            "orders/form_answer.html" if ok or not values else "orders/form.html",
            ok=ok, message=message, errors=errors or {}, number=number, values=values or {},
            token=new_token(), honeypot=HONEYPOT, token_field=TOKEN_FIELD, embedded=True))
    response.status_code = status
    return _frame_policy(_cors(response))


def _form_data() -> dict:
    if request.is_json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}
    return {k: request.form.get(k) for k in (*FIELDS, HONEYPOT, TOKEN_FIELD)}


# -- routes ----------------------------------------------------------------------------------------


@bp.route("", methods=["OPTIONS"])
@bp.route("/token", methods=["OPTIONS"])
def preflight():
    if not origin_allowed(request.headers.get("Origin")):
        return _cors(current_app.make_response(("", 403)))
    return _cors(current_app.make_response(("", 204)))


@bp.get("")
def form():
    """The form page for an ``<iframe>`` on the company's site."""
    response = current_app.make_response(render_template(
        "orders/form.html", values={}, errors={}, token=new_token(), honeypot=HONEYPOT,
        token_field=TOKEN_FIELD, embedded=True))
    return _frame_policy(response)


@bp.get("/token")
def token():
    if not origin_allowed(request.headers.get("Origin")):
        return _cors(jsonify({"ok": False, "message": _("This site may not use the form.")})), 403
    return _cors(jsonify({"ok": True, TOKEN_FIELD: new_token(), "honeypot": HONEYPOT}))


@bp.post("")
def submit():
    """A request from the company's site: JSON or a plain page in answer."""
    if not origin_allowed(request.headers.get("Origin")):
        return _answer(403, False, _("This site may not use the form."))
    if over_limit(address()):
        return _answer(429, False, _("Too many requests from your address; please try again "
                                     "in an hour."))
    data = _form_data()
    values = {k: data.get(k) for k in FIELDS if isinstance(data.get(k), str)}
    if data.get(HONEYPOT):
        return _answer(400, False, _("The form was not accepted."))
    try:
        check_token(data.get(TOKEN_FIELD) if isinstance(data.get(TOKEN_FIELD), str) else None)
        ticket = service.submit_public_request(data)
    except ValidationFailed as exc:
        errors = i18n.translate_errors({k: v if isinstance(v, list) else [str(v)]
                                        for k, v in exc.errors.items()})
        return _answer(422, False, _("Please correct the form."), errors=errors, values=values)
    return _answer(201, True, _("Thank you! Your request %(number)s is received; we will "
                                "contact you soon.", number=ticket.number), number=ticket.number)
