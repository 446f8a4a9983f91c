"""The telephony admin page (``/admin/telephony``, "admin.settings"): the adapter
in use and its connection, what incoming calls do, the addresses to give the
PBX, and the agents' extensions. Secrets are never sent back to the browser
except the generic webhook's signing key, which the PBX's integrator needs."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.i18n import N_
from kernel.models import TicketType
from plugins.telephony import config
from web import i18n
from web.admin import SECTIONS, Section, admin_required
from web.agent.common import agents
from web.auth import viewer

bp = Blueprint("telephony_admin", __name__, url_prefix="/admin/telephony",
               template_folder="templates")

SECTION = Section("telephony", N_("Telephony"), "telephony_admin.index", "admin.settings",
                  order=58, description=N_("Calls: the PBX, webhooks, pop-ups, extensions."))
if SECTION not in SECTIONS:
    SECTIONS.append(SECTION)


def _types() -> list[tuple[str, str]]:
    rows = db.session.scalars(db.select(TicketType).where(TicketType.is_active.is_(True))
                              .order_by(TicketType.order, TicketType.key))
    return [(t.key, i18n.translate_label(t.name)) for t in rows]


def _page(errors: dict | None = None, given: dict | None = None, status: int = 200):
    sections = {kind: config.values(kind) for kind in config.DEFAULTS}
    if given:
        sections[given["kind"]] = {**sections[given["kind"]], **given["values"]}
    return render_template(
        "telephony/admin/index.html", sections=sections, errors=errors or {},
        failed=(given or {}).get("kind"), types=_types(), agents=agents(),
        extensions={e.user_id: e.extension for e in config.extensions()},
        provider=config.provider(), complete={k: config.is_complete(k)
                                              for k in config.PROVIDERS},
        generic_url=url_for("telephony.webhook_generic", _external=True),
        zadarma_url=url_for("telephony.webhook_zadarma", _external=True),
    ), status


@bp.get("/")
@admin_required()
def index():
    return _page()


@bp.post("/<kind>")
@admin_required()
def save(kind: str):
    if kind not in config.DEFAULTS:
        abort(404)
    given = {key: request.form.get(key, "") for key in config.DEFAULTS[kind]
             if key in request.form}
    try:
        config.save(kind, given, actor=viewer())
    except ValidationFailed as exc:
        errors = i18n.translate_errors(exc.errors)
        shown = {k: v for k, v in given.items() if k not in config.SECRET_KEYS}
        return _page(errors, {"kind": kind, "values": shown}, 422)
    flash(_("Settings are saved."), "success")
    return redirect(url_for("telephony_admin.index") + f"#{kind}", code=303)


@bp.post("/generic/new-secret")
@admin_required()
def new_secret():
    config.new_webhook_secret(actor=viewer())
    flash(_("A new signing key is made: give it to the PBX, the old one no longer works."),
          "success")
    return redirect(url_for("telephony_admin.index") + "#generic", code=303)


@bp.post("/extensions")
@admin_required()
def extensions():
    user_id = request.form.get("user_id", "")
    try:
        config.set_extension(int(user_id) if user_id.isdigit() else 0,
                             request.form.get("extension", ""), actor=viewer())
    except ValidationFailed as exc:
        flash(" ".join(sum(i18n.translate_errors(exc.errors).values(), [])), "error")
        return redirect(url_for("telephony_admin.index") + "#extensions", code=303)
    flash(_("The extension is saved."), "success")
    return redirect(url_for("telephony_admin.index") + "#extensions", code=303)
