"""The orders plugin's demo data (``hookdesk demo``): presets applied, requests in
the inbox, orders at different stages with documents, links and notes."""

from __future__ import annotations

from kernel import demo
from kernel.db import db
from kernel.models import Ticket
from plugins.orders import service


def test_the_demo_walks_through_my_orders_pro(app):
    demo.load(app.extensions["hookdesk"])
    db.session.expire_all()
    numbers = {t.number: t for t in db.session.scalars(db.select(Ticket))}
    order = next(t for n, t in numbers.items() if n.startswith("ORD-"))
    repair = next(t for n, t in numbers.items() if n.startswith("REP-"))
    assert order.status.key == "payment" and repair.status.key == "delivery"
    assert len(service.links_of(order, None)) == 1 and len(service.documents_of(order, None)) == 1
    customer = order.customer.accounts[0]
    assert [n.visible for n in service.notes_of(order, None)] == [True, False]
    assert len(service.notes_of(order, customer)) == 1
    assert len(service.inbox(None)) == 2
    assert service.type_config("orders_delivery").editable_stages == ["accepted", "buyout"]
