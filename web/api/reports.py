"""``/api/v1/reports``: the reports the token's user may see and each report's
figures (the same run as the report page and its CSV, guarded by the report's
permission: without it 403, an unknown key 404)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from kernel.errors import ValidationFailed
from kernel.services import reports
from web.api.auth import current_user, require_token

blp = Blueprint("api_reports", __name__, url_prefix="/reports",
                description="Reports plugins declare: campaign effectiveness, warranty "
                            "claims by category and house, ...")


class ReportDeclFilterOut(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    choices = fields.List(fields.Dict(keys=fields.String(), values=fields.String()),
                          required=True, metadata={"description": "[{value, label}]"})


class ReportDeclColumnOut(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    kind = fields.String(required=True, metadata={
        "description": "text | label | count | share (a fraction 0..1)"})


class ReportDeclOut(Schema):
    key = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    period = fields.Boolean(required=True)
    columns = fields.List(fields.Nested(ReportDeclColumnOut), required=True)
    filters = fields.List(fields.Nested(ReportDeclFilterOut), required=True)


class ReportTableQuery(Schema):
    from_ = fields.Date(data_key="from", metadata={
        "description": "First day (inclusive, the deployment's time zone); "
                       "default: 29 days before 'to'."})
    to = fields.Date(metadata={"description": "Last day (inclusive); default: today."})
    filter = fields.List(
        fields.String(validate=validate.Length(max=200)), load_default=list,
        metadata={"description": "The report's filters as key:value; see GET /reports."})


class ReportTableOut(Schema):
    key = fields.String(required=True)
    title = fields.String(required=True)
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)
    filters = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    columns = fields.List(fields.Nested(ReportDeclColumnOut), required=True)
    rows = fields.List(fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True)),
                       required=True, metadata={"description": "One object per row, by "
                                                               "column key."})
    extra = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True),
                        required=True, metadata={"description": "Whatever else the report "
                                                                "gives (totals, rates)."})


def _info(decl) -> dict:
    return {"key": decl.key, "title": decl.title, "description": decl.description,
            "period": decl.period,
            "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in decl.columns],
            "filters": [{"key": f.key, "label": f.label,
                         "choices": [{"value": str(v), "label": lbl} for v, lbl in f.choices()]}
                        for f in decl.filters]}


def _filters(items: list[str]) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise ValidationFailed({"filter": f"{item!r}: write key:value."})
        chosen[key] = value
    return chosen


@blp.route("")
class ReportList(MethodView):
    @blp.response(200, ReportDeclOut(many=True))
    @require_token
    def get(self):
        """The reports the token's user may see, with their columns and filters."""
        return [_info(decl) for decl in reports.visible(current_user())]


@blp.route("/<key>")
class Report(MethodView):
    @blp.arguments(ReportTableQuery, location="query")
    @blp.response(200, ReportTableOut)
    @require_token
    def get(self, args, key):
        """A report's figures over a period, filtered (needs the report's permission)."""
        result = reports.run(key, current_user(), args.get("from_"), args.get("to"),
                             _filters(args["filter"]))
        return {"key": result.decl.key, "title": result.decl.title,
                "from_": result.params["from"], "to": result.params["to"],
                "filters": result.params["filters"],
                "columns": [{"key": c.key, "label": c.label, "kind": c.kind}
                            for c in result.columns],
                "rows": result.records(), "extra": result.extra}
