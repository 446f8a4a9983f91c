"""``/api/v1/autoservice``: work orders pushed by a dealer management system
(``PUT /work-orders/<external_id>``: create or update, idempotent), a contact's
automatic category and its outcome (the same service as the card), the category
dictionary, and the contacts report.

Who sees what: agents who see tickets read everything here; a customer's token
reads only that customer's own work orders (another's is "not found"); pushing
work orders needs ``autoservice.work_orders``; recording an outcome needs
"change ticket status"; the report needs "see reports"."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from kernel import permissions
from kernel.errors import NotFound, PermissionDenied
from kernel.models import Ticket
from kernel.services import tickets
from plugins.autoservice import (
    CATEGORY_FIELD,
    CONTACT_TYPE,
    categories,
    classify,
    contacts,
    workorders,
)
from plugins.autoservice import report as report_service
from plugins.autoservice.models import WORK_ORDER_STATUSES, WorkOrder
from web.api import serialize
from web.api.auth import current_user, require_token
from web.api.schemas import TicketOut

blp = Blueprint("api_autoservice", __name__, url_prefix="/autoservice",
                description="Auto-service: work orders of the dealer system, contacts' "
                            "automatic categories and outcomes, the category dictionary, "
                            "the contacts report. Contacts and service requests themselves "
                            "are tickets of types 'contact' and 'service_request'.")

MAX_ID = 2**31 - 1


class WorkOrderIn(workorders.WorkOrderSchema):
    """A work order as the dealer system knows it. On create ``number`` and a
    customer (``customer_id`` or ``customer_phone``) are required."""


class WorkOrderOut(Schema):
    id = fields.Integer(required=True)
    external_id = fields.String(allow_none=True, required=True)
    number = fields.String(required=True)
    customer_id = fields.Integer(required=True)
    car_make = fields.String(required=True)
    car_model = fields.String(required=True)
    plate = fields.String(required=True)
    vin = fields.String(required=True)
    description = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(WORK_ORDER_STATUSES))
    opened_at = fields.DateTime(required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    updated_at = fields.DateTime(required=True)


class WorkOrderQuery(Schema):
    customer_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    status = fields.String(validate=validate.OneOf(WORK_ORDER_STATUSES))


class ReasonOut(Schema):
    code = fields.String(required=True)
    params = fields.Dict(required=True)
    text = fields.String(required=True)


class ClassificationOut(Schema):
    ticket_id = fields.Integer(required=True)
    category = fields.String(allow_none=True, required=True)
    automatic_category = fields.String(allow_none=True, required=True)
    rule = fields.String(allow_none=True, required=True)
    reason = fields.Nested(ReasonOut, allow_none=True, required=True)
    overridden = fields.Boolean(required=True)
    outcome = fields.String(allow_none=True, required=True)
    service_request_id = fields.Integer(allow_none=True, required=True)
    continued_request_id = fields.Integer(allow_none=True, required=True)


class OutcomeIn(Schema):
    category = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "A category value; default: the contact's current category."})
    outcome = fields.String(allow_none=True, validate=validate.Length(min=1, max=64),
                            metadata={"description": "One of the category's outcomes; none "
                                                     "for a category without outcomes."})
    follow_up_at = fields.AwareDateTime(metadata={"description": "For a postponing outcome."})
    assignee = fields.Integer(validate=validate.Range(min=1, max=MAX_ID),
                              metadata={"description": "For a redirecting outcome: the agent."})
    reserve_note = fields.String(validate=validate.Length(max=500))
    comment = fields.String(validate=validate.Length(max=2000))


class OutcomeOut(Schema):
    effect = fields.String(required=True)
    contact = fields.Nested(TicketOut, required=True)
    service_request = fields.Nested(TicketOut, allow_none=True, required=True)
    continued_request = fields.Nested(TicketOut, allow_none=True, required=True)


class OutcomeItemOut(Schema):
    value = fields.String(required=True)
    label = fields.String(required=True)
    effect = fields.String(required=True)
    visible = fields.Boolean(required=True)


class CategoryOut(Schema):
    value = fields.String(required=True)
    label = fields.String(required=True)
    group = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(categories.KINDS))
    rule = fields.String(allow_none=True, required=True)
    allow_manual = fields.Boolean(required=True)
    visible = fields.Boolean(required=True)
    outcomes = fields.List(fields.Nested(OutcomeItemOut), required=True)


class ReportQuery(Schema):
    from_ = fields.Date(data_key="from", metadata={"description": "First day (inclusive); "
                                                                  "default: 29 days before 'to'."})
    to = fields.Date(metadata={"description": "Last day (inclusive); default: today."})


class ReportRowOut(Schema):
    category = fields.String(allow_none=True, required=True)
    category_label = fields.String(required=True)
    outcome = fields.String(allow_none=True, required=True)
    outcome_label = fields.String(required=True)
    contacts = fields.Integer(required=True)


class ReportCategoryOut(Schema):
    category = fields.String(allow_none=True, required=True)
    category_label = fields.String(required=True)
    contacts = fields.Integer(required=True)


class ReportOut(Schema):
    from_ = fields.Date(data_key="from", attribute="from", required=True)
    to = fields.Date(required=True)
    contacts = fields.Integer(required=True)
    targeted = fields.Integer(required=True, metadata={
        "description": "Contacts of targeted categories (repair services, spare parts...)."})
    converted = fields.Integer(required=True, metadata={
        "description": "Targeted contacts converted into service requests."})
    conversion_rate = fields.Float(allow_none=True, required=True, metadata={
        "description": "converted / targeted (0..1); null without targeted contacts."})
    rows = fields.List(fields.Nested(ReportRowOut), required=True)
    categories = fields.List(fields.Nested(ReportCategoryOut), required=True)


def _order_out(order: WorkOrder) -> dict[str, Any]:
    return {k: getattr(order, k) for k in WorkOrderOut().fields}


def _staff():
    user = current_user()
    if user.is_customer or not permissions.has(user, "tickets.view"):
        raise PermissionDenied("You are not allowed to see contacts.")
    return user


def _contact(ticket_id: int) -> Ticket:
    user = _staff()
    ticket = tickets.require_ticket(ticket_id, user)
    if ticket.type.key != CONTACT_TYPE:
        raise NotFound("Contact not found.")
    return ticket


@blp.route("/work-orders")
class WorkOrders(MethodView):
    @blp.arguments(WorkOrderQuery, location="query")
    @blp.response(200, WorkOrderOut(many=True))
    @require_token
    def get(self, args):
        """Work orders, newest first; a customer's token lists only their own."""
        return [_order_out(o) for o in workorders.listing(
            current_user(), customer_id=args.get("customer_id"), status=args.get("status"))]

    @blp.arguments(WorkOrderIn)
    @blp.response(201, WorkOrderOut)
    @require_token
    def post(self, data):
        """Add a work order (needs ``autoservice.work_orders``)."""
        return _order_out(workorders.create(data, actor=current_user()))


@blp.route("/work-orders/<external_id>")
class WorkOrderByExternalId(MethodView):
    @blp.response(200, WorkOrderOut)
    @require_token
    def get(self, external_id):
        """The work order the dealer system knows as ``external_id``."""
        order = workorders.by_external_id(external_id)
        if order is None or not workorders.can_view(current_user(), order):
            raise NotFound("Work order not found.")
        return _order_out(order)

    @blp.arguments(WorkOrderIn)
    @blp.response(200, WorkOrderOut)
    @blp.alt_response(201, schema=WorkOrderOut, description="Created")
    @require_token
    def put(self, data, external_id):
        """Create or update by the dealer system's id: sending the same data again
        changes nothing. 201 when created, 200 when it existed."""
        order, created = workorders.upsert(external_id, data, actor=current_user())
        return _order_out(order), 201 if created else 200


@blp.route("/contacts/<int:ticket_id>/classification")
class Classification(MethodView):
    @blp.response(200, ClassificationOut)
    @require_token
    def get(self, ticket_id):
        """How the contact's category was chosen: the rule that fired and why."""
        ticket = _contact(ticket_id)
        record = contacts.record_for(ticket)
        reason = None
        if record is not None and record.reason:
            reason = {"code": record.reason.get("code", ""),
                      "params": record.reason.get("params") or {},
                      "text": classify.reason_text(record.reason)}
        return {"ticket_id": ticket.id, "category": ticket.value(CATEGORY_FIELD),
                "automatic_category": record.auto_category if record else None,
                "rule": record.rule if record else None, "reason": reason,
                "overridden": bool(record and record.overridden),
                "outcome": record.outcome if record else None,
                "service_request_id": record.service_request_id if record else None,
                "continued_request_id": record.continued_request_id if record else None}


@blp.route("/contacts/<int:ticket_id>/outcome")
class Outcome(MethodView):
    @blp.arguments(OutcomeIn)
    @blp.response(200, OutcomeOut)
    @require_token
    def post(self, data, ticket_id):
        """Record the contact's category and outcome and do what it does (convert,
        postpone, redirect, refuse, close) — in one transaction."""
        user = current_user()
        ticket = _contact(ticket_id)
        result = contacts.complete(ticket, data, actor=user, via="api")

        def out(t):
            return serialize.ticket(t, user) if t is not None else None

        return {"effect": result.effect, "contact": out(result.contact),
                "service_request": out(result.service_request),
                "continued_request": out(result.continued_request)}


@blp.route("/categories")
class Categories(MethodView):
    @blp.response(200, CategoryOut(many=True))
    @require_token
    def get(self):
        """The category dictionary in its order, each with its outcomes."""
        _staff()
        return [{"value": c.value, "label": c.label, "group": c.group, "kind": c.kind,
                 "rule": c.rule, "allow_manual": c.allow_manual, "visible": c.visible,
                 "outcomes": [{"value": o.value, "label": o.label, "effect": o.effect,
                               "visible": o.visible} for o in categories.outcomes(c.value)]}
                for c in categories.categories()]


@blp.route("/report")
class Report(MethodView):
    @blp.arguments(ReportQuery, location="query")
    @blp.response(200, ReportOut)
    @require_token
    def get(self, args):
        """Contacts by category and outcome over a period (the deployment's days) and
        the conversion rate of targeted contacts — the figures of the report page."""
        start, end = report_service.parse_period(args.get("from_"), args.get("to"))
        return report_service.build(start, end, actor=current_user())
