"""The pages the kernel serves itself: a status page and a health check.

The customer portal and the agent workspace are built on top of these.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import func, select

from kernel import __version__
from kernel.db import db
from kernel.models import Customer, Ticket, TicketType, User

bp = Blueprint("core", __name__)


@bp.get("/")
def index():
    host = current_app.extensions["hookdesk"]
    counts = {
        "tickets": db.session.scalar(select(func.count(Ticket.id))) or 0,
        "customers": db.session.scalar(select(func.count(Customer.id))) or 0,
        "agents": db.session.scalar(select(func.count(User.id)).where(User.kind == "agent")) or 0,
    }
    types = db.session.scalars(select(TicketType).order_by(TicketType.order, TicketType.key)).all()
    return render_template(
        "index.html", version=__version__, plugins=host.infos, counts=counts, types=types
    )


@bp.get("/healthz")
def healthz():
    db.session.execute(select(1))
    return jsonify(status="ok", version=__version__)
