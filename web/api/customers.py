"""Customers with phones; lookup by phone (needs "can see customers")."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from kernel.services import customers
from web.api import schemas as s
from web.api import serialize
from web.api.auth import current_user, require_token

blp = Blueprint("api_customers", __name__, url_prefix="/customers",
                description="Customers (visible with the 'can see customers' permission).")


@blp.route("")
class Customers(MethodView):
    @blp.arguments(s.CustomerQuery, location="query")
    @blp.response(200, s.CustomerPage)
    @require_token
    def get(self, args):
        """List or search customers; ``phone`` finds exact matches after normalization."""
        viewer = current_user()
        if args.get("phone"):
            found = customers.find_by_phone(args["phone"], viewer)
            return {"items": [serialize.customer(c) for c in found], "page": 1,
                    "per_page": max(len(found), 1), "total": len(found), "pages": 1}
        page, per_page = args["page"], args["per_page"]
        items, total = customers.search(viewer, args.get("q"), page, per_page)
        return {"items": [serialize.customer(c) for c in items], "page": page,
                "per_page": per_page, "total": total, "pages": max(1, -(-total // per_page))}

    @blp.arguments(s.CustomerIn)
    @blp.response(201, s.CustomerOut)
    @require_token
    def post(self, data):
        """Create a customer with several phones (normalized) and e-mails."""
        return serialize.customer(customers.create(data, actor=current_user()))


@blp.route("/<int:customer_id>")
class CustomerItem(MethodView):
    @blp.response(200, s.CustomerOut)
    @require_token
    def get(self, customer_id):
        return serialize.customer(customers.get(customer_id, current_user()))

    @blp.arguments(s.CustomerPatch)
    @blp.response(200, s.CustomerOut)
    @require_token
    def patch(self, data, customer_id):
        viewer = current_user()
        customer = customers.get(customer_id, viewer)
        customers.update(customer, data, actor=viewer)
        return serialize.customer(customer)
