"""Agent pages of the auto-service plugin: the contact panel on the card (the
automatic category with its reason, the outcome form), the service request's
panels, work orders, a customer's work orders and contacts, the report with its
chart and CSV. Customers see only the progress of their own service requests."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel import declarations as d
from kernel import permissions
from kernel.db import db, get_by_id
from kernel.errors import NotFound, PermissionDenied, ValidationFailed
from kernel.i18n import N_
from kernel.models import Customer, Ticket, TicketLink, User
from kernel.services import tickets
from plugins.autoservice import (
    CATEGORY_FIELD,
    CONTACT_TYPE,
    REQUEST_PIPELINE,
    REQUEST_TYPE,
    WORK_ORDERS,
    categories,
    classify,
    contacts,
    workorders,
)
from plugins.autoservice import report as report_service
from plugins.autoservice.models import WORK_ORDER_STATUSES, ContactRecord, WorkOrder
from web import dates, i18n
from web.agent.common import agents
from web.auth import agent_required, permission_required, viewer

bp = Blueprint("autoservice", __name__, url_prefix="/autoservice", template_folder="templates",
               static_folder="static", static_url_path="/static")

STATUS_LABELS = {"open": N_("Open order"), "closed": N_("Closed order")}


def reason_text(reason) -> str:
    return classify.reason_text(reason, i18n.gettext_raw)


def _flash_errors(exc: ValidationFailed) -> None:
    for key, messages in i18n.translate_errors(exc.errors).items():
        for message in messages:
            flash(f"{_field_name(key)}: {message}" if key != "_schema" else message, "error")


FIELD_NAMES = {
    "category": N_("Category"), "contact_category": N_("Category"), "outcome": N_("Outcome"),
    "follow_up_at": N_("Follow-up time"), "assignee": N_("Agent"),
    "reserve_note": N_("Reserve"), "customer": N_("Client"), "comment": N_("Comment"),
    "number": N_("Number"), "customer_id": N_("Client"), "customer_phone": N_("Phone"),
    "vin": N_("VIN"), "plate": N_("Plate"), "car_make": N_("Make"), "car_model": N_("Model"),
    "status": N_("Status"), "external_id": N_("External id"), "from": N_("Period from"),
    "to": N_("Period to"), "label": N_("Name"), "effect": N_("What it does"), "kind": N_("Kind"),
    "group": N_("Group"),
}


def _field_name(key: str) -> str:
    return i18n.translate_label(FIELD_NAMES.get(key, key))


# -- card panels ---------------------------------------------------------------------------


def _linked(ticket: Ticket, kind: str, incoming: bool = False) -> list[Ticket]:
    column, other = ((TicketLink.target_id, TicketLink.source_id) if incoming
                     else (TicketLink.source_id, TicketLink.target_id))
    ids = db.session.scalars(db.select(other).where(column == ticket.id, TicketLink.kind == kind))
    return [t for t in (get_by_id(Ticket, i) for i in ids) if t is not None]


def card_panels(ticket: Ticket, viewer_: User) -> list[d.Panel] | None:
    if ticket.type.key == CONTACT_TYPE:
        if viewer_.is_customer:
            return None
        return [_contact_panel(ticket, viewer_), _orders_panel(ticket)]
    if ticket.type.key == REQUEST_TYPE:
        panels = [_progress_panel(ticket)]
        if not viewer_.is_customer:
            panels.append(_request_panel(ticket))
            panels.append(_orders_panel(ticket))
        return panels
    return None


def _contact_panel(ticket: Ticket, viewer_: User) -> d.Panel:
    record = contacts.record_for(ticket)
    cats = categories.categories()
    current = ticket.value(CATEGORY_FIELD)
    auto = record.auto_category if record else None
    selectable = [c for c in cats if c.value == current or c.value == auto
                  or (c.visible and (not c.automatic or c.allow_manual))]
    groups: dict[str, list] = {}
    for c in selectable:
        groups.setdefault(c.group, []).append(c)
    outcome = categories.outcome(record.outcome) if record and record.outcome else None
    return d.Panel(
        "autoservice.contact", N_("Category and outcome"), "autoservice/_contact_panel.html",
        order=5, audience="staff",
        context={
            "record": record, "category": categories.category(current),
            "auto": categories.category(auto), "reason": reason_text(record.reason)
            if record else "", "groups": list(groups.items()),
            "outcomes": [o for o in categories.outcomes(visible_only=True)],
            "effects": {o.value: o.effect for o in categories.outcomes()},
            "outcome": outcome, "agents": [a for a in agents() if a.id != ticket.assignee_id],
            "can_complete": not ticket.is_closed and permissions.has(viewer_,
                                                                     "tickets.transition"),
            "converted": _linked(ticket, "converted_to"),
            "continued": _linked(ticket, "continues"),
            "effect_labels": categories.EFFECT_LABELS,
        })


def _orders_panel(ticket: Ticket) -> d.Panel:
    orders = workorders.of_customer(ticket.customer_id)
    return d.Panel("autoservice.work_orders", N_("Work orders of the customer"),
                   "autoservice/_orders_panel.html", order=60, placement="side",
                   audience="staff",
                   context={"orders": orders, "customer": ticket.customer,
                            "status_labels": STATUS_LABELS})


def _request_panel(ticket: Ticket) -> d.Panel:
    return d.Panel("autoservice.request", N_("Contacts of this request"),
                   "autoservice/_request_panel.html", order=6, audience="staff",
                   context={"sources": _linked(ticket, "converted_to", incoming=True),
                            "continued_by": _linked(ticket, "continues", incoming=True)})


def _progress_panel(ticket: Ticket) -> d.Panel:
    steps = [s for s in REQUEST_PIPELINE.statuses if s.key != "refused"]
    keys = [s.key for s in steps]
    current = ticket.status.key
    reached = keys.index(current) if current in keys else -1
    return d.Panel("autoservice.progress", N_("Progress of the request"),
                   "autoservice/_progress_panel.html", order=4, audience="customer",
                   context={"steps": steps, "reached": reached,
                            "refused": current == "refused"})


# -- the outcome ---------------------------------------------------------------------------


def _contact(ticket_id: int) -> Ticket:
    try:
        ticket = tickets.require_ticket(ticket_id, viewer())
    except NotFound:
        abort(404)
    if ticket.type.key != CONTACT_TYPE:
        abort(404)
    return ticket


def _local_datetime(raw: str | None):
    raw = (raw or "").strip()
    if not raw:
        return None
    # Typed as the reader's language writes it (``31.12.2026 14:30``) or ISO.
    value = dates.parse(raw)
    if not isinstance(value, datetime):
        return raw
    return value.replace(tzinfo=i18n.current_timezone()) if value.tzinfo is None else value


@bp.post("/contacts/<int:ticket_id>/outcome")
@agent_required
def complete(ticket_id: int):
    ticket = _contact(ticket_id)
    data = {key: request.form.get(key) or None
            for key in ("category", "outcome", "assignee", "reserve_note", "comment")}
    data["follow_up_at"] = _local_datetime(request.form.get("follow_up_at"))
    try:
        result = contacts.complete(ticket, data, actor=viewer(), via="web")
    except ValidationFailed as exc:
        _flash_errors(exc)
    except PermissionDenied:
        abort(403)
    else:
        if result.service_request is not None:
            flash(_("Service request %(number)s is created.",
                    number=result.service_request.number), "success")
        elif result.continued_request is not None:
            flash(_("Service request %(number)s continues.",
                    number=result.continued_request.number), "success")
        else:
            flash(_("The outcome is recorded."), "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket.id, _anchor="autoservice"),
                    code=303)


# -- work orders ----------------------------------------------------------------------------


def _order_form_data(order: WorkOrder | None = None) -> dict:
    if order is None:
        return {"status": "open"}
    return {"number": order.number, "customer_id": order.customer_id,
            "car_make": order.car_make, "car_model": order.car_model, "plate": order.plate,
            "vin": order.vin, "description": order.description, "status": order.status,
            "external_id": order.external_id or ""}


def _customers() -> list[Customer]:
    return list(db.session.scalars(db.select(Customer).order_by(Customer.name).limit(500)))


@bp.get("/work-orders")
@permission_required("tickets.view")
def work_orders():
    status = request.args.get("status") or "open"
    search = request.args.get("q", "")
    found = workorders.listing(viewer(), status=status if status != "all" else None,
                               search=search)
    return render_template("autoservice/work_orders.html", orders=found, status=status,
                           q=search, status_labels=STATUS_LABELS,
                           can_edit=permissions.has(viewer(), WORK_ORDERS),
                           can_report=permissions.has(viewer(), "reports.view"))


@bp.route("/work-orders/new", methods=["GET", "POST"])
@permission_required(WORK_ORDERS)
def new_work_order():
    errors: dict = {}
    data = _order_form_data()
    if request.method == "POST":
        data = _form_order_data()
        try:
            order = workorders.create(data, actor=viewer())
        except ValidationFailed as exc:
            errors = i18n.translate_errors(exc.errors)
        else:
            flash(_("Work order %(number)s is saved.", number=order.number), "success")
            return redirect(url_for("autoservice.work_orders"), code=303)
    return render_template("autoservice/work_order_form.html", order=None, data=data,
                           errors=errors, customers=_customers(),
                           statuses=WORK_ORDER_STATUSES, status_labels=STATUS_LABELS,
                           field_name=_field_name), 422 if errors else 200


def _form_order_data() -> dict:
    data = {key: (request.form.get(key) or "").strip()
            for key in ("number", "car_make", "car_model", "plate", "vin", "description",
                        "status")}
    raw = (request.form.get("customer_id") or "").strip()
    data["customer_id"] = int(raw) if raw.isdigit() else raw or None
    if data["customer_id"] is None:
        data.pop("customer_id")
    return data


@bp.route("/work-orders/<int:order_id>", methods=["GET", "POST"])
@permission_required("tickets.view")
def work_order(order_id: int):
    try:
        order = workorders.get(order_id, viewer())
    except NotFound:
        abort(404)
    errors: dict = {}
    data = _order_form_data(order)
    if request.method == "POST":
        if not permissions.has(viewer(), WORK_ORDERS):
            abort(403)
        data = _form_order_data()
        try:
            workorders.update(order, data, actor=viewer())
        except ValidationFailed as exc:
            errors = i18n.translate_errors(exc.errors)
            db.session.rollback()
        else:
            flash(_("Work order %(number)s is saved.", number=order.number), "success")
            return redirect(url_for("autoservice.work_orders"), code=303)
    return render_template("autoservice/work_order_form.html", order=order, data=data,
                           errors=errors, customers=_customers(),
                           statuses=WORK_ORDER_STATUSES, status_labels=STATUS_LABELS,
                           field_name=_field_name), 422 if errors else 200


@bp.get("/customers/<int:customer_id>")
@permission_required("customers.view")
def customer(customer_id: int):
    found = get_by_id(Customer, customer_id)
    if found is None:
        abort(404)
    rows = db.session.scalars(
        db.select(Ticket).where(Ticket.customer_id == found.id)
        .order_by(Ticket.created_at.desc()).limit(100))
    visible = [t for t in rows if permissions.can_view_ticket(viewer(), t)
               and t.type.key in (CONTACT_TYPE, REQUEST_TYPE)]
    records = {r.ticket_id: r for r in db.session.scalars(
        db.select(ContactRecord).where(ContactRecord.ticket_id.in_([t.id for t in visible])))}
    return render_template("autoservice/customer.html", customer=found,
                           orders=workorders.of_customer(found.id), tickets=visible,
                           records=records, status_labels=STATUS_LABELS,
                           category_labels={c.value: c.label for c in categories.categories()},
                           outcome_labels={o.value: o.label for o in categories.outcomes()})


# -- report ----------------------------------------------------------------------------------


def _report_or_errors():
    try:
        start, end = report_service.parse_period(dates.arg("from"), dates.arg("to"))
    except ValidationFailed as exc:
        return None, i18n.translate_errors(exc.errors)
    return report_service.build(start, end, actor=viewer()), {}


@bp.get("/report")
@permission_required("reports.view")
def report():
    data, errors = _report_or_errors()
    if data is None:
        start, end = report_service.parse_period(None, None)
        data = report_service.build(start, end, actor=viewer())
    peak = max([c["contacts"] for c in data["categories"]] or [1])
    return render_template("autoservice/report.html", report=data, errors=errors, peak=peak,
                           field_name=_field_name, can_report=True), 422 if errors else 200


@bp.get("/report.csv")
@permission_required("reports.view")
def report_csv():
    data, errors = _report_or_errors()
    if data is None:
        return Response("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()),
                        status=422, mimetype="text/plain")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Category"), _("Outcome"), _("Contacts")])
    for row in data["rows"]:
        writer.writerow([i18n.translate_label(row["category_label"]) or _("No category"),
                         i18n.translate_label(row["outcome_label"]) or "—", row["contacts"]])
    writer.writerow([])
    writer.writerow([_("Targeted contacts"), "", data["targeted"]])
    writer.writerow([_("Converted into service requests"), "", data["converted"]])
    rate = data["conversion_rate"]
    writer.writerow([_("Conversion rate"), "", f"{rate * 100:.1f}%" if rate is not None else "—"])
    name = f"contacts-{data['from'].isoformat()}-{data['to'].isoformat()}.csv"
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
