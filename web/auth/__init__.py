"""Signing in and out, registration and passwords (P1), with Flask-Login.

For the pages others build:

* ``viewer()`` — the signed-in ``kernel.models.User`` or None; pass it as
  ``actor``/``viewer`` to the services. Also in ``g.user`` and, in templates,
  ``current_user``.
* Decorators: ``login_required``, ``agent_required``, ``customer_required``,
  ``permission_required("tickets.view")`` (403 page when the viewer lacks it).
* ``safe_next(url)`` — a local path to go back to, or None for anything that
  could leave the site.
* ``password_link(user, purpose)`` — an absolute "set your password" link,
  signed with ``SECRET_KEY`` and spent once the password changes.
* ``end_all_sessions(user)`` — sign ``user`` out on every device; the current
  request's session goes on when it is ``user``'s own (sign out everywhere else).

Sessions end on the server: the session id and the remember-me cookie carry a
stamp of the password hash and of ``users.session_token``. Logging out, a
password change, deactivation and "sign out everywhere" renew it, so a copied
``hookdesk_session`` or ``hookdesk_remember`` cookie no longer opens a page.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, g, request
from flask_login import AnonymousUserMixin, LoginManager, current_user
from flask_login import login_required as _login_required
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import joinedload

from kernel import permissions
from kernel.db import MAX_ID, db, get_by_id
from kernel.i18n import N_
from kernel.models import User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = N_("Please log in to see this page.")
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"

TOKEN_SALT = "hookdesk.password-link"
PURPOSES = ("welcome", "reset")


class Anonymous(AnonymousUserMixin):
    """The visitor who has not signed in; answers the questions templates ask."""

    is_agent = False
    is_customer = False
    name = ""
    email = ""
    locale = None
    timezone = None


login_manager.anonymous_user = Anonymous


def _an_id(text: str) -> bool:
    return text.isdigit() and 0 < int(text) <= MAX_ID


@login_manager.user_loader
def load_user(ident: str) -> User | None:
    user_id, _, stamp = (ident or "").partition(":")
    user = None
    if _an_id(user_id):
        # The user and their roles in one statement: every page starts here.
        user = db.session.scalars(db.select(User).where(User.id == int(user_id))
                                  .options(joinedload(User.roles))).unique().first()
    if user is None or not user.is_active:
        return None
    if not hmac.compare_digest(user.session_stamp, stamp):
        # The password changed, or the sessions were ended (log out, sign out
        # everywhere, deactivation) since this session or cookie was made.
        return None
    return user


def viewer() -> User | None:
    user = current_user._get_current_object()
    return user if isinstance(user, User) else None


def login_required(view: Callable) -> Callable:
    return _login_required(view)


def _requiring(check: Callable[[User], bool]) -> Callable[[Callable], Callable]:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            user = viewer()
            if user is None:
                return login_manager.unauthorized()
            if not check(user):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


agent_required = _requiring(lambda user: user.is_agent)
customer_required = _requiring(lambda user: user.is_customer)


def permission_required(permission: str) -> Callable[[Callable], Callable]:
    """Only agents holding ``permission`` (customers get 403 too)."""
    return _requiring(lambda user: user.is_agent and permissions.has(user, permission))


def safe_next(target: str | None) -> str | None:
    """``target`` when it stays on this site (a path, or a URL on this host), as a
    path with its query; None otherwise."""
    if not target or not isinstance(target, str) or "\\" in target:
        return None
    target = target.strip()
    if any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        here = urlsplit(request.host_url)
        if (parts.scheme, parts.netloc) != (here.scheme, here.netloc):
            return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//"):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


# -- password links -----------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    from flask import current_app

    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def password_token(user: User, purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    return _serializer().dumps({"u": user.id, "s": user.password_stamp, "p": purpose})


def password_link(user: User, purpose: str) -> str:
    from web.mail import external_url

    return external_url("auth.set_password", token=password_token(user, purpose))


def user_for_token(token: str) -> tuple[User, str] | None:
    """The active user a password link was made for, and its purpose; None when
    the link is forged, expired, or spent (the password changed since)."""
    from flask import current_app

    max_age = int(current_app.config["HOOKDESK_PASSWORD_LINK_HOURS"]) * 3600
    try:
        data = _serializer().loads(token, max_age=max_age)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("p") not in PURPOSES:
        return None
    user = get_by_id(User, data.get("u"))
    if user is None or not user.is_active:
        return None
    if not hmac.compare_digest(user.password_stamp, str(data.get("s", ""))):
        return None
    return user, data["p"]


def end_all_sessions(user: User, keep_current: bool = True) -> None:
    """End every session of ``user``; when the viewer is ``user`` and
    ``keep_current``, this browser is signed in again with the new stamp (its
    remember-me cookie renewed if it had one)."""
    from flask import current_app
    from flask_login import login_user

    from kernel.services import users

    me = viewer()
    users.end_sessions(user, actor=me)
    if keep_current and me is not None and me.id == user.id:
        remember = current_app.config["REMEMBER_COOKIE_NAME"] in request.cookies
        login_user(user, remember=remember)


def init_app(app: Flask) -> None:
    from flask_babel import gettext

    from kernel import jobs
    from kernel.declarations import JobDecl
    from web.auth.views import RESET_JOB, bp, send_reset_letter

    # Retried while the database is away; the key makes a retry the same letter.
    jobs.add_job(app, JobDecl(RESET_JOB, send_reset_letter, retries=3, retry_delay=10))
    login_manager.init_app(app)
    login_manager.localize_callback = gettext
    # A global too, so macros imported without context see it.
    app.jinja_env.globals["current_user"] = current_user
    app.register_blueprint(bp)

    @app.before_request
    def remember_viewer():
        # Plugins read the signed-in user as ``g.user`` (docs/plugins.md).
        if request.endpoint != "static":
            g.user = viewer()
