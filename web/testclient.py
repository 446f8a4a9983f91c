"""The test client of the app (``app.test_client()``): Flask's, sending the
session's CSRF token with every unsafe request outside ``/api/`` as Django's
test client does. Pass ``csrf=False`` to send none. No pytest import here:
``create_app`` installs the class."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def csrf_token(client: FlaskClient) -> str:
    """A valid CSRF token for ``client``'s session (made the way Flask-WTF does)."""
    app = client.application
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    with client.session_transaction() as session:
        raw = session.get(field)
        if raw is None:
            raw = session[field] = hashlib.sha1(os.urandom(64)).hexdigest()
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)


class HookdeskClient(FlaskClient):
    """Flask's test client, sending the CSRF token unless ``csrf=False``."""

    def open(self, *args: Any, csrf: bool = True, **kwargs: Any):
        method = str(kwargs.get("method", "GET")).upper()
        path = args[0] if args and isinstance(args[0], str) else str(kwargs.get("path", ""))
        cookies = getattr(self, "_cookies", None) is not None  # session_transaction needs them
        if csrf and method in UNSAFE and not path.startswith("/api/") and cookies:
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", csrf_token(self))
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


def login(client: FlaskClient, user) -> None:
    """Sign ``user`` in on ``client`` (as the login form would)."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
