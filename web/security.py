"""Browser-facing protections: CSRF on every form, cookie flags, security headers.

* Every POST, PUT, PATCH and DELETE outside ``/api/`` must carry the session's
  CSRF token: the ``csrf_token`` form field (``{{ csrf_token() }}`` in templates,
  or a Flask-WTF form's hidden field) or the ``X-CSRFToken`` header. A missing or
  wrong token is a 400 page. The REST API under ``/api/`` authenticates with
  bearer tokens, not cookies, so it needs none. A plugin endpoint that receives
  signed calls from elsewhere (a telephony webhook) opts out with
  ``web.security.csrf.exempt(view_or_blueprint)``.
* Session and remember-me cookies are ``HttpOnly`` and ``SameSite=Lax``, and
  ``Secure`` when ``HOOKDESK_BASE_URL`` is https.
* Pages get ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: SAMEORIGIN``,
  ``Referrer-Policy: same-origin`` and ``HOOKDESK_CONTENT_SECURITY_POLICY``
  (scripts only from our own static files — no inline ``<script>``; inline
  styles are allowed). A view that needs other values sets the header itself;
  it is kept.
"""

from __future__ import annotations

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect

API_PREFIX = "/api/"

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    secure = str(app.config.get("HOOKDESK_BASE_URL", "")).startswith("https://")
    app.config.setdefault("SESSION_COOKIE_NAME", "hookdesk_session")
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
        if not request.path.startswith(API_PREFIX):
            headers.setdefault("X-Frame-Options", "SAMEORIGIN")
            policy = app.config.get("HOOKDESK_CONTENT_SECURITY_POLICY")
            if policy and response.mimetype == "text/html":
                headers.setdefault("Content-Security-Policy", policy)
        return response
