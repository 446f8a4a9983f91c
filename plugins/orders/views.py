"""Pages of the orders plugin.

Agents: the request inbox (``/orders/inbox``: convert with one click choosing the
order type, or reject with a reason — O2), and on the order's card the panels
for stages, documents and links (O5), notes with their switch (O6) and the lead
offer (A8). Customers: "My orders" (``/orders/my``: the request form, the orders
with their stage — O1, O3), the order's card (the portal's ticket card with this
plugin's panels: stages, documents and links, visible notes, editing — O3–O7)
and the documents' downloads. Another customer's order or document is 404.
Admins: ``/admin/orders`` — the scenarios with their one-click presets (item 10),
the customer-edit setting per type (O7) and the snippet for the company's site."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _

from kernel import declarations as d
from kernel import permissions
from kernel.errors import Conflict, NotFound, PermissionDenied, TransitionRefused, ValidationFailed
from kernel.i18n import N_
from kernel.models import Ticket, User
from kernel.services import attachments, tickets
from plugins.orders import public, scenarios, service
from web import i18n
from web.admin import SECTIONS, Section, sections_for
from web.auth import customer_required, login_required, permission_required, viewer

bp = Blueprint("orders", __name__, url_prefix="/orders", template_folder="templates",
               static_folder="static", static_url_path="/static")

manage_required = permission_required(service.MANAGE)

SECTION = Section("orders", N_("Order scenarios"), "orders.admin_scenarios", "admin.settings",
                  order=56, description=N_("Order types of seed 004 with one-click presets; "
                                           "customer edits; the request form for your site."))
if SECTION not in SECTIONS:
    SECTIONS.append(SECTION)

LINK_KIND_LABELS = {"tracking": N_("Tracking"), "invoice": N_("Invoice"),
                    "contract": N_("Contract"), "other": N_("Link")}
FIELD_LABELS = {"orders_details": N_("Order details"), "orders_address": N_("Delivery address"),
                "orders_budget": N_("Budget")}


# -- card panels -----------------------------------------------------------------------------


def card_panels(ticket: Ticket, viewer_: User) -> list[d.Panel] | None:
    if service.is_request(ticket):
        if viewer_.is_customer or not permissions.has(viewer_, service.MANAGE):
            return None
        return [d.Panel("orders.request", N_("Order request"), "orders/_request_panel.html",
                        context={"types": service.active_order_types(),
                                 "order": service.converted_order(ticket)},
                        order=5, audience="staff")]
    if not service.is_order(ticket):
        return None
    customer = viewer_.is_customer
    manage = not customer and permissions.has(viewer_, service.MANAGE)
    panels = [
        d.Panel("orders.stages", N_("Order progress"), "orders/_stages_panel.html",
                context={"stages": service.stages(ticket)}, order=1, audience="customer"),
        d.Panel("orders.publications", N_("Documents and links"),
                "orders/_publications_panel.html",
                context={"documents": service.documents_of(ticket, viewer_),
                         "links": service.links_of(ticket, viewer_), "manage": manage,
                         "kinds": service.LINK_KINDS, "kind_labels": LINK_KIND_LABELS},
                order=2, audience="customer"),
    ]
    notes = service.notes_of(ticket, viewer_)
    if notes or manage:
        panels.append(d.Panel("orders.notes", N_("Manager's notes"), "orders/_notes_panel.html",
                              context={"notes": notes, "manage": manage}, order=3,
                              audience="customer"))
    editable = service.editable_fields(ticket, viewer_)
    if editable:
        panels.append(d.Panel("orders.edit", N_("Change the order"), "orders/_edit_panel.html",
                              context={"editable": editable, "labels": FIELD_LABELS},
                              order=4, audience="customer"))
    if manage:
        leads = service.matching_leads(ticket, viewer_)
        if leads:
            panels.append(d.Panel("orders.leads", N_("A lead matches this customer's phone"),
                                  "orders/_leads_panel.html", context={"leads": leads},
                                  order=0, audience="staff"))
    return panels


# -- helpers ---------------------------------------------------------------------------------------


def _flash_errors(exc: ValidationFailed) -> None:
    for key, messages in i18n.translate_errors(
            {k: v if isinstance(v, list) else [str(v)] for k, v in exc.errors.items()}).items():
        for message in messages:
            flash(message if key.startswith("_") else f"{_label(key)}: {message}", "error")


def _label(key: str) -> str:
    labels = {"url": _("Address"), "title": _("Title"), "file": _("File"), "body": _("Note"),
              "reason": _("Reason"), "order_type": _("Order type"), "kind": _("Kind"),
              "details": _("Order details"), "lead": _("Lead"), "request": _("Request")}
    if key in FIELD_LABELS:
        return i18n.translate_label(FIELD_LABELS[key])
    return labels.get(key, key)


def _ticket(ticket_id: int) -> Ticket:
    try:
        return tickets.require_ticket(ticket_id, viewer())
    except NotFound:
        abort(404)


def _card(ticket: Ticket, anchor: str = "") -> str:
    endpoint = "portal.ticket" if viewer().is_customer else "agent.ticket"
    return url_for(endpoint, ticket_id=ticket.id, _anchor=anchor or None)


def _act(ticket: Ticket, anchor: str, action, success: str):
    try:
        action()
    except NotFound:
        abort(404)
    except PermissionDenied:
        abort(403)
    except ValidationFailed as exc:
        _flash_errors(exc)
    except (TransitionRefused, Conflict) as exc:
        flash(i18n.translate_message(str(exc)), "error")
    else:
        flash(success, "success")
    return redirect(_card(ticket, anchor), code=303)


# -- the inbox (O2) ---------------------------------------------------------------------------

STATES = ("new", "converted", "rejected", "all")


@bp.get("/inbox")
@manage_required
def inbox():
    state = request.args.get("state", "new")
    state = state if state in STATES else "new"
    return render_template("orders/inbox.html", requests=service.inbox(viewer(), state),
                           state=state, states=STATES, types=service.active_order_types())


@bp.post("/requests/<int:ticket_id>/convert")
@manage_required
def convert(ticket_id: int):
    ticket = _ticket(ticket_id)
    try:
        order = service.convert(ticket, request.form.get("order_type", ""), actor=viewer(),
                                via="web")
    except ValidationFailed as exc:
        _flash_errors(exc)
        return redirect(request.referrer or url_for("orders.inbox"), code=303)
    except (TransitionRefused, Conflict) as exc:
        flash(i18n.translate_message(str(exc)), "error")
        return redirect(request.referrer or url_for("orders.inbox"), code=303)
    flash(_("Order %(number)s is created from request %(request)s.", number=order.number,
            request=ticket.number), "success")
    if service.matching_leads(order, viewer()):
        flash(_("A lead matches this customer's phone: see the notice on the order."), "info")
    return redirect(url_for("agent.ticket", ticket_id=order.id), code=303)


@bp.post("/requests/<int:ticket_id>/reject")
@manage_required
def reject(ticket_id: int):
    ticket = _ticket(ticket_id)
    try:
        service.reject(ticket, request.form.get("reason", ""), actor=viewer(), via="web")
    except ValidationFailed as exc:
        _flash_errors(exc)
    except (TransitionRefused, Conflict) as exc:
        flash(i18n.translate_message(str(exc)), "error")
    else:
        flash(_("Request %(number)s is rejected.", number=ticket.number), "success")
    return redirect(request.referrer or url_for("orders.inbox"), code=303)


# -- documents, links, notes, leads (O5, O6, A8) ------------------------------------------------


@bp.post("/<int:ticket_id>/links")
@manage_required
def publish_link(ticket_id: int):
    ticket = _ticket(ticket_id)
    return _act(ticket, "orders-publications", lambda: service.publish_link(
        ticket, request.form, actor=viewer(), via="web"), _("The link is published."))


@bp.post("/<int:ticket_id>/links/<int:link_id>/withdraw")
@manage_required
def withdraw_link(ticket_id: int, link_id: int):
    ticket = _ticket(ticket_id)
    return _act(ticket, "orders-publications", lambda: service.withdraw_link(
        ticket, link_id, actor=viewer(), via="web"), _("The link is withdrawn."))


@bp.post("/<int:ticket_id>/documents")
@manage_required
def publish_document(ticket_id: int):
    ticket = _ticket(ticket_id)
    return _act(ticket, "orders-publications", lambda: service.publish_document(
        ticket, request.files.get("file"), request.form.get("title"), actor=viewer(),
        via="web"), _("The document is published."))


@bp.post("/<int:ticket_id>/documents/<int:document_id>/withdraw")
@manage_required
def withdraw_document(ticket_id: int, document_id: int):
    ticket = _ticket(ticket_id)
    return _act(ticket, "orders-publications", lambda: service.withdraw_document(
        ticket, document_id, actor=viewer(), via="web"), _("The document is withdrawn."))


@bp.post("/<int:ticket_id>/notes")
@manage_required
def add_note(ticket_id: int):
    ticket = _ticket(ticket_id)
    return _act(ticket, "orders-notes", lambda: service.add_note(
        ticket, request.form.get("body", ""), request.form.get("visible") == "1",
        actor=viewer(), via="web"), _("The note is saved."))


@bp.post("/<int:ticket_id>/notes/<int:note_id>/visibility")
@manage_required
def note_visibility(ticket_id: int, note_id: int):
    ticket = _ticket(ticket_id)
    visible = request.form.get("visible") == "1"
    return _act(ticket, "orders-notes", lambda: service.set_note_visible(
        ticket, note_id, visible, actor=viewer(), via="web"),
        _("The customer sees the note now.") if visible else _("The note is hidden from the "
                                                               "customer now."))


@bp.post("/<int:ticket_id>/leads/<int:lead_id>/link")
@manage_required
def link_lead(ticket_id: int, lead_id: int):
    ticket = _ticket(ticket_id)
    return _act(ticket, "", lambda: service.link_lead(ticket, lead_id, actor=viewer(),
                                                      via="web"),
                _("The lead is linked and moved to “Successful order”."))


@bp.get("/documents/<int:document_id>")
@login_required
def download(document_id: int):
    try:
        document = service.document_for_download(document_id, viewer())
    except NotFound:
        abort(404)
    found = document.attachment
    response = send_file(attachments.open_blob(found), mimetype=found.content_type,
                         as_attachment=True, download_name=found.filename, etag=found.sha256,
                         max_age=0)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# -- the customer's side (O1, O3, O7) --------------------------------------------------------------


@bp.route("/my", methods=["GET", "POST"])
@customer_required
def my_orders():
    user = viewer()
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in ("subject", "details", "address",
                                                      "budget")}
        try:
            ticket = service.submit_request(values, actor=user, via="web")
        except ValidationFailed as exc:
            errors = i18n.translate_errors({k: v if isinstance(v, list) else [str(v)]
                                            for k, v in exc.errors.items()})
            status = 422
        else:
            flash(_("Request %(number)s is sent. The manager will turn it into an order and "
                    "you will follow it here.", number=ticket.number), "success")
            return redirect(url_for("orders.my_orders"), code=303)
    orders = service.orders_of(user)
    return render_template("orders/my_orders.html", orders=orders,
                           requests=service.requests_of(user), values=values, errors=errors,
                           stages={o.id: service.stages(o) for o in orders}), status


@bp.get("/my/<int:ticket_id>")
@customer_required
def my_order(ticket_id: int):
    """The order's card: the portal's card of the ticket with this plugin's panels."""
    try:
        order = service.get_order(ticket_id, viewer())
    except NotFound:
        abort(404)
    return redirect(url_for("portal.ticket", ticket_id=order.id))


@bp.post("/my/<int:ticket_id>/edit")
@customer_required
def edit_order(ticket_id: int):
    try:
        order = service.get_order(ticket_id, viewer())
    except NotFound:
        abort(404)
    values = {k: request.form.get(k, "") for k in scenarios.DETAIL_FIELDS if k in request.form}
    return _act(order, "orders-edit", lambda: service.edit_details(order, values, viewer()),
                _("The order is changed; the manager is told."))


# -- admin: scenarios, presets, customer edits, the form for the site (item 10, O7, O1) --------


admin_required = permission_required("admin.settings")


def _admin_page(template: str, **context):
    return render_template(template, admin_sections=sections_for(viewer()), **context)


@bp.get("/admin")
@admin_required
def admin_scenarios():
    types = {t.key: t for t in _all_types()}
    rows = []
    for scenario in scenarios.SCENARIOS:
        ttype = types.get(scenario.key)
        statuses = ttype.pipeline.statuses if ttype else []
        names = {st.key: i18n.translate_label(st.name) for st in statuses}
        rows.append({"scenario": scenario, "type": ttype, "statuses": statuses,
                     "config": service.type_config(scenario.key),
                     "preset_fields": [i18n.translate_label(FIELD_LABELS[f])
                                       for f in scenario.editable_fields],
                     "preset_stages": [names.get(k, k) for k in scenario.editable_stages]})
    base = request.host_url.rstrip("/")
    return _admin_page("orders/admin.html", rows=rows, labels=FIELD_LABELS,
                       detail_fields=scenarios.DETAIL_FIELDS, base=base,
                       origins=public.allowed_origins())


def _all_types():
    from sqlalchemy import select

    from kernel.db import db
    from kernel.models import TicketType

    return list(db.session.scalars(select(TicketType).where(
        TicketType.key.in_(scenarios.ORDER_TYPES))))


@bp.post("/admin/<type_key>/preset")
@admin_required
def apply_preset(type_key: str):
    scenario = scenarios.BY_KEY.get(type_key)
    if scenario is None:
        abort(404)
    try:
        service.apply_preset(type_key, actor=viewer())
    except ValidationFailed as exc:
        _flash_errors(exc)
    else:
        flash(_("The scenario “%(name)s” is ready to use.",
                name=i18n.translate_label(scenario.name)), "success")
    return redirect(url_for("orders.admin_scenarios", _anchor=type_key), code=303)


@bp.post("/admin/<type_key>/edits")
@admin_required
def customer_edits(type_key: str):
    if type_key not in scenarios.BY_KEY:
        abort(404)
    try:
        service.set_type_config(type_key, request.form.getlist("fields"),
                                request.form.getlist("stages"), actor=viewer())
    except ValidationFailed as exc:
        _flash_errors(exc)
    else:
        flash(_("Customer edits are saved."), "success")
    return redirect(url_for("orders.admin_scenarios", _anchor=type_key), code=303)

