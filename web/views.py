"""The application's own pages: the front door, the system status and the
health check, plus what every page's layout needs (menu, site name)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, url_for
from sqlalchemy import func, select
from werkzeug.routing import BuildError

from kernel import __version__
from kernel.db import db
from kernel.models import Customer, Ticket, TicketType, User
from web.auth import permission_required, viewer
from web.navigation import menu_for, snippets_for

bp = Blueprint("core", __name__)


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def url_for_if(endpoint: str, **values) -> str | None:
    """``url_for``, or None when the page does not exist (yet)."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


@bp.record_once
def _template_globals(state):
    state.app.jinja_env.globals.update(has_endpoint=has_endpoint, url_for_if=url_for_if)


@bp.app_context_processor
def layout_context():
    return {
        "site_name": current_app.config["HOOKDESK_SITE_NAME"],
        "version": __version__,
        "menu": lambda: menu_for(viewer()),
        "page_snippets": lambda: snippets_for(viewer()),
    }


@bp.get("/")
def index():
    """The front door: sign in, or your own start page."""
    user = viewer()
    if user is None:
        return redirect(url_for("auth.login"))
    if user.is_customer:
        return redirect(url_for("portal.index"))
    return redirect(url_for("agent.index"))


@bp.get("/status")
@permission_required("admin.settings")
def status():
    """What is installed and running: version, plugins, ticket types, counts."""
    host = current_app.extensions["hookdesk"]
    counts = {
        "tickets": db.session.scalar(select(func.count(Ticket.id))) or 0,
        "customers": db.session.scalar(select(func.count(Customer.id))) or 0,
        "agents": db.session.scalar(select(func.count(User.id)).where(User.kind == "agent")) or 0,
    }
    types = db.session.scalars(select(TicketType).order_by(TicketType.order, TicketType.key)).all()
    return render_template("core/status.html", plugins=host.infos, counts=counts, types=types)


@bp.get("/healthz")
def healthz():
    db.session.execute(select(1))
    return jsonify(status="ok", version=__version__)
