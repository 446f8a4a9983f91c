"""``/admin/notifications``: an administrator sets, per role or per employee,
which events notify them and by which channel (A5). Needs ``admin.users``.
Rules are stored and judged by ``plugins.notifications.recipients``; employees
can still turn off, on their own page, what a rule turns on for them."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.i18n import N_
from kernel.models import Role, User
from plugins.notifications import recipients, service
from web import i18n
from web.admin import SECTIONS, Section, sections_for
from web.auth import permission_required, viewer

bp = Blueprint("notifications_admin", __name__, url_prefix="/admin/notifications",
               template_folder="templates")

SECTION = Section("notifications", N_("Notifications"), "notifications_admin.index",
                  "admin.users", order=85,
                  description=N_("Which events notify which roles and employees, "
                                 "and by which channel."))
if SECTION not in SECTIONS:
    SECTIONS.append(SECTION)

# The words of templates/notifications/admin/*.html (``make messages`` scans
# only web/templates, so they are marked here to reach the catalogue).
TEMPLATE_WORDS = (
    N_("Notifications for others"), N_("Roles"), N_("Employees"), N_("Rules"),
    N_("No rules yet: everyone gets the defaults and their own choices."),
    N_("As by default"), N_("On"), N_("Off"), N_("Role"), N_("Employee"),
    N_("A rule for an employee outranks the rules of their roles; among roles, “on” wins. "
       "Employees can still turn off what a rule turns on for them."),
    N_("Rules of %(name)s"), N_("Choose a value from the list."),
    N_("The notification rules are saved."),
)

manage_required = permission_required("admin.users")
VALUES = {"": None, "on": True, "off": False}


@bp.context_processor
def _context() -> dict:
    user = viewer()
    return {"admin_sections": sections_for(user) if user is not None else []}


def _field(event: str, channel: str) -> str:
    return f"r__{event.replace(':', '__')}__{channel}"


def _rows() -> list[dict]:
    rows = [{"event": e.key, "label": i18n.translate_label(e.label),
             "help": i18n.translate_label(e.help_text)} for e in service.AGENT_EVENTS]
    rows += [{"event": service.NEW_TICKET + key,
              "label": _("A new ticket in the queue “%(queue)s”",
                         queue=i18n.translate_label(label)), "help": ""}
             for key, label in service.queues()]
    return rows


def _name_of(target: str) -> str:
    subject = recipients.check_target(target)
    if isinstance(subject, Role):
        return i18n.translate_label(subject.name)
    return subject.name or subject.email


def _channels() -> list[tuple[str, str]]:
    return [(c, i18n.translate_label(label)) for c, label in recipients.channels()]


@bp.get("/")
@manage_required
def index():
    roles = list(db.session.scalars(
        select(Role).order_by(Role.name)))
    employees = list(db.session.scalars(
        select(User).where(User.kind == "agent").order_by(User.name, User.email)))
    counts = recipients.targets_with_rules()
    return render_template("notifications/admin/index.html", roles=roles, employees=employees,
                           counts=counts, role_target=recipients.role_target,
                           user_target=recipients.user_target)


def _page(target: str, values: dict[str, str], errors: dict[str, str], status: int = 200):
    return render_template("notifications/admin/rules.html", target=target,
                           name=_name_of(target), rows=_rows(), channels=_channels(),
                           values=values, errors=errors, field=_field), status


@bp.get("/<target>")
@manage_required
def rules(target: str):
    try:
        recipients.check_target(target)
    except ValidationFailed:
        abort(404)
    current = recipients.rules_for(target)
    values = {_field(e, c): ("on" if v else "off") for (e, c), v in current.items()}
    return _page(target, values, {})


@bp.post("/<target>")
@manage_required
def save(target: str):
    try:
        recipients.check_target(target)
    except ValidationFailed:
        abort(404)
    rows = _rows()
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    choices: dict[tuple[str, str], bool | None] = {}
    for row in rows:
        for channel, _label in recipients.channels():
            name = _field(row["event"], channel)
            raw = request.form.get(name, "")
            values[name] = raw
            if raw not in VALUES:
                errors[name] = _("Choose a value from the list.")
                continue
            choices[(row["event"], channel)] = VALUES[raw]
    if errors:  # nothing is saved while any choice is bad
        return _page(target, values, errors, 422)
    try:
        recipients.save_rules(target, choices, set(service.event_keys()), actor=viewer())
    except ValidationFailed as exc:
        flash("; ".join(i18n.translate_message(m) for msgs in exc.errors.values() for m in msgs),
              "error")
        return _page(target, values, {}, 422)
    flash(_("The notification rules are saved."), "success")
    return redirect(url_for("notifications_admin.rules", target=target), code=303)
