"""What a deployment is configured with: ticket types, pipelines, fields, users."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from kernel import fieldset, permissions, runtime
from kernel.db import db
from kernel.models import Pipeline, TicketType, User
from kernel.services import settings, tickets
from web.api import schemas as s
from web.api import serialize
from web.api.auth import current_user, require_token

blp = Blueprint("api_meta", __name__, url_prefix="",
                description="Configuration: ticket types, pipelines, fields, users.")


@blp.route("/ticket-types")
class TicketTypes(MethodView):
    @blp.response(200, s.TicketTypeOut(many=True))
    @require_token
    def get(self):
        """Active ticket types (for customers, those they may create)."""
        viewer = current_user()
        default = settings.get("kernel.default_ticket_type")
        rows = db.session.scalars(db.select(TicketType).where(TicketType.is_active.is_(True))
                                  .order_by(TicketType.order, TicketType.key)).all()
        if viewer.is_customer:
            rows = [t for t in rows if t.customer_can_create]
        return [{"key": t.key, "name": t.name, "pipeline": t.pipeline.key,
                 "initial_status": t.initial_status.key if t.initial_status else None,
                 "number_template": t.number_template,
                 "customer_can_create": t.customer_can_create, "is_default": t.key == default}
                for t in rows]


@blp.route("/ticket-filters")
class TicketFilters(MethodView):
    @blp.response(200, s.TicketFilterOut(many=True))
    @require_token
    def get(self):
        """Filters plugins add to ``GET /tickets`` (``filter=key:value``), with their values."""
        declared = runtime.host().registry.ticket_filters
        return [{"key": key, "label": e.decl.label, "ticket_types": list(e.decl.ticket_types),
                 "choices": [{"value": v, "label": lbl} for v, lbl in e.decl.choices()]}
                for key, e in sorted(declared.items())]


@blp.route("/pipelines")
class Pipelines(MethodView):
    @blp.response(200, s.PipelineOut(many=True))
    @require_token
    def get(self):
        """Pipelines with ordered statuses and allowed transitions."""
        rows = db.session.scalars(db.select(Pipeline).order_by(Pipeline.key)).all()
        result = []
        for p in rows:
            by_id = {st.id: st.key for st in p.statuses}
            result.append({
                "key": p.key, "name": p.name,
                "statuses": [{"key": st.key, "name": st.name, "group": st.group}
                             for st in p.statuses],
                "transitions": sorted(
                    ({"from_status": by_id[t.from_status_id], "to_status": by_id[t.to_status_id]}
                     for t in p.transitions),
                    key=lambda t: (t["from_status"], t["to_status"])),
            })
        return result


@blp.route("/fields")
class Fields(MethodView):
    @blp.arguments(s.FieldQuery, location="query")
    @blp.response(200, s.FieldOut(many=True))
    @require_token
    def get(self, args):
        """Field definitions in form order, with the choices allowed to this user.

        With ``type``, the form of that type; customers see the fields they fill."""
        viewer = current_user()
        ttype = tickets.ticket_type(args["type"]) if args.get("type") else None
        if ttype is None:
            rows = fieldset.all_fields()
        else:
            rows = fieldset.for_type(ttype, "customer" if viewer.is_customer else "agent")
        if viewer.is_customer and ttype is None:
            rows = [f for f in rows if f.shown_to_customer or f.editable_by_customer]
        customer = viewer.customer if viewer.is_customer else None
        result = []
        for f in rows:
            choices = None
            if f.type in ("choice", "multi_choice") or (f.type == "reference" and ttype):
                if f.type == "reference" and f.reference in ("customer", "user") \
                        and not permissions.has(viewer, "customers.view"):
                    allowed = None
                else:
                    allowed = fieldset.allowed_choices(f, ttype, viewer, customer, None)
                choices = ([{"value": v, "label": lbl} for v, lbl in allowed]
                           if allowed is not None else None)
            result.append({
                "key": f.key, "type": f.type, "label": f.label, "help_text": f.help_text,
                "required": f.required, "order": f.order, "shown_in_list": f.shown_in_list,
                "shown_on_card": f.shown_on_card, "shown_to_customer": f.shown_to_customer,
                "editable_by_customer": f.editable_by_customer,
                "ticket_types": list(f.ticket_types), "reference": f.reference,
                "choices": choices, "custom": f.is_custom,
            })
        return result


@blp.route("/users")
class Users(MethodView):
    @blp.response(200, s.UserOut(many=True))
    @require_token
    def get(self):
        """Agents (for assignment). Needs permission to assign or to manage users."""
        viewer = current_user()
        if not any(permissions.has(viewer, p) for p in ("tickets.assign", "admin.users")):
            abort(403, message="You are not allowed to list users.")
        query = db.select(User).order_by(User.id)
        if not permissions.has(viewer, "admin.users"):
            query = query.where(User.kind == "agent", User.is_active.is_(True))
        return [serialize.user(u) for u in db.session.scalars(query)]


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, s.UserOut)
    @require_token
    def get(self):
        """The user the token acts for."""
        return serialize.user(current_user())
