"""The customer cabinet (P3-P6): ``/portal``. Pages live in ``views.py`` (and
the modules it imports); templates under ``templates/portal/``. Every view
is for customers only (``customer_required``)."""

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/portal")

from web.portal import views  # noqa: E402,F401  - registers the routes
