"""``/api/v1/webhooks``: endpoints and their delivery log (admins)."""

from __future__ import annotations

import re

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from kernel import outbox, permissions
from kernel.db import db, get_by_id
from kernel.errors import NotFound
from kernel.models import OutboxMessage
from plugins.webhooks import service
from plugins.webhooks.models import Endpoint
from web.api.auth import current_user, require_token

blp = Blueprint("api_webhooks", __name__, url_prefix="/webhooks",
                description="Outgoing webhooks: signed, retried, with a delivery log.")


class EndpointIn(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    events = fields.List(fields.String(validate=validate.Length(max=64)), load_default=["*"],
                         metadata={"description": "Event kinds, or ['*'] for all."})
    description = fields.String(validate=validate.Length(max=200))
    is_active = fields.Boolean()


class EndpointPatch(EndpointIn):
    url = fields.String(validate=validate.Length(min=1, max=2000))
    events = fields.List(fields.String(validate=validate.Length(max=64)))


class EndpointOut(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    description = fields.String(required=True)
    is_active = fields.Boolean(required=True)
    secret = fields.String(required=True,
                           metadata={"description": "HMAC-SHA256 key of X-Hookdesk-Signature."})
    created_at = fields.DateTime(required=True)


class DeliveryOut(Schema):
    id = fields.Integer(required=True)
    key = fields.String(required=True)
    event = fields.Function(lambda m: (m.payload or {}).get("event", ""), required=True)
    status = fields.String(required=True, metadata={"description": "pending, sending, sent "
                                                    "or failed"})
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(required=True)
    last_error = fields.Function(lambda m: _without_body(m.last_error), required=True,
                                 metadata={"description": "The last failure: the status code "
                                                          "and time, never the answer's body."})
    created_at = fields.DateTime(required=True)
    sent_at = fields.DateTime(allow_none=True)


_OLD_ANSWER = re.compile(r"^((?:\w+: )?HTTP \d{3}): .*$", re.S)


def _without_body(text: str | None) -> str:
    """Rows written before bodies stopped being kept (``HTTP 500: <body>``) show
    the status only."""
    return _OLD_ANSWER.sub(r"\1", text or "")


class DeliveryQuery(Schema):
    status = fields.String(validate=validate.OneOf(["pending", "sending", "sent", "failed"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


@blp.route("")
class Endpoints(MethodView):
    @blp.response(200, EndpointOut(many=True))
    @require_token
    def get(self):
        """Registered webhooks."""
        permissions.require(current_user(), "admin.settings")
        return db.session.scalars(db.select(Endpoint).order_by(Endpoint.id)).all()

    @blp.arguments(EndpointIn)
    @blp.response(201, EndpointOut)
    @require_token
    def post(self, data):
        """Register a URL for some event kinds; deliveries are signed with ``secret``."""
        return service.create(data, actor=current_user())


@blp.route("/<int:endpoint_id>")
class EndpointItem(MethodView):
    @blp.response(200, EndpointOut)
    @require_token
    def get(self, endpoint_id):
        return service.get(endpoint_id, current_user())

    @blp.arguments(EndpointPatch)
    @blp.response(200, EndpointOut)
    @require_token
    def patch(self, data, endpoint_id):
        return service.update(service.get(endpoint_id, current_user()), data, current_user())

    @blp.response(204)
    @require_token
    def delete(self, endpoint_id):
        service.delete(service.get(endpoint_id, current_user()), current_user())


@blp.route("/<int:endpoint_id>/deliveries")
class Deliveries(MethodView):
    @blp.arguments(DeliveryQuery, location="query")
    @blp.response(200, DeliveryOut(many=True))
    @require_token
    def get(self, args, endpoint_id):
        """The delivery log, newest first: status, attempts, last error."""
        service.get(endpoint_id, current_user())
        return outbox.log(ref=f"webhook:{endpoint_id}", status=args.get("status"),
                          limit=args["limit"])


@blp.route("/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver")
class Redeliver(MethodView):
    @blp.response(200, DeliveryOut)
    @require_token
    def post(self, endpoint_id, delivery_id):
        """Send a delivery again (e.g. after fixing the receiver)."""
        service.get(endpoint_id, current_user())
        row = get_by_id(OutboxMessage, delivery_id)
        if row is None or row.ref != f"webhook:{endpoint_id}":
            raise NotFound("Delivery not found.")
        outbox.retry(row)
        return row
