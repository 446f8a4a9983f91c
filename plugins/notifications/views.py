"""``/settings/notifications``: an employee chooses which events notify them
and by which channel (A5)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField

from kernel.errors import ValidationFailed
from kernel.i18n import N_
from plugins.notifications import recipients, service
from web import i18n
from web.auth import agent_required, viewer

# The words of templates/notifications/settings.html: ``make messages`` scans only
# web/templates, so they are marked here to reach the catalogue.
TEMPLATE_WORDS = (
    N_("Notifications"), N_("Which events are sent to %(email)s, and how."), N_("Settings"),
    N_("My tickets"), N_("Events on the tickets you manage."), N_("Queues I follow"),
    N_("A letter about each new ticket in these queues."), N_("Event"), N_("No queues yet"),
    N_("An administrator adds queues to the “Queues” list."), N_("Save"),
    N_("All tickets"), N_("Events on every ticket, whoever manages it."),
    N_("Turned off by the administrator"),
)

bp = Blueprint("notifications", __name__, url_prefix="/settings/notifications",
               template_folder="templates")


def _field(event: str, channel: str) -> str:
    return f"n__{event.replace(':', '__')}__{channel}"


def _rows() -> list[dict]:
    """The events shown, in order, each with its label and help text."""
    rows = [{"event": e.key, "label": i18n.translate_label(e.label),
             "help": i18n.translate_label(e.help_text), "group": e.group}
            for e in service.AGENT_EVENTS]
    rows += [{"event": service.NEW_TICKET + key, "label": i18n.translate_label(label),
              "help": "", "group": "queues"} for key, label in service.queues()]
    return rows


def _form(rows: list[dict], current: dict[tuple[str, str], bool], formdata=None):
    class PreferencesForm(FlaskForm):
        pass

    for row in rows:
        for channel in service.channel_keys():
            setattr(PreferencesForm, _field(row["event"], channel),
                    BooleanField(row["label"], default=current[(row["event"], channel)]))
    if formdata is None:
        return PreferencesForm(formdata=None)
    return PreferencesForm()


def _page(form, rows, status=200):
    user = viewer()
    channels = [(c, i18n.translate_label(label)) for c, label in recipients.channels()]
    return render_template("notifications/settings.html", form=form, rows=rows,
                           channels=channels, field=_field, account=user,
                           locked=service.locked(user)), status


@bp.get("/")
@agent_required
def settings():
    rows = _rows()
    return _page(_form(rows, service.preferences(viewer())), rows)


@bp.post("/")
@agent_required
def save():
    user = viewer()
    rows = _rows()
    form = _form(rows, service.preferences(user), formdata=True)
    if not form.validate():
        flash(_("The form has expired. Please try again."), "error")
        return _page(form, rows, 400)
    choices = {(row["event"], channel): bool(form[_field(row["event"], channel)].data)
               for row in rows for channel in service.channel_keys()}
    try:
        service.save_preferences(user, choices, actor=user)
    except ValidationFailed as exc:
        flash("; ".join(i18n.translate_message(m) for msgs in exc.errors.values() for m in msgs),
              "error")
        return _page(form, rows, 422)
    flash(_("Your notification settings are saved."), "success")
    return redirect(url_for("notifications.settings"), code=303)
