"""Token authentication: ``Authorization: Bearer hd_<prefix>_<secret>``."""

from __future__ import annotations

from functools import wraps

from flask import g, request
from flask_smorest import abort

from kernel.services import tokens


def current_user():
    return g.get("api_user")


def authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, message="Send a personal API token: Authorization: Bearer <token>.",
              headers={"WWW-Authenticate": 'Bearer realm="hookdesk"'})
    user = tokens.authenticate(token.strip())
    if user is None:
        abort(401, message="The token is unknown, revoked, or its user is deactivated.",
              headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    g.api_user = user


def require_token(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        authenticate()
        return view(*args, **kwargs)

    return wrapper
