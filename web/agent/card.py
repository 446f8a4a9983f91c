"""The agent's ticket card: every field, edit with a stale-version check,
allowed status changes, assignee, thread (replies vs internal notes), files,
links, history, and what plugins add (panels, buttons, phone icons)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import HiddenField

from kernel import permissions, runtime, visibility
from kernel.errors import Conflict, NotFound, TransitionRefused, ValidationFailed
from kernel.services import attachments, links, messages, tickets
from web import card_parts, history_lines, i18n
from web.agent import bp
from web.agent.common import agents, can_see_customers
from web.auth import agent_required, permission_required, viewer
from web.forms import TicketForm, apply_errors, ticket_form


class EditBase(TicketForm):
    expected_version = HiddenField()


def _ticket(ticket_id: int):
    try:
        return tickets.require_ticket(ticket_id, viewer())
    except NotFound:
        abort(404)


def _edit_form(ticket, **kwargs):
    user = viewer()
    skip = ["assignee"] + ([] if can_see_customers(user) else ["customer"])
    return ticket_form(ticket.type, "agent", actor=user, ticket=ticket, exclude=skip,
                       base=EditBase, **kwargs)


def _version() -> int | None:
    raw = (request.form.get("expected_version") or "").strip()
    return int(raw) if raw.isdigit() else None


def _plugin_parts(ticket, user):
    return card_parts.panels(ticket, user), card_parts.buttons(ticket, user)


def _event_labels() -> dict[str, str]:
    return {key: entry.decl.label for key, entry in runtime.host().registry.event_kinds.items()}


def card_page(ticket, status: int = 200, edit_form=None, conflict: str | None = None,
              open_edit: bool = False):
    user = viewer()
    definitions = [f for f in visibility.visible_fields(ticket.type, user) if f.shown_on_card]
    edit_form = edit_form or _edit_form(ticket, formdata=None)
    edit_form.expected_version.data = str(ticket.version)
    panels, buttons = _plugin_parts(ticket, user)
    thread = messages.thread(ticket, user)
    events = visibility.history(ticket, user)
    return render_template(
        "agent/ticket.html", ticket=ticket, definitions=definitions, edit_form=edit_form,
        conflict=conflict,
        open_edit=open_edit or conflict is not None or bool(edit_form.errors
                                                            or edit_form.form_errors),
        next_statuses=ticket.type.pipeline.next_statuses(ticket.status), agents=agents(),
        thread=thread, files=attachments.for_ticket(ticket, user),
        links=visibility.links(ticket, user),
        events=events, event_labels=_event_labels(),
        changes=history_lines.for_history(ticket, user, events),
        status_names={s.key: s.name for s in ticket.type.pipeline.statuses},
        panels=[p for p in panels if p[0].placement != "side"],
        side_panels=[p for p in panels if p[0].placement == "side"], buttons=buttons,
        show_customer=can_see_customers(user), can=lambda perm: permissions.has(user, perm),
        files_by_message={m.id: [a for a in m.attachments
                                 if visibility.can_see_attachment(a, user)] for m in thread},
    ), status


def _back(ticket, anchor: str = ""):
    return redirect(url_for("agent.ticket", ticket_id=ticket.id) + anchor, code=303)


@bp.get("/tickets/<int:ticket_id>")
@agent_required
def ticket(ticket_id: int):
    return card_page(_ticket(ticket_id))


@bp.post("/tickets/<int:ticket_id>/edit")
@permission_required("tickets.edit")
def edit(ticket_id: int):
    found = _ticket(ticket_id)
    form = _edit_form(found)
    if not form.validate():
        return card_page(found, 400, edit_form=form)
    try:
        changes = tickets.update(found, form.changed_values(), actor=viewer(),
                                 expected_version=_version())
    except Conflict:
        return card_page(found, 409, edit_form=_edit_form(found, formdata=None), conflict=_(
            "Someone changed this ticket while you were editing it. The form now shows the "
            "current values: check them and make your change again."))
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return card_page(found, 422, edit_form=form)
    flash(_("Changes are saved.") if changes else _("Nothing changed."),
          "success" if changes else "info")
    return _back(found)


@bp.post("/tickets/<int:ticket_id>/status")
@permission_required("tickets.transition")
def transition(ticket_id: int):
    found = _ticket(ticket_id)
    target = request.form.get("status", "")
    allowed = {s.key: s for s in found.type.pipeline.next_statuses(found.status)}
    if target not in allowed:
        flash(_("The status cannot change from “%(from)s” to this one.",
                **{"from": i18n.translate_label(found.status.name)}), "error")
        return _back(found), 409
    try:
        tickets.transition(found, target, actor=viewer(), expected_version=_version(),
                           comment=(request.form.get("comment") or "").strip()[:2000] or None,
                           comment_visible_to_customer=request.form.get("comment_public") == "1")
    except Conflict:
        flash(_("Someone changed this ticket at the same time. Check it and try again."), "error")
        return _back(found)
    except TransitionRefused as exc:
        flash(i18n.translate_message(exc.message), "error")
        return _back(found)
    flash(_("Status changed to “%(status)s”.",
            status=i18n.translate_label(allowed[target].name)), "success")
    return _back(found)


@bp.post("/tickets/<int:ticket_id>/assign")
@permission_required("tickets.assign")
def assign(ticket_id: int):
    found = _ticket(ticket_id)
    raw = request.form.get("assignee", "")
    try:
        tickets.assign(found, int(raw) if raw.isdigit() else None, actor=viewer(),
                       expected_version=_version())
    except Conflict:
        flash(_("Someone changed this ticket at the same time. Check it and try again."), "error")
        return _back(found)
    except ValidationFailed as exc:
        flash(" ".join(sum(i18n.translate_errors(exc.errors).values(), [])), "error")
        return _back(found)
    flash(_("The manager is changed."), "success")
    return _back(found)


@bp.post("/tickets/<int:ticket_id>/messages")
@agent_required
def post_message(ticket_id: int):
    found = _ticket(ticket_id)
    internal = request.form.get("internal") == "1"
    files = [f for f in request.files.getlist("files") if f and f.filename]
    try:
        messages.post(found, request.form.get("body", ""), actor=viewer(), internal=internal,
                      files=files)
    except ValidationFailed as exc:
        flash(" ".join(sum(i18n.translate_errors(exc.errors).values(), [])), "error")
        return _back(found, "#thread")
    flash(_("The note is saved.") if internal else _("The reply is sent to the customer."),
          "success")
    return _back(found, "#thread")


@bp.post("/tickets/<int:ticket_id>/files")
@agent_required
def upload(ticket_id: int):
    found = _ticket(ticket_id)
    files = [f for f in request.files.getlist("files") if f and f.filename]
    if not files:
        flash(_("Choose a file to upload."), "error")
        return _back(found, "#files")
    internal = request.form.get("internal") == "1"
    if len(files) > attachments.max_files_per_message():
        flash(_("At most %(n)s files can be uploaded at once.",
                n=attachments.max_files_per_message()), "error")
        return _back(found, "#files")
    try:  # the service checks who may attach (and internal files need "tickets.note")
        for item in files:
            attachments.attach(found, item, actor=viewer(), internal=internal)
    except ValidationFailed as exc:
        flash(" ".join(sum(i18n.translate_errors(exc.errors).values(), [])), "error")
        return _back(found, "#files")
    flash(_("Files uploaded: %(n)s.", n=len(files)), "success")
    return _back(found, "#files")


@bp.post("/tickets/<int:ticket_id>/links")
@permission_required("tickets.edit")
def add_link(ticket_id: int):
    found = _ticket(ticket_id)
    ref = (request.form.get("target") or "").strip()
    kind = request.form.get("kind", "related")
    try:
        target = tickets.get(ref, viewer()) if ref else None
    except NotFound:
        target = None
    if target is None:
        flash(_("No ticket with number “%(ref)s”.", ref=ref), "error")
        return _back(found, "#links")
    try:
        links.link(found, target, kind if kind in links.KINDS else "related", actor=viewer())
    except ValidationFailed as exc:
        flash(" ".join(sum(i18n.translate_errors(exc.errors).values(), [])), "error")
        return _back(found, "#links")
    flash(_("Linked to %(number)s.", number=target.number), "success")
    return _back(found, "#links")
