"""Agent workspace pages."""

from __future__ import annotations

from flask import render_template

from web.agent import bp
from web.auth import agent_required


@bp.get("/")
@agent_required
def index():
    """The ticket table (A1). The table itself is built on this page."""
    return render_template("agent/index.html")
