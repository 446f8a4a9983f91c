"""``/api/v1/triggers``: rules, the catalogue, the dry run and the run log (admins)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from kernel import permissions
from kernel.errors import NotFound, ValidationFailed
from plugins.triggers import catalogue, service
from web.api.auth import current_user, require_token

blp = Blueprint("api_triggers", __name__, url_prefix="/triggers",
                description="Trigger rules: on an event, when conditions hold, run actions. "
                            "See docs/triggers.md.")

OUTCOMES = ["ok", "partial", "failed", "depth_limit", "budget_limit", "error"]


class RuleIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=5000))
    active = fields.Boolean()
    events = fields.List(fields.Raw(), required=True, metadata={
        "description": "Event kinds, each a key (\"created\") or an object with options "
                       "({\"kind\": \"fields_changed\", \"fields\": [\"queue\"]})."})
    conditions = fields.Dict(keys=fields.String(), metadata={
        "description": "A tree of {\"all\": [...]}, {\"any\": [...]}, {\"not\": ...} with "
                       "leaves {\"field\", \"op\", \"value\"} or {\"condition\", \"params\"}; "
                       "{} always holds."})
    actions = fields.List(fields.Dict(keys=fields.String()), required=True, metadata={
        "description": "In order: {\"action\": key, \"params\": {...}}."})
    position = fields.Integer(validate=validate.Range(min=-1_000_000, max=1_000_000))
    stop_processing = fields.Boolean(metadata={
        "description": "When this rule fired, later rules do not run for the event."})


class RulePatch(RuleIn):
    name = fields.String(validate=validate.Length(min=1, max=200))
    events = fields.List(fields.Raw())
    actions = fields.List(fields.Dict(keys=fields.String()))


class RuleOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    active = fields.Boolean(required=True)
    events = fields.List(fields.Dict(), required=True)
    conditions = fields.Dict(required=True)
    actions = fields.List(fields.Dict(), required=True)
    position = fields.Integer(required=True)
    stop_processing = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    problems = fields.Function(service.problems, required=True, metadata={
        "description": "What keeps the rule from running now (e.g. its plugin was disabled)."})


class TestIn(Schema):
    ticket = fields.String(required=True, validate=validate.Length(min=1, max=64),
                           metadata={"description": "Ticket id or number."})
    event_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1), metadata={
        "description": "Test against this event of the ticket; default: its latest event "
                       "of a kind the rule listens to."})


class TestUnsavedIn(TestIn):
    rule = fields.Dict(required=True, metadata={"description": "A rule as for POST /rules."})


class TestOut(Schema):
    would_fire = fields.Boolean(required=True)
    because = fields.List(fields.String(), required=True)
    event = fields.Dict(required=True)
    actions = fields.List(fields.String(), required=True)


class RunOut(Schema):
    id = fields.Integer(required=True)
    rule_id = fields.Integer(allow_none=True, required=True)
    rule_name = fields.String(required=True)
    ticket_id = fields.Integer(required=True)
    event_id = fields.Integer(allow_none=True, required=True)
    event_kind = fields.String(required=True)
    matched = fields.Boolean(required=True)
    outcome = fields.String(required=True, metadata={"description": ", ".join(OUTCOMES)})
    error = fields.String(required=True)
    results = fields.List(fields.Dict(), required=True)
    depth = fields.Integer(required=True)
    at = fields.DateTime(required=True)


class RunQuery(Schema):
    rule_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    ticket = fields.String(validate=validate.Length(min=1, max=64))
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class CatalogueOut(Schema):
    events = fields.List(fields.Dict(), required=True)
    fields_ = fields.List(fields.Dict(), required=True, data_key="fields", attribute="fields")
    operators = fields.List(fields.Dict(), required=True)
    conditions = fields.List(fields.Dict(), required=True)
    actions = fields.List(fields.Dict(), required=True)


def _admin():
    user = current_user()
    permissions.require(user, service.PERMISSION)
    return user


def _test(rule, data):
    try:
        return service.test(rule, data["ticket"], _admin(), data.get("event_id"))
    except NotFound as exc:
        field = "event_id" if "Event" in exc.message else "ticket"
        raise ValidationFailed({field: exc.message}) from exc


@blp.route("/rules")
class Rules(MethodView):
    @blp.response(200, RuleOut(many=True))
    @require_token
    def get(self):
        """Every rule, in the order they run (position, then id)."""
        return service.all_rules(_admin())

    @blp.arguments(RuleIn)
    @blp.response(201, RuleOut)
    @require_token
    def post(self, data):
        """Create a rule; a bad part is named by its path (e.g. ``conditions.all.0.op``)."""
        return service.create(data, actor=_admin())


@blp.route("/rules/<int:rule_id>")
class RuleItem(MethodView):
    @blp.response(200, RuleOut)
    @require_token
    def get(self, rule_id):
        return service.get(rule_id, _admin())

    @blp.arguments(RulePatch)
    @blp.response(200, RuleOut)
    @require_token
    def patch(self, data, rule_id):
        """Change some parts of a rule."""
        return service.update(service.get(rule_id, _admin()), data, _admin())

    @blp.response(204)
    @require_token
    def delete(self, rule_id):
        service.delete(service.get(rule_id, _admin()), _admin())


@blp.route("/rules/<int:rule_id>/test")
class RuleTest(MethodView):
    @blp.arguments(TestIn)
    @blp.response(200, TestOut)
    @require_token
    def post(self, data, rule_id):
        """Dry run: would the rule fire for this ticket, and why. Writes nothing."""
        return _test(service.get(rule_id, _admin()), data)


@blp.route("/test")
class UnsavedTest(MethodView):
    @blp.arguments(TestUnsavedIn)
    @blp.response(200, TestOut)
    @require_token
    def post(self, data):
        """Dry run of a rule that is not saved yet. Writes nothing."""
        return _test(data["rule"], data)


@blp.route("/catalogue")
class Catalogue(MethodView):
    @blp.response(200, CatalogueOut)
    @require_token
    def get(self):
        """Events, fields, operators, conditions and actions rules may use, with the
        parameters each takes (the built-ins and every enabled plugin's)."""
        _admin()
        return catalogue.catalogue()


@blp.route("/runs")
class Runs(MethodView):
    @blp.arguments(RunQuery, location="query")
    @blp.response(200, RunOut(many=True))
    @require_token
    def get(self, args):
        """The run log, newest first: which rule fired on which ticket, and what happened."""
        user = _admin()
        ticket = None
        if args.get("ticket"):
            from kernel.services import tickets

            try:
                ticket = tickets.get(args["ticket"], user)
            except NotFound as exc:
                raise ValidationFailed({"ticket": exc.message}) from exc
        return service.runs(user, rule_id=args.get("rule_id"), ticket=ticket,
                            outcome=args.get("outcome"), limit=args["limit"])
