"""The agent workspace (A1-A7): ``/agent``. Pages live in ``views.py`` (and
the modules it imports); templates under ``templates/agent/``. Every view is
for agents (``agent_required`` or ``permission_required(...)``)."""

from flask import Blueprint

bp = Blueprint("agent", __name__, url_prefix="/agent")

from web.agent import views  # noqa: E402,F401  - registers the routes
