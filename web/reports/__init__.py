"""The reports section (A7, K12): ``/reports``. The index lists the reports the
viewer may see; each declared report (``hookdesk_register_reports``) gets a page
with its period and filters, a table and a bar chart drawn on the server as
SVG (no script, no CDN), and a CSV export. Both read
``kernel.services.reports.run``, which checks the report's permission."""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from web.reports import views  # noqa: E402,F401  - registers the routes
