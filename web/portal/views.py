"""Customer cabinet pages."""

from __future__ import annotations

from flask import render_template

from web.auth import customer_required
from web.portal import bp


@bp.get("/")
@customer_required
def index():
    """The customer's tickets (P4). The list itself is built on this page."""
    return render_template("portal/index.html")
