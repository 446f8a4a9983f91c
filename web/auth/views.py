"""The pages of ``/auth``: log in, log out, register, forgotten password,
set a password from an e-mailed link."""

from __future__ import annotations

import secrets
import uuid

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from kernel import jobs
from kernel.errors import ValidationFailed
from kernel.services import users
from web import i18n, ratelimit
from web.auth import password_link, safe_next, user_for_token, viewer
from web.auth.forms import ForgotForm, LoginForm, RegisterForm, SetPasswordForm
from web.forms import apply_errors
from web.mail import send_mail

bp = Blueprint("auth", __name__, url_prefix="/auth")
RESET_JOB = "auth.password_reset"

# Checked when the e-mail is unknown, so a wrong address takes as long as a wrong
# password and the answer time tells nothing.
_DUMMY_HASH = generate_password_hash("not-a-password")


def _home() -> str:
    return url_for("core.index")


def registration_mode() -> str:
    mode = str(current_app.config.get("HOOKDESK_REGISTRATION", "link")).lower()
    return mode if mode in ("link", "password", "off") else "link"


@bp.app_context_processor
def _registration():
    return {"registration_open": registration_mode() != "off"}


@bp.route("/login", methods=["GET", "POST"])
def login():
    if viewer() is not None:
        return redirect(safe_next(request.args.get("next")) or _home())
    form = LoginForm()
    status = 200
    error = None
    if form.is_submitted():
        ratelimit.hit("login_address", ratelimit.address())
    if form.validate_on_submit():
        email = form.email.data.strip()
        # Counted before the password is checked, so parallel guesses are counted too.
        ratelimit.hit("login_account", ratelimit.account(email))
        user = users.by_email(email)
        if user is None:
            check_password_hash(_DUMMY_HASH, form.password.data)
            valid = False
        else:
            valid = user.check_password(form.password.data)
        if valid and not user.is_active:
            error, status = _("This account is deactivated. Please contact support."), 403
        elif valid:
            ratelimit.clear("login_account", ratelimit.account(email))
            login_user(user, remember=form.remember.data)
            _adopt_language(user)
            return redirect(safe_next(request.args.get("next")) or _home(), code=303)
        else:
            error, status = _("Wrong e-mail or password."), 401
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form, error=error), status


def _adopt_language(user) -> None:
    """A language picked with the switcher before signing in becomes the
    account's; from then on the account's language decides."""
    from flask import session

    lang = session.pop("lang", None)
    if lang in i18n.LOCALES and lang != user.locale:
        users.update_preferences(user, {"locale": lang}, actor=user)
    i18n.refresh()


@bp.post("/logout")
def logout():
    from flask import session

    user = viewer()
    lang = user.locale if user is not None else session.get("lang")
    if user is not None:
        # Ends this session on the server, and every other one of the account:
        # a copied session or remember-me cookie opens nothing any more.
        users.end_sessions(user, actor=user)
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/register", methods=["GET", "POST"])
def register():
    mode = registration_mode()
    if mode == "off":
        abort(404)
    if viewer() is not None:
        return redirect(_home())
    form = RegisterForm().for_mode(mode)
    status = 200
    if form.is_submitted():
        ratelimit.hit("register_address", ratelimit.address())
    if form.validate_on_submit():
        password = secrets.token_urlsafe(9) if mode == "password" else None
        try:
            user, created = users.register_customer({
                "name": form.name.data, "email": form.email.data, "phone": form.phone.data,
                "locale": i18n.current_locale(), "password": password,
            })
        except ValidationFailed as exc:
            apply_errors(form, exc, {"phones": "phone"})
            status = 422
        else:
            if not created:
                if user.is_active:
                    send_mail(user, "auth/already_registered",
                              {"link": password_link(user, "reset")})
            elif password:
                send_mail(user, "auth/welcome_password", {"password": password})
            else:
                send_mail(user, "auth/welcome_link", {"link": password_link(user, "welcome")})
            return redirect(url_for("auth.check_email", reason="register"), code=303)
    elif form.is_submitted():
        status = 422
    return render_template("auth/register.html", form=form, mode=mode), status


@bp.get("/check-email")
def check_email():
    reason = request.args.get("reason")
    return render_template("auth/check_email.html",
                           reason=reason if reason in ("register", "reset") else "reset",
                           mode=registration_mode())


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    form = ForgotForm()
    status = 200
    if form.is_submitted():
        ratelimit.hit("reset_address", ratelimit.address())
    if form.validate_on_submit():
        email = form.email.data.strip()
        ratelimit.hit("reset_account", ratelimit.account(email))
        # The same answer, in the same time, whether or not the address has an
        # account: the worker looks the address up and writes the letter.
        jobs.enqueue(RESET_JOB, email=email, letter_key=f"reset-{uuid.uuid4().hex}")
        return redirect(url_for("auth.check_email", reason="reset"), code=303)
    if form.is_submitted():
        status = 422
    return render_template("auth/forgot.html", form=form), status


def send_reset_letter(email: str, letter_key: str) -> None:
    """The job ``auth.password_reset``: the letter with a reset link, when
    ``email`` belongs to an active account; nothing otherwise."""
    user = users.by_email(email)
    if user is not None and user.is_active:
        send_mail(user, "auth/reset_password", {"link": password_link(user, "reset")},
                  key=letter_key)


@bp.route("/password/<token>", methods=["GET", "POST"])
@ratelimit.limited("public_form")
def set_password(token: str):
    found = user_for_token(token)
    if found is None:
        return render_template("auth/link_expired.html"), 400
    user, purpose = found
    form = SetPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            users.set_password(user, form.password.data, actor=user)
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            logout_user()
            login_user(user)
            _adopt_language(user)
            flash(_("Your password is set. Welcome!") if purpose == "welcome"
                  else _("Your password is changed."), "success")
            return redirect(_home(), code=303)
    elif form.is_submitted():
        status = 422
    return render_template("auth/set_password.html", form=form, purpose=purpose,
                           account=user), status
