"""The agent workspace (A1-A7): ``/agent``. Pages live in ``views.py`` (and
the modules it imports); templates under ``templates/agent/``. Every view is
for agents (``agent_required`` or ``permission_required(...)``).

* ``table.py`` — the ticket table with filters, badges and counters (A1);
* ``create.py`` — a ticket created by hand, customers by phone (A2, A3);
* ``card.py`` — the agent's ticket card: edit, status, assignee, thread,
  files, links, history, plugin panels and buttons;
* ``board.py`` — the pipeline board (kanban) of a ticket type (A4).
"""

from flask import Blueprint

bp = Blueprint("agent", __name__, url_prefix="/agent")


@bp.record_once
def _globals(state):
    from web.agent import common

    common.register(state.app)


from web.agent import views  # noqa: E402,F401  - registers the routes
