"""The admin index, the plugins list and the live settings of plugins."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from kernel import runtime
from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.models import TicketType
from kernel.services import settings as settings_service
from web import i18n
from web.admin import ADMIN_PERMISSIONS, admin_required, bp, sections_for
from web.admin.common import show_errors
from web.auth import viewer
from web.forms import options


@bp.get("/")
@admin_required(ADMIN_PERMISSIONS)
def index():
    return render_template("admin/index.html", sections=sections_for(viewer()))


@bp.get("/outbox")
@admin_required()
def outbox():
    """Side effects waiting, sent and failed (R3), with the error of each failure."""
    from flask import request

    from kernel import outbox as outbox_service

    status = request.args.get("status") or "failed"
    if status not in ("pending", "held", "sending", "sent", "merged", "failed"):
        status = "failed"
    return render_template("admin/outbox.html", status=status,
                           messages=outbox_service.log(status=status, limit=200))


@bp.post("/outbox/<int:message_id>/retry")
@admin_required()
def outbox_retry(message_id: int):
    from flask import abort

    from kernel import outbox as outbox_service
    from kernel.db import get_by_id
    from kernel.models import OutboxMessage

    message = get_by_id(OutboxMessage, message_id)
    if message is None:
        abort(404)
    outbox_service.retry(message)
    flash(_("The message is queued again."), "success")
    return redirect(url_for("admin.outbox", status="pending"))


@bp.get("/audit")
@admin_required(ADMIN_PERMISSIONS)
def audit():
    """The configuration change log (K3), newest first."""
    from kernel.services import audit as audit_service
    from web.admin import audit_words

    return render_template("admin/audit.html", audit_entries=audit_service.recent(200),
                           words=audit_words)


@bp.get("/plugins")
@admin_required()
def plugins():
    host = runtime.host()
    from kernel.plugins import discover

    enabled = host.infos
    installed = {}
    try:
        installed = discover()
    except Exception:  # noqa: BLE001 - a broken third-party package must not hide the page
        installed = {}
    described = _descriptions()
    rows = []
    for name in sorted(set(enabled) | set(installed)):
        info = enabled.get(name) or installed[name]
        title, summary = described.get(name, (None, None))
        rows.append({"name": name, "version": info.version, "builtin": info.builtin,
                     "distribution": info.distribution, "enabled": name in enabled,
                     "title": title, "description": summary or info.description})
    return render_template("admin/plugins.html", rows=rows,
                           configured=current_app.config.get("HOOKDESK_PLUGINS"))


def _descriptions() -> dict[str, tuple[str, str]]:
    """Enabled plugins' own title and summary, in the reader's language (X2). A
    disabled plugin's code never runs: it shows its name and docstring."""
    return {name: (i18n.translate_label(decl.title), i18n.translate_label(decl.summary))
            for name, decl in runtime.host().collect("hookdesk_describe_plugin")}


# -- live settings ------------------------------------------------------------------


def _setting_choices(key: str, decl) -> list[tuple[str, str]]:
    if key == "kernel.default_ticket_type":
        types = db.session.scalars(
            db.select(TicketType).where(TicketType.is_active.is_(True))
            .order_by(TicketType.order, TicketType.key))
        return [(t.key, i18n.translate_label(t.name)) for t in types]
    return [(str(v), i18n.translate_label(lbl)) for v, lbl in decl.choices]


def _field_name(key: str) -> str:
    return "s_" + key.replace(".", "__")


def _settings_form(formdata: Any = None) -> FlaskForm:
    registry = runtime.host().registry
    attrs: dict[str, Any] = {"settings_keys": {}}
    data: dict[str, Any] = {}
    for key, entry in sorted(registry.settings.items()):
        decl = entry.decl
        name = _field_name(key)
        attrs["settings_keys"][name] = (key, entry.plugin, decl)
        common = {"label": i18n.translate_label(decl.label),
                  "description": i18n.translate_label(decl.help_text)}
        value = settings_service.get(key)
        if decl.type == "flag":
            attrs[name] = BooleanField(**common)
            data[name] = bool(value)
        elif decl.type == "choice":
            attrs[name] = SelectField(choices=options([("", "—"), *_setting_choices(key, decl)]),
                                      validate_choice=False, **common)
            data[name] = "" if value is None else str(value)
        elif decl.type == "number":
            attrs[name] = StringField(render_kw={"inputmode": "decimal"}, **common)
            data[name] = "" if value is None else str(value)
        elif decl.type == "long_text":
            attrs[name] = TextAreaField(**common)
            data[name] = value or ""
        else:
            attrs[name] = StringField(**common)
            data[name] = "" if value is None else str(value)
    cls = type("SettingsForm", (FlaskForm,), attrs)
    return cls(data=data) if formdata is None else cls()


def _convert(decl, key: str, raw: Any) -> Any:
    if decl.type == "flag":
        return bool(raw)
    text = (raw or "").strip() if isinstance(raw, str) else raw
    if text in ("", None):
        return None
    if decl.type == "number":
        try:
            number = float(str(text).replace(",", "."))
        except ValueError:
            raise ValidationFailed({key: "Not a valid number."}) from None
        return int(number) if number.is_integer() else number
    if decl.type == "choice":
        allowed = [v for v, _lbl in _setting_choices(key, decl)]
        if text not in allowed:
            raise ValidationFailed({key: f"Choose one of: {', '.join(allowed)}."})
    return text


@bp.route("/settings", methods=["GET", "POST"])
@admin_required()
def settings():
    form = _settings_form(formdata=True) if _is_post() else _settings_form()
    status = 200
    if _is_post() and form.validate_on_submit():
        errors: dict[str, list[str]] = {}
        changes: dict[str, Any] = {}
        for name, (key, _plugin, decl) in form.settings_keys.items():
            try:
                value = _convert(decl, key, form[name].data)
            except ValidationFailed as exc:
                errors[name] = exc.errors[key]
                continue
            if value != settings_service.get(key):
                changes[key] = (name, value)
        if not errors:
            try:
                for key, (name, value) in changes.items():
                    try:
                        settings_service.set(key, value, actor=viewer())
                    except ValidationFailed as exc:
                        raise ValidationFailed({name: exc.errors.get(key, ["Invalid value."])}) \
                            from exc
            except ValidationFailed as exc:
                errors = exc.errors
        if errors:
            show_errors(form, ValidationFailed(errors))
            status = 422
        else:
            if changes:
                flash(_("Settings are saved."), "success")
            else:
                flash(_("Nothing changed."), "info")
            return redirect(url_for("admin.settings"), code=303)
    elif _is_post():
        status = 400
    groups: dict[str, list] = {}
    for name, (_key, plugin, _decl) in form.settings_keys.items():
        groups.setdefault(plugin, []).append(form[name])
    return render_template("admin/settings.html", form=form, groups=groups), status


def _is_post() -> bool:
    from flask import request

    return request.method == "POST"
