"""Customer cabinet pages (P3, P4, P5, P7).

* ``GET  /portal/``                      — the customer's tickets: All / Open / Closed,
  sorting by the shown columns, search by number, subject or date, pages of
  ``User.page_size``.
* ``GET  /portal/new``                   — choose the ticket type (when the customer may
  create several), then its form; ``POST`` creates the ticket with its files.
* ``GET  /portal/tickets/<id>``          — the card: state, visible fields, thread,
  history, "Reply" and (while open) editing of the fields the customer may change.
* ``GET  /portal/tickets/<number>``      — the address letters use: redirects to the card.
* ``POST /portal/tickets/<id>/reply``    — a message with files.
* ``POST /portal/tickets/<id>/edit``     — change the customer-editable fields.

Another customer's ticket (or a missing one) is 404, never 403.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel import fieldset, visibility
from kernel.db import db
from kernel.errors import Conflict, NotFound, ValidationFailed
from kernel.models import Ticket, TicketType, User
from kernel.services import attachments, messages, queries, tickets
from kernel.services.uow import unit_of_work
from web import card_parts, form_sections
from web.auth import customer_required, viewer
from web.forms import apply_errors, prefill, ticket_form, ticket_form_class
from web.params import checked_sort, page_arg
from web.portal import bp, timeline
from web.portal.forms import EditTicketForm, NewTicketForm, ReplyForm, chosen_files

STATES = ("all", "open", "closed")
DEFAULT_SORT = "-created_at"
MAX_SEARCH = 100


# -- the list (P4) --------------------------------------------------------------------


def list_columns() -> list[fieldset.Field]:
    """Fields the admin shows customers in the list (P7), in the admin's order."""
    return [f for f in fieldset.all_fields() if f.shown_in_list and f.shown_to_customer]


def _sort_keys(columns: list[fieldset.Field]) -> set[str]:
    keys = {"number", "status", "created_at"}
    keys.update(f.key for f in columns if f.key in queries.sort_keys())
    return visibility.sortable(viewer(), keys)


def _search_term(text: str) -> str:
    """A date typed the Russian way (``12.05.2024``) becomes ISO for the kernel."""
    match = re.fullmatch(r"(\d{1,2})[./](\d{1,2})[./](\d{4})", text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return text
    return text


@bp.get("/")
@customer_required
def index():
    """The customer's tickets (P4)."""
    user = viewer()
    columns = list_columns()
    state = request.args.get("state", "all")
    state = state if state in STATES else "all"
    search = (request.args.get("q") or "").strip()[:MAX_SEARCH]
    sort = checked_sort(request.args.get("sort"), _sort_keys(columns), DEFAULT_SORT)
    page_no = page_arg()
    flt = queries.TicketFilter(state=state, search=_search_term(search) or None)
    per_page = user.page_size or 20
    page = queries.list_tickets(user, flt, sort=sort, page=page_no, per_page=per_page)
    if page.items == [] and page_no > page.pages:  # past the last page: show the last one
        page = queries.list_tickets(user, flt, sort=sort, page=page.pages, per_page=per_page)
    counts = queries.state_counts(user)
    args = {"state": state, "q": search or None,
            "sort": sort if sort != DEFAULT_SORT else None}

    def url(**changes: Any) -> str:
        merged = {**args, **changes}
        if merged.get("state") == "all":
            merged["state"] = None
        return url_for("portal.index", **{k: v for k, v in merged.items() if v not in (None, 1)})

    return render_template(
        "portal/index.html", page=page, columns=columns, state=state, search=search, sort=sort,
        counts=counts, url=url, sortable=_sort_keys(columns), can_create=bool(creatable_types()),
        home_panels=card_parts.home_panels(user),
    )


# -- a new ticket (P3) ---------------------------------------------------------------


def creatable_types() -> list[TicketType]:
    """Active types a customer may create, in the admin's order."""
    return list(db.session.scalars(
        db.select(TicketType)
        .where(TicketType.is_active.is_(True), TicketType.customer_can_create.is_(True))
        .order_by(TicketType.order, TicketType.key)
    ))


def _files_again(field) -> None:
    """A browser cannot keep chosen files across a refused form: say so."""
    if chosen_files(field) and not field.errors:
        field.errors = [_("Please choose the files again.")]


def _new_form(ttype: TicketType, user: User) -> NewTicketForm:
    """The creation form; first shown with what the account knows (prefill)."""
    cls = ticket_form_class(ttype, "customer", actor=user, base=NewTicketForm)
    initial = prefill(ttype, user, cls.definitions) if request.method == "GET" else {}
    return cls(initial=initial)


def _create(form: NewTicketForm, ttype: TicketType, user: User,
            sections: form_sections.Sections) -> Ticket:
    """The ticket, its files, files of ``file`` fields and the plugins' form
    sections, in one transaction."""
    with unit_of_work():
        ticket = tickets.create(form.ticket_values(), actor=user, type=ttype.key,
                                files=chosen_files(form.portal_files),
                                field_files=form.uploads())
        if sections.failed:  # roll back: the sections' own errors are shown
            raise ValidationFailed({})
        sections.save(ticket, user)
    return ticket


@bp.route("/new", methods=["GET", "POST"])
@customer_required
def new_ticket():
    """"New ticket": pick the type if there are several, fill its form, send."""
    user = viewer()
    types = creatable_types()
    key = request.args.get("type")
    if key:
        ttype = next((t for t in types if t.key == key), None)
        if ttype is None:
            abort(404)
    elif len(types) == 1:
        ttype = types[0]
    else:
        return render_template("portal/choose_type.html", types=types)
    form = _new_form(ttype, user)
    sections = form_sections.for_form(ttype, user)
    status = 200
    if request.method == "POST":
        sections.parse()
    if form.validate_on_submit():
        try:
            ticket = _create(form, ttype, user, sections)
        except ValidationFailed as exc:
            apply_errors(form, ValidationFailed(sections.take(exc)), {"file": "portal_files"})
            _files_again(form.portal_files)
            status = 422
        else:
            flash(_("Ticket %(number)s is sent. We will answer you here and by e-mail.",
                     number=ticket.number), "success")
            return redirect(url_for("portal.ticket", ticket_id=ticket.id), code=303)
    elif request.method == "POST":
        status = 422
    return render_template("portal/new.html", form=form, ticket_type=ttype,
                           several=len(types) > 1, sections=sections.html(ttype, user),
                           sections_failed=sections.failed), status


# -- the card (P5) ----------------------------------------------------------------------


def _load(ticket_id: int) -> Ticket:
    try:
        return tickets.require_ticket(ticket_id, viewer())
    except NotFound:
        abort(404)


def _editable(ticket: Ticket) -> list[str]:
    """Keys of the fields this customer may still change on the card: editable by
    customers, visible to them, not files; none once the ticket is closed."""
    if ticket.is_closed:
        return []
    visible = visibility.field_keys(ticket.type, viewer())
    return [f.key for f in fieldset.for_type(ticket.type, "customer")
            if f.key in visible and f.type != "file"]


def _edit_form(ticket: Ticket, user: User, keys: list[str]) -> EditTicketForm | None:
    if not keys:
        return None
    form = ticket_form(ticket.type, "customer", actor=user, ticket=ticket, only=keys,
                       base=EditTicketForm)
    if not form.portal_version.data:
        form.portal_version.data = str(ticket.version)
    return form


def _card(ticket: Ticket, reply: ReplyForm | None = None, edit: EditTicketForm | None = None,
          status: int = 200, edit_open: bool = False):
    user = viewer()
    visible = visibility.visible_fields(ticket.type, user)
    by_key = {f.key: f for f in visible}
    header_keys = {"subject", "text", "priority", "queue"}
    thread = messages.thread(ticket, user)
    loose_files = [a for a in attachments.for_ticket(ticket, user) if a.message_id is None]
    if edit is None:
        edit = _edit_form(ticket, user, _editable(ticket))
    return render_template(
        "portal/ticket.html",
        ticket=ticket,
        details=[f for f in visible if f.key not in header_keys],
        priority=by_key.get("priority"),
        queue=by_key.get("queue"),
        description=by_key.get("text"),
        thread=thread,
        files=loose_files,
        history=timeline.for_customer(ticket, user),
        reply=reply or ReplyForm(formdata=None),
        edit=edit,
        edit_open=edit_open,
        viewer_id=user.id,
        panels=card_parts.panels(ticket, user),
    ), status


@bp.get("/tickets/<int:ticket_id>")
@customer_required
def ticket(ticket_id: int):
    return _card(_load(ticket_id))


@bp.get("/tickets/<string:number>")
@customer_required
def ticket_by_number(number: str):
    """Letters link by number (``REQ-2026-00001``); a digits-only number is taken by
    the id route above, so letters use the id for those (``customer_link``)."""
    try:
        found = tickets.get(number, viewer())
    except NotFound:
        abort(404)
    return redirect(url_for("portal.ticket", ticket_id=found.id), code=302)


@bp.post("/tickets/<int:ticket_id>/reply")
@customer_required
def reply(ticket_id: int):
    """"Reply": a message (and files) on the thread; the agent is notified by the
    ``message_posted`` signal."""
    found = _load(ticket_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _card(found, reply=form, status=422)
    try:
        messages.post(found, form.body.data or "", actor=viewer(),
                      files=chosen_files(form.files))
    except ValidationFailed as exc:
        apply_errors(form, exc, {"file": "files"})
        _files_again(form.files)
        return _card(found, reply=form, status=422)
    flash(_("Your message is sent."), "success")
    return redirect(url_for("portal.ticket", ticket_id=found.id, _anchor="reply"), code=303)


@bp.post("/tickets/<int:ticket_id>/edit")
@customer_required
def edit(ticket_id: int):
    """Change the fields the customer may still edit (P7, O7)."""
    found = _load(ticket_id)
    keys = _editable(found)
    if not keys:
        flash(_("This ticket can no longer be changed."), "warning")
        return redirect(url_for("portal.ticket", ticket_id=found.id), code=303)
    form = _edit_form(found, viewer(), keys)
    if not form.validate_on_submit():
        return _card(found, edit=form, status=422, edit_open=True)
    changed = form.changed_values()
    if not changed:
        flash(_("Nothing was changed."), "info")
        return redirect(url_for("portal.ticket", ticket_id=found.id), code=303)
    try:
        version = int(form.portal_version.data or found.version)
    except ValueError:
        version = found.version
    try:
        tickets.update(found, changed, actor=viewer(), expected_version=version)
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _card(found, edit=form, status=422, edit_open=True)
    except Conflict:
        db.session.rollback()
        flash(_("Someone changed this ticket while you were editing. "
                "Here it is as it is now; please make your change again."), "warning")
        return redirect(url_for("portal.ticket", ticket_id=ticket_id), code=303)
    flash(_("The ticket is updated."), "success")
    return redirect(url_for("portal.ticket", ticket_id=found.id), code=303)


@bp.app_template_filter("portal_author")
def portal_author(message, viewer_id: int) -> str:
    """Who wrote a message, as the customer reads it."""
    if message.author_kind == "customer":
        if message.author_id == viewer_id:
            return _("You")
        return (message.author.name if message.author else "") or _("Customer")
    if message.author_kind == "agent" and message.author is not None:
        return message.author.name or _("Support")
    return _("Support")


@bp.app_template_filter("portal_size")
def portal_size(size: int | None) -> str:
    """A file size in the reader's language: ``512 B``, ``1,5 KB``, ``20 MB``."""
    from babel.numbers import format_decimal

    from web import i18n

    size = int(size or 0)
    locale = i18n.current_locale()
    if size >= 1024 * 1024:
        return _("%(size)s MB", size=format_decimal(round(size / 1024 / 1024, 1), locale=locale))
    if size >= 1024:
        return _("%(size)s KB", size=format_decimal(round(size / 1024, 1), locale=locale))
    return _("%(size)s B", size=size)
