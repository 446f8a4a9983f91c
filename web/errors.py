"""Error pages in the layout (400, 401, 403, 404, 405, 413, 429, 500...) for everything
outside ``/api/``. The error handlers are registered once, by ``web.api.errors``:
under ``/api/`` they answer JSON problems, elsewhere they call ``html_error``.

Kernel refusals that escape a page become pages too: ``NotFound`` is 404,
``PermissionDenied`` 403, any other ``HookdeskError`` its own status.
"""

from __future__ import annotations

import logging

from flask import render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from kernel.errors import HookdeskError
from web import i18n

log = logging.getLogger("hookdesk.web")


def _texts(code: int, exc: Exception | None) -> tuple[str, str]:
    if code == 429:
        from datetime import timedelta

        from flask_babel import format_timedelta

        seconds = getattr(exc, "retry_after", None)
        if isinstance(seconds, int) and seconds > 0:
            wait = format_timedelta(timedelta(seconds=seconds), threshold=1)
            return (_("Too many attempts"),
                    _("Too many attempts from your address or for this account. "
                      "Please wait %(wait)s and try again.", wait=wait))
        return (_("Too many attempts"),
                _("Too many attempts from your address or for this account. "
                  "Please wait a little and try again."))
    if isinstance(exc, CSRFError):
        return (_("The form has expired"),
                _("The page was open too long or the form came from another site. "
                  "Go back, reload the page and send it again."))
    texts = {
        400: (_("Bad request"), _("The request could not be understood.")),
        401: (_("Please log in"), _("You need to log in to see this page.")),
        403: (_("Access denied"), _("You do not have permission to see this page.")),
        404: (_("Page not found"),
              _("The page does not exist, was moved, or is not available to you.")),
        405: (_("Not allowed"), _("This page cannot be used this way.")),
        409: (_("Conflict"), _("Someone changed this at the same time. Reload and try again.")),
        413: (_("Too large"), _("The file or the form is larger than allowed.")),
        422: (_("Invalid input"), _("Some fields are invalid.")),
        500: (_("Something went wrong"),
              _("We could not complete the request. Please try again in a minute.")),
    }
    return texts.get(code, (_("Error"), _("The request could not be completed.")))


def html_error(exc: Exception):
    """The error page for ``exc`` (an ``HTTPException`` or a kernel refusal)."""
    if isinstance(exc, HTTPException):
        code = exc.code or 500
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    elif isinstance(exc, HookdeskError):
        code, headers = exc.status, []
    else:  # pragma: no cover - Flask routes other exceptions as InternalServerError
        code, headers = 500, []
    title, message = _texts(code, exc)
    detail = None
    if isinstance(exc, HookdeskError) and code != 404:
        detail = i18n.translate_message(exc.message)
    try:
        body = render_template("errors/error.html", code=code, title=title, message=message,
                               detail=detail)
    except Exception:  # the layout itself failed (database down...): plain words
        log.exception("rendering the %s page failed", code)
        body = f"<!doctype html><title>{code}</title><h1>{code}</h1>"
    return body, code, headers

