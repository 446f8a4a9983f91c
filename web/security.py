"""Browser-facing protections: CSRF on every form, cookie flags, security headers.

* Every POST, PUT, PATCH and DELETE outside ``/api/`` must carry the session's
  CSRF token: the ``csrf_token`` form field (``{{ csrf_token() }}`` in templates,
  or a Flask-WTF form's hidden field) or the ``X-CSRFToken`` header. A missing or
  wrong token is a 400 page. The REST API under ``/api/`` authenticates with
  bearer tokens, not cookies, so it needs none. A plugin endpoint that receives
  signed calls from elsewhere (a telephony webhook) opts out with
  ``web.security.csrf.exempt(view_or_blueprint)``.
* The session cookie ``hookdesk_session`` and the remember-me cookie
  ``hookdesk_remember`` (``HOOKDESK_REMEMBER_DAYS`` days) are ``HttpOnly`` and
  ``SameSite=Lax``, and ``Secure`` when ``HOOKDESK_BASE_URL`` is https. Both end
  on the server (``web.auth``: log out, password change, deactivation, sign out
  everywhere).
* Every response — pages, the API, its docs, files, plugins' blueprints — gets
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``, a
  Content-Security-Policy and ``X-Frame-Options: DENY``: HTML gets
  ``HOOKDESK_CONTENT_SECURITY_POLICY`` (scripts only from our own static files —
  no inline ``<script>``; inline styles are allowed; ``frame-ancestors 'none'``),
  anything else ``NON_HTML_POLICY`` (nothing may run or be framed). With an https
  base URL, ``Strict-Transport-Security`` too. A view that needs other values
  sets the header itself and it is kept (the API docs page does; a page meant
  to be framed elsewhere sets its own ``frame-ancestors``, and then no
  ``X-Frame-Options`` is added).
* ``HOOKDESK_PROXY_COUNT`` (behind that many reverse proxies) makes the client's
  address, scheme and host come from their ``X-Forwarded-*`` headers — the rate
  limits count the client, not the proxy.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

API_PREFIX = "/api/"

csrf = CSRFProtect()


# For everything that is not a page: JSON, files, images, scripts, styles.
NON_HTML_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The API docs page: Swagger UI's scripts and styles from /api/v1/docs/assets.
API_DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000"


def _frame_ancestors(policy: str | None) -> str | None:
    for directive in (policy or "").split(";"):
        name, _, value = directive.strip().partition(" ")
        if name.lower() == "frame-ancestors":
            return value.strip()
    return None


def init_app(app: Flask) -> None:
    secure = str(app.config.get("HOOKDESK_BASE_URL", "")).startswith("https://")
    if app.config.get("SESSION_COOKIE_NAME", "session") == "session":  # Flask's default
        app.config["SESSION_COOKIE_NAME"] = "hookdesk_session"
    app.config.setdefault("REMEMBER_COOKIE_NAME", "hookdesk_remember")
    app.config.setdefault("REMEMBER_COOKIE_DURATION",
                          timedelta(days=int(app.config.get("HOOKDESK_REMEMBER_DAYS") or 30)))
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
        # The check runs in our own before_request below (the API is exempt by path).
        WTF_CSRF_CHECK_DEFAULT=False,
        # A token lives as long as the session: long forms do not expire under a
        # person's hands.
        WTF_CSRF_TIME_LIMIT=None,
    )
    proxies = int(app.config.get("HOOKDESK_PROXY_COUNT") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    csrf.init_app(app)

    @app.before_request
    def protect_forms():
        if not app.config.get("WTF_CSRF_ENABLED", True) or request.path.startswith(API_PREFIX):
            return
        csrf.protect(apply_exemptions=True)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if "Content-Security-Policy" not in headers:
            page_policy = app.config.get("HOOKDESK_CONTENT_SECURITY_POLICY")
            if response.mimetype == "text/html" and page_policy:
                headers["Content-Security-Policy"] = page_policy
            elif response.mimetype != "text/html":
                headers["Content-Security-Policy"] = NON_HTML_POLICY
        if _frame_ancestors(headers.get("Content-Security-Policy")) in (None, "'none'"):
            headers.setdefault("X-Frame-Options", "DENY")
        if secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
