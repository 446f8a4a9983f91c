"""Users and roles (K10): agents with their roles, customers' accounts,
deactivation, password links; roles with their permissions."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel import runtime
from kernel.db import db, get_by_id
from kernel.errors import NotFound, ValidationFailed
from kernel.models import Role, User
from kernel.services import users as user_service
from web import i18n
from web.admin import admin_required, bp
from web.admin.common import first_error, show_errors
from web.admin.forms import AgentEditForm, AgentForm, RoleEditForm, RoleForm
from web.auth import end_all_sessions, password_link, viewer
from web.forms import options
from web.mail import send_mail
from web.params import page_arg

PAGE = 50


def _roles() -> list[Role]:
    return list(db.session.scalars(db.select(Role).order_by(Role.name)))


def _role_choices(form) -> None:
    form.roles.choices = options((r.key, i18n.translate_label(r.name)) for r in _roles())


@bp.get("/users")
@admin_required("admin.users")
def users(form: AgentForm | None = None, status: int = 200):
    kind = request.args.get("kind", "agent")
    if kind not in ("agent", "customer"):
        kind = "agent"
    q = (request.args.get("q") or "").strip()[:200]
    page = page_arg()
    query = db.select(User).where(User.kind == kind)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(db.or_(db.func.lower(User.email).like(like),
                                   db.func.lower(User.name).like(like)))
    total = db.session.scalar(db.select(db.func.count()).select_from(query.subquery())) or 0
    rows = list(db.session.scalars(query.order_by(User.is_active.desc(), User.name, User.email)
                                   .limit(PAGE).offset((page - 1) * PAGE)))
    counts = dict(db.session.execute(
        db.select(User.kind, db.func.count()).group_by(User.kind)).all())
    form = form or AgentForm(formdata=None, data={"roles": ["agent"]})
    _role_choices(form)
    return render_template("admin/users.html", rows=rows, kind=kind, q=q, page=page,
                           pages=max(1, -(-total // PAGE)), total=total, counts=counts,
                           form=form), status


@bp.post("/users")
@admin_required("admin.users")
def create_agent():
    form = AgentForm()
    _role_choices(form)
    if not form.validate():
        return users(form, 422)
    try:
        user = user_service.create({"email": form.email.data, "name": form.name.data.strip(),
                                    "kind": "agent", "roles": list(form.roles.data or [])},
                                   actor=viewer())
    except ValidationFailed as exc:
        show_errors(form, exc)
        return users(form, 422)
    send_mail(user, "auth/welcome_link", {"link": password_link(user, "welcome")})
    flash(_("Agent %(email)s is created; a link to set the password is sent to them.",
            email=user.email), "success")
    return redirect(url_for("admin.user", user_id=user.id), code=303)


def _user_or_404(user_id: int) -> User:
    user = get_by_id(User, user_id)
    if user is None:
        abort(404)
    return user


def _user_page(user: User, form: AgentEditForm | None = None, status: int = 200):
    if form is None:
        form = AgentEditForm(formdata=None, data={"name": user.name,
                                                  "roles": [r.key for r in user.roles]})
    _role_choices(form)
    return render_template("admin/user.html", user=user, form=form,
                           is_self=viewer().id == user.id), status


@bp.get("/users/<int:user_id>")
@admin_required("admin.users")
def user(user_id: int):
    return _user_page(_user_or_404(user_id))


@bp.post("/users/<int:user_id>")
@admin_required("admin.users")
def update_user(user_id: int):
    target = _user_or_404(user_id)
    if not target.is_agent:
        abort(404)
    form = AgentEditForm()
    _role_choices(form)
    if not form.validate():
        return _user_page(target, form, 422)
    try:
        changed = user_service.update_agent(target, {"name": form.name.data or "",
                                                     "roles": list(form.roles.data or [])},
                                            actor=viewer())
    except ValidationFailed as exc:
        show_errors(form, exc)
        return _user_page(target, form, 422)
    flash(_("The agent is saved.") if changed else _("Nothing changed."),
          "success" if changed else "info")
    return redirect(url_for("admin.user", user_id=target.id), code=303)


@bp.post("/users/<int:user_id>/active")
@admin_required("admin.users")
def set_user_active(user_id: int):
    target = _user_or_404(user_id)
    active = request.form.get("active") == "1"
    try:
        user_service.set_active(target, active, actor=viewer())
    except ValidationFailed as exc:
        flash(first_error(exc), "error")
        return redirect(url_for("admin.user", user_id=target.id), code=303)
    flash(_("%(email)s can log in again.", email=target.email) if active else
          _("%(email)s is deactivated: they cannot log in and their API tokens stop working.",
            email=target.email), "success")
    return redirect(url_for("admin.user", user_id=target.id), code=303)


@bp.post("/users/<int:user_id>/sessions/end")
@admin_required("admin.users")
def end_user_sessions(user_id: int):
    target = _user_or_404(user_id)
    end_all_sessions(target)
    flash(_("%(email)s is signed out on every device. API tokens keep working until "
            "revoked.", email=target.email), "success")
    return redirect(url_for("admin.user", user_id=target.id), code=303)


@bp.post("/users/<int:user_id>/password")
@admin_required("admin.users")
def send_password_link(user_id: int):
    target = _user_or_404(user_id)
    if not target.is_active:
        flash(_("Reactivate the account first."), "error")
        return redirect(url_for("admin.user", user_id=target.id), code=303)
    send_mail(target, "auth/reset_password", {"link": password_link(target, "reset")})
    flash(_("A link to set a new password is sent to %(email)s. The old password works until "
            "then.", email=target.email), "success")
    return redirect(url_for("admin.user", user_id=target.id), code=303)


# -- roles ------------------------------------------------------------------------------


def _permission_choices(form) -> None:
    registry = runtime.host().registry
    form.permissions.choices = options(
        (key, i18n.translate_label(entry.decl.label))
        for key, entry in sorted(registry.permissions.items()))


def _permission_groups() -> list[tuple[str, list]]:
    registry = runtime.host().registry
    groups: dict[str, list] = {}
    for key, entry in sorted(registry.permissions.items()):
        groups.setdefault(entry.plugin, []).append((key, entry))
    return sorted(groups.items(), key=lambda kv: (kv[0] != "kernel", kv[0]))


@bp.get("/roles")
@admin_required("admin.users")
def roles(form: RoleForm | None = None, status: int = 200):
    form = form or RoleForm(formdata=None)
    _permission_choices(form)
    members = dict(db.session.execute(
        db.select(Role.id, db.func.count(User.id)).join(Role, User.roles)
        .where(User.is_active.is_(True)).group_by(Role.id)).all())
    return render_template("admin/roles.html", rows=_roles(), form=form, members=members,
                           groups=_permission_groups()), status


@bp.post("/roles")
@admin_required("admin.users")
def create_role():
    form = RoleForm()
    _permission_choices(form)
    if not form.validate():
        return roles(form, 422)
    try:
        row = user_service.save_role(form.key.data.strip(), form.name.data,
                                     list(form.permissions.data or []), actor=viewer(),
                                     create=True)
    except ValidationFailed as exc:
        show_errors(form, exc)
        return roles(form, 422)
    flash(_("Role “%(name)s” is created.", name=row.name), "success")
    return redirect(url_for("admin.role", key=row.key), code=303)


def _role_or_404(key: str) -> Role:
    row = db.session.scalar(db.select(Role).where(Role.key == key)) if len(key) <= 64 else None
    if row is None:
        abort(404)
    return row


def _role_page(row: Role, form: RoleEditForm | None = None, status: int = 200):
    if form is None:
        form = RoleEditForm(formdata=None, data={
            "name": i18n.translate_label(row.name),
            "permissions": [p for p in row.permissions if p != "*"]})
    _permission_choices(form)
    return render_template("admin/role.html", row=row, form=form,
                           groups=_permission_groups(), everything="*" in row.permissions,
                           members=[u for u in user_service.agents() if row in u.roles]), status


@bp.get("/roles/<key>")
@admin_required("admin.users")
def role(key: str):
    return _role_page(_role_or_404(key))


@bp.post("/roles/<key>")
@admin_required("admin.users")
def update_role(key: str):
    row = _role_or_404(key)
    form = RoleEditForm()
    _permission_choices(form)
    if not form.validate():
        return _role_page(row, form, 422)
    name = form.name.data.strip()
    if name == i18n.translate_label(row.name):
        name = row.name  # unchanged: keep the declared (translatable) name
    try:
        user_service.save_role(row.key, name, list(form.permissions.data or []),
                               actor=viewer())
    except (ValidationFailed, NotFound) as exc:
        if isinstance(exc, NotFound):
            abort(404)
        show_errors(form, exc)
        return _role_page(row, form, 422)
    flash(_("Role “%(name)s” is saved.", name=i18n.translate_label(name)), "success")
    return redirect(url_for("admin.role", key=row.key), code=303)
