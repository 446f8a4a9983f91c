"""Personal settings of every signed-in person (P2): password, time zone,
interface language, tickets per page; for agents also personal API tokens."""

from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from web.settings import views  # noqa: E402,F401  - registers the routes
