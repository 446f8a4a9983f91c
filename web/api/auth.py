"""Token authentication: ``Authorization: Bearer hd_<prefix>_<secret>``."""

from __future__ import annotations

from functools import wraps

from flask import g, request
from flask_smorest import abort

from kernel.services import tokens
from web import ratelimit


def current_user():
    return g.get("api_user")


def authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, message="Send a personal API token: Authorization: Bearer <token>.",
              headers={"WWW-Authenticate": 'Bearer realm="hookdesk"'})
    token = token.strip()
    # Failed tokens are counted per address and per token prefix (the account);
    # once over the limit even a good token from there waits (429).
    keys = [("token_failures", ratelimit.address())]
    prefix = tokens.prefix_of(token)
    if prefix:
        keys.append(("token_failures", ratelimit.account("token:" + prefix)))
    for rule, key in keys:
        ratelimit.check(rule, key)
    user = tokens.authenticate(token)
    if user is None:
        for rule, key in keys:
            ratelimit.hit(rule, key)
        abort(401, message="The token is unknown, revoked, or its user is deactivated.",
              headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    g.api_user = user


def require_token(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        authenticate()
        return view(*args, **kwargs)

    return wrapper
