"""Admin screens of the e-mail channel (placeholder, filled below)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("mailchannel_admin", __name__, url_prefix="/admin/mail",
               template_folder="templates")
