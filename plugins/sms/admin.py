"""Admin screens of the SMS plugin: ``/admin/sms`` (needs "sms.manage"; saving
the gateway settings needs "admin.settings" too, as every live setting does).

* the gateway: which one, the sender name, SMS.ru's api_id and address, the
  SMPP host, port and credentials, the rate limit and the longest text; the
  delivery report address to give SMS.ru;
* templates (Russian and English, ticket placeholders);
* every message sent, with its status;
* the development gateway's messages, with buttons that play a delivery report;
* opt-outs: numbers that asked not to get SMS (a "STOP" reply adds one).

Every change goes through ``plugins.sms.service`` or the kernel's settings
service; refusals are shown under the field they name, nothing half-saved."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.db import db, get_by_id
from kernel.errors import PermissionDenied, ValidationFailed
from kernel.i18n import N_
from kernel.services import settings
from kernel.services.uow import unit_of_work
from plugins.sms import GATEWAY_CHOICES, gateways, service
from plugins.sms.models import SmsDevMessage, SmsMessage, SmsOptOut, SmsTemplate
from plugins.sms.views import STATUS_LABELS, STATUS_TONES
from web import i18n
from web.admin import SECTIONS, Section, sections_for
from web.auth import permission_required, viewer

bp = Blueprint("sms_admin", __name__, url_prefix="/admin/sms", template_folder="templates")

SECTION = Section("sms", N_("SMS"), "sms_admin.index", service.MANAGE, order=58,
                  description=N_("The SMS gateway, templates, messages sent, opt-outs."))
if SECTION not in SECTIONS:
    SECTIONS.append(SECTION)

manage_required = permission_required(service.MANAGE)
FIELDS = ("gateway", "sender", "rate_limit", "max_parts", "smsru_api_id", "smsru_url",
          "smsru_test", "smpp_host", "smpp_port", "smpp_system_id", "smpp_password",
          "smpp_system_type")
SECRETS = ("smsru_api_id", "smpp_password")

# Refusals of the settings form.
BAD_CHOICE = N_("Choose one of the listed gateways.")
BAD_NUMBER = N_("A whole number from %(low)s to %(high)s.")
REQUIRED = N_("Required for this gateway.")
BAD_URL = N_("An address starting with http:// or https://.")
TOO_LONG = N_("At most %(n)s characters.")
BAD_SENDER = N_("Up to 11 Latin letters, digits and spaces, or a number of up to 15 digits.")


@bp.context_processor
def _context() -> dict:
    user = viewer()
    return {"admin_sections": sections_for(user) if user is not None else []}


def _refuse(problems: dict, key: str, msgid: str, **values) -> None:
    problems.setdefault(key, _(msgid, **values))


def _number(form, key: str, low: int, high: int, problems: dict) -> int | None:
    raw = (form.get(key) or "").strip()
    if raw.isdigit() and low <= int(raw) <= high:
        return int(raw)
    _refuse(problems, key, BAD_NUMBER, low=low, high=high)
    return None


def parse_settings(form) -> tuple[dict, dict]:
    """``({setting: value}, {field: message})`` from the settings form."""
    values, problems = {}, {}
    gateway = (form.get("gateway") or "").strip()
    if gateway not in [key for key, _label in GATEWAY_CHOICES]:
        _refuse(problems, "gateway", BAD_CHOICE)
    values["gateway"] = gateway
    sender = (form.get("sender") or "").strip()
    digits = sender.lstrip("+")
    if sender and not ((digits.isdigit() and len(digits) <= 15) or
                       (len(sender) <= 11 and all(ch.isascii() and (ch.isalnum() or ch in " .-")
                                                  for ch in sender))):
        _refuse(problems, "sender", BAD_SENDER)
    values["sender"] = sender
    values["rate_limit"] = _number(form, "rate_limit", 0, 1000, problems)
    values["max_parts"] = _number(form, "max_parts", 1, 10, problems)
    values["smsru_test"] = form.get("smsru_test") in ("y", "on", "1", "true")
    for key in ("smsru_api_id", "smsru_url", "smpp_host", "smpp_system_id", "smpp_password",
                "smpp_system_type"):
        values[key] = (form.get(key) or "").strip()
    for key in SECRETS:  # an empty secret field keeps the saved one
        if not values[key]:
            values[key] = str(settings.get(f"sms.{key}") or "")
    limits = {"smsru_api_id": 100, "smsru_url": 200, "smpp_host": 200, "smpp_system_id": 15,
              "smpp_password": 8, "smpp_system_type": 12}
    for key, n in limits.items():
        if len(values[key]) > n:
            _refuse(problems, key, TOO_LONG, n=n)
    if values["smsru_url"] and not values["smsru_url"].startswith(("http://", "https://")):
        _refuse(problems, "smsru_url", BAD_URL)
    raw_port = (form.get("smpp_port") or "").strip()
    values["smpp_port"] = _number(form, "smpp_port", 1, 65535, problems) if (
        raw_port or gateway == "smpp") else 2775
    if gateway:
        for name in gateways.REQUIRED.get(gateway, ()):
            key = name.removeprefix("sms.")
            if not values.get(key):
                _refuse(problems, key, REQUIRED)
    return values, problems


def _settings_view(values: dict | None = None, problems: dict | None = None, status: int = 200):
    current = {key: settings.get(f"sms.{key}") for key in FIELDS}
    shown = {**current, **(values or {})}
    for key in SECRETS:
        shown[f"{key}_set"] = bool(current.get(key))
    token = settings.get("sms.callback_token") or ""
    callback = url_for("sms.smsru_callback", token=token, _external=True) if token else ""
    return render_template("sms/admin/settings.html", values=shown, errors=problems or {},
                           choices=GATEWAY_CHOICES, configured=gateways.is_configured(),
                           callback=callback), status


@bp.get("")
@manage_required
def index():
    return _settings_view()


@bp.post("")
@manage_required
def save_settings():
    values, problems = parse_settings(request.form)
    if problems:
        flash(_("The settings are not saved: see the marked fields."), "error")
        return _settings_view(values, problems, 422)
    try:
        with unit_of_work():
            for key, value in values.items():
                settings.set(f"sms.{key}", value, actor=viewer())
            if values["gateway"] == "smsru" and not settings.get("sms.callback_token"):
                settings.set("sms.callback_token", secrets.token_urlsafe(24), actor=viewer())
    except PermissionDenied:
        abort(403)
    flash(_("SMS settings saved."), "success")
    return redirect(url_for("sms_admin.index"), code=303)


# -- templates ---------------------------------------------------------------------------


def _template_errors(exc: ValidationFailed) -> dict:
    refusals = getattr(exc, "all", None) or [exc]
    found: dict[str, str] = {}
    for refusal in refusals:
        if isinstance(refusal, service.SmsRefused):
            found[refusal.field] = _(refusal.msgid, **refusal.values)
        else:
            for key, messages in refusal.errors.items():
                found[key] = " ".join(i18n.translate_message(m) for m in messages)
    return found


@bp.get("/templates")
@manage_required
def templates_page(form=None, errors=None, status=200):
    return render_template("sms/admin/templates.html", templates=service.templates(False),
                           form=form or {"is_active": True}, errors=errors or {},
                           known=service.KNOWN), status


@bp.post("/templates")
@manage_required
def create_template():
    form = {"name": request.form.get("name", ""), "body_ru": request.form.get("body_ru", ""),
            "body_en": request.form.get("body_en", ""),
            "is_active": request.form.get("is_active") is not None}
    try:
        template = service.save_template(form, viewer())
    except ValidationFailed as exc:
        return templates_page(form, _template_errors(exc), 422)
    flash(_("Template “%(name)s” saved.", name=template.name), "success")
    return redirect(url_for("sms_admin.templates_page"), code=303)


@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
@manage_required
def edit_template(template_id: int):
    template = get_by_id(SmsTemplate, template_id)
    if template is None:
        abort(404)
    form = {"name": template.name, "body_ru": template.body_ru, "body_en": template.body_en,
            "is_active": template.is_active}
    errors, status = {}, 200
    if request.method == "POST":
        if request.form.get("delete"):
            service.delete_template(template, viewer())
            flash(_("Template deleted."), "success")
            return redirect(url_for("sms_admin.templates_page"), code=303)
        form = {"name": request.form.get("name", ""), "body_ru": request.form.get("body_ru", ""),
                "body_en": request.form.get("body_en", ""),
                "is_active": request.form.get("is_active") is not None}
        try:
            service.save_template(form, viewer(), template)
        except ValidationFailed as exc:
            errors, status = _template_errors(exc), 422
        else:
            flash(_("Template “%(name)s” saved.", name=template.name), "success")
            return redirect(url_for("sms_admin.templates_page"), code=303)
    return render_template("sms/admin/template.html", template=template, form=form,
                           errors=errors, known=service.KNOWN), status


# -- messages, the dev gateway, opt-outs ----------------------------------------------------


@bp.get("/messages")
@manage_required
def messages():
    rows = db.session.scalars(db.select(SmsMessage).order_by(SmsMessage.id.desc())
                              .limit(200)).all()
    return render_template("sms/admin/messages.html", messages=rows,
                           status_labels=STATUS_LABELS, status_tones=STATUS_TONES)


@bp.get("/dev")
@manage_required
def dev():
    rows = db.session.scalars(db.select(SmsDevMessage).order_by(SmsDevMessage.id.desc())
                              .limit(200)).all()
    return render_template("sms/admin/dev.html", messages=rows, status_labels=STATUS_LABELS,
                           status_tones=STATUS_TONES, active=gateways.chosen() == "dev")


@bp.post("/dev/<int:dev_id>/report")
@manage_required
def dev_report(dev_id: int):
    """Play back a delivery report for a message the dev gateway "sent"."""
    row = get_by_id(SmsDevMessage, dev_id)
    state = request.form.get("status", "")
    if row is None:
        abort(404)
    if state not in ("delivered", "undelivered"):
        flash(_("Choose delivered or not delivered."), "error")
        return redirect(url_for("sms_admin.dev"), code=303)
    with unit_of_work():
        row.status = state
    service.report("dev", row.provider_id, state, "dev gateway")
    flash(_("Delivery report recorded."), "success")
    return redirect(url_for("sms_admin.dev"), code=303)


@bp.get("/opt-outs")
@manage_required
def opt_outs(phone: str = "", note: str = "", error: str = "", status: int = 200):
    rows = db.session.scalars(db.select(SmsOptOut).order_by(SmsOptOut.id.desc())).all()
    return render_template("sms/admin/opt_outs.html", rows=rows, phone=phone, note=note,
                           error=error), status


@bp.post("/opt-outs")
@manage_required
def add_opt_out():
    phone, note = request.form.get("phone", ""), request.form.get("note", "")
    try:
        row = service.opt_out(phone, viewer(), note=note)
    except service.SmsRefused as exc:
        return opt_outs(phone, note, _(exc.msgid, **exc.values), 422)
    flash(_("%(phone)s gets no more SMS.", phone=row.phone), "success")
    return redirect(url_for("sms_admin.opt_outs"), code=303)


@bp.post("/opt-outs/<int:row_id>/delete")
@manage_required
def remove_opt_out(row_id: int):
    row = get_by_id(SmsOptOut, row_id)
    if row is None:
        abort(404)
    service.opt_in(row.phone, viewer())
    flash(_("%(phone)s may get SMS again.", phone=row.phone), "success")
    return redirect(url_for("sms_admin.opt_outs"), code=303)

