"""``/settings``: one page, a form per section; each form posts to its own URL
and comes back to the page (errors are shown beside their fields)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.db import utcnow
from kernel.errors import NotFound, ValidationFailed
from kernel.services import tokens, users
from web import i18n
from web.auth import agent_required, end_all_sessions, login_required, viewer
from web.forms import apply_errors
from web.settings import bp
from web.settings.forms import PasswordForm, PreferencesForm, TokenForm


def _page(status: int = 200, preferences=None, password=None, token_form=None,
          new_secret: str | None = None, new_token=None):
    user = viewer()
    if preferences is None:
        preferences = PreferencesForm(formdata=None, data={
            "name": user.name, "locale": user.locale, "timezone": user.timezone,
            "page_size": str(user.page_size)})
    password = password or PasswordForm(formdata=None)
    context = {"preferences": preferences, "password": password, "account": user,
               "now_utc": utcnow()}
    if user.is_agent:
        context.update(
            token_form=token_form or TokenForm(formdata=None),
            tokens=[t for t in tokens.for_user(user)],
            new_secret=new_secret,
            new_token=new_token,
        )
    return render_template("settings/index.html", **context), status


@bp.get("/")
@login_required
def index():
    return _page()


@bp.post("/preferences")
@login_required
def preferences():
    form = PreferencesForm()
    if not form.validate():
        return _page(422, preferences=form)
    try:
        users.update_preferences(viewer(), {
            "name": form.name.data or "", "locale": form.locale.data,
            "timezone": form.timezone.data, "page_size": form.page_size.data,
        }, actor=viewer())
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _page(422, preferences=form)
    i18n.refresh()  # the confirmation already speaks the new language
    flash(_("Your settings are saved."), "success")
    return redirect(url_for("settings.index"), code=303)


@bp.post("/password")
@login_required
def password():
    form = PasswordForm()
    if not form.validate():
        return _page(422, password=form)
    user = viewer()
    try:
        users.change_password(user, form.current_password.data, form.new_password.data)
    except ValidationFailed as exc:
        apply_errors(form, exc, {"password": "new_password"})
        return _page(422, password=form)
    # The session id carries a stamp of the password: renew it, or this session ends too.
    from flask_login import login_user

    login_user(user, remember=current_app.config["REMEMBER_COOKIE_NAME"] in request.cookies)
    flash(_("Your password is changed. Other devices have been signed out."), "success")
    return redirect(url_for("settings.index"), code=303)


@bp.post("/sessions/end")
@login_required
def end_sessions():
    """Sign out everywhere else: every other session and remember-me cookie of
    this account ends; this browser stays signed in."""
    end_all_sessions(viewer())
    flash(_("You are signed out on every other device."), "success")
    return redirect(url_for("settings.index") + "#sessions", code=303)


@bp.post("/tokens")
@agent_required
def create_token():
    form = TokenForm()
    if not form.validate():
        return _page(422, token_form=form)
    try:
        row, secret = tokens.create(viewer(), form.name.data, actor=viewer())
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _page(422, token_form=form)
    # The secret is shown on this answer only: it is never stored in clear, nor in
    # the (signed, not encrypted) session cookie a flash message would use.
    return _page(201, new_secret=secret, new_token=row)


@bp.post("/tokens/<int:token_id>/revoke")
@agent_required
def revoke_token(token_id: int):
    try:
        row = tokens.revoke(token_id, viewer())
    except NotFound:
        from flask import abort

        abort(404)
    flash(_("Token “%(name)s” is revoked: it no longer works.", name=row.name), "success")
    return redirect(url_for("settings.index") + "#tokens", code=303)
