"""Pipelines (K3): ordered statuses and the transitions matrix."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from kernel.db import db
from kernel.errors import NotFound, ValidationFailed
from kernel.models import Pipeline, Ticket, TicketType
from kernel.models.workflow import STATUS_GROUPS
from kernel.services import workflow
from kernel.services.uow import unit_of_work
from web.admin import admin_required, bp
from web.admin.common import first_error, save_texts, show_errors, texts_data
from web.admin.forms import PipelineCreateForm, StatusEditForm, StatusForm
from web.auth import viewer


def _pipeline_or_404(key: str) -> Pipeline:
    try:
        return workflow.pipeline(key)
    except NotFound:
        abort(404)


@bp.get("/pipelines")
@admin_required()
def pipelines(form: PipelineCreateForm | None = None, status: int = 200):
    rows = list(db.session.scalars(db.select(Pipeline).order_by(Pipeline.name)))
    types = list(db.session.scalars(db.select(TicketType)))
    used_by = {p.id: [t for t in types if t.pipeline_id == p.id] for p in rows}
    return render_template("admin/pipelines.html", pipelines=rows, used_by=used_by,
                           form=form or PipelineCreateForm(formdata=None)), status


def _parse_statuses(text: str) -> list[dict]:
    statuses = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        key = parts[0]
        name = parts[1] if len(parts) > 1 and parts[1] else key
        group = parts[2] if len(parts) > 2 and parts[2] else "open"
        if group not in STATUS_GROUPS:
            raise ValidationFailed({"statuses": _(
                "Line %(n)s: the group must be open, closed_success or closed_failure.", n=n)})
        statuses.append({"key": key, "name": name, "group": group})
    return statuses


@bp.post("/pipelines")
@admin_required()
def create_pipeline():
    form = PipelineCreateForm()
    if not form.validate():
        return pipelines(form, 422)
    try:
        statuses = _parse_statuses(form.statuses.data)
        with unit_of_work():
            row = workflow.create_pipeline(form.key.data.strip(), form.name.data.strip(),
                                           statuses, actor=viewer())
            save_texts(form, row.name, "name")
    except ValidationFailed as exc:
        errors = {("statuses" if k.startswith("statuses") else k): v
                  for k, v in exc.errors.items()}
        show_errors(form, ValidationFailed(errors))
        return pipelines(form, 422)
    flash(_("Pipeline “%(name)s” is created. Tick the moves it allows below.", name=row.name),
          "success")
    return redirect(url_for("admin.pipeline", key=row.key) + "#transitions", code=303)


def _page(pipe: Pipeline, add_form: StatusForm | None = None, edit_forms: dict | None = None,
          status: int = 200):
    db.session.refresh(pipe)
    edit_forms = dict(edit_forms or {})
    for s in pipe.statuses:
        if s.key not in edit_forms:
            edit_forms[s.key] = StatusEditForm(
                formdata=None, prefix=f"s-{s.key}",
                data={"name": s.name, "group": s.group, "color": s.color or "#94a3b8",
                      "no_color": not s.color, **texts_data(s.name, "name")})
    allowed = {(t.from_status_id, t.to_status_id) for t in pipe.transitions
               if t.archived_at is None}
    archived_moves = {(t.from_status_id, t.to_status_id) for t in pipe.transitions
                      if t.archived_at is not None}
    counts = dict(db.session.execute(
        db.select(Ticket.status_id, db.func.count())
        .where(Ticket.status_id.in_([s.id for s in pipe.statuses])).group_by(Ticket.status_id)
    ).all())
    types = list(db.session.scalars(db.select(TicketType).where(TicketType.pipeline_id
                                                                == pipe.id)))
    return render_template("admin/pipeline.html", pipe=pipe, allowed=allowed,
                           archived_moves=archived_moves,
                           add_form=add_form or StatusForm(formdata=None),
                           edit_forms=edit_forms, counts=counts, types=types), status


@bp.get("/pipelines/<key>")
@admin_required()
def pipeline(key: str):
    return _page(_pipeline_or_404(key))


@bp.post("/pipelines/<key>/statuses")
@admin_required()
def add_status(key: str):
    pipe = _pipeline_or_404(key)
    form = StatusForm()
    if not form.validate():
        return _page(pipe, add_form=form, status=422)
    try:
        with unit_of_work():
            row = workflow.add_status(pipe.key, form.key.data.strip(), form.name.data.strip(),
                                      form.group.data, actor=viewer())
            save_texts(form, row.name, "name")
    except ValidationFailed as exc:
        show_errors(form, exc)
        return _page(pipe, add_form=form, status=422)
    flash(_("Status “%(name)s” is added. Allow the moves to and from it below.",
            name=row.name), "success")
    return redirect(url_for("admin.pipeline", key=pipe.key) + "#transitions", code=303)


@bp.post("/pipelines/<key>/statuses/<status_key>")
@admin_required()
def update_status(key: str, status_key: str):
    pipe = _pipeline_or_404(key)
    if pipe.status(status_key) is None:
        abort(404)
    form = StatusEditForm(prefix=f"s-{status_key}")
    if not form.validate():
        return _page(pipe, edit_forms={status_key: form}, status=422)
    color = "" if form.no_color.data else (form.color.data or "").strip()
    try:
        with unit_of_work():
            workflow.update_status(pipe.key, status_key, {
                "name": form.name.data, "group": form.group.data, "color": color},
                actor=viewer())
            save_texts(form, (form.name.data or "").strip(), "name")
    except ValidationFailed as exc:
        show_errors(form, exc)
        return _page(pipe, edit_forms={status_key: form}, status=422)
    flash(_("Status is saved."), "success")
    return redirect(url_for("admin.pipeline", key=pipe.key), code=303)


@bp.post("/pipelines/<key>/statuses/<status_key>/move")
@admin_required()
def move_status(key: str, status_key: str):
    pipe = _pipeline_or_404(key)
    offset = -1 if request.form.get("direction") == "up" else 1
    try:
        workflow.move_status(pipe.key, status_key, offset, actor=viewer())
    except NotFound:
        abort(404)
    except ValidationFailed as exc:
        flash(first_error(exc), "error")
    return redirect(url_for("admin.pipeline", key=pipe.key), code=303)


@bp.post("/pipelines/<key>/transitions")
@admin_required()
def save_transitions(key: str):
    """The matrix: every ``from:to`` checkbox ticked is allowed, every other forbidden."""
    pipe = _pipeline_or_404(key)
    wanted = set(request.form.getlist("allow"))
    current = {(t.from_status.key, t.to_status.key) for t in pipe.transitions
               if t.archived_at is None}
    changed = 0
    try:
        for src in pipe.active_statuses:
            for dst in pipe.active_statuses:
                if src.id == dst.id:
                    continue
                allow = f"{src.key}:{dst.key}" in wanted
                if allow != ((src.key, dst.key) in current):
                    workflow.set_transition(pipe.key, src.key, dst.key, allow, actor=viewer())
                    changed += 1
    except ValidationFailed as exc:
        flash(first_error(exc), "error")
        return redirect(url_for("admin.pipeline", key=pipe.key) + "#transitions", code=303)
    if changed:
        flash(ngettext("%(num)d move changed.", "%(num)d moves changed.", changed),
              "success")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("admin.pipeline", key=pipe.key) + "#transitions", code=303)


def _archive_action(pipe: Pipeline, call, done: str, anchor: str = ""):
    try:
        call()
    except NotFound:
        abort(404)
    except ValidationFailed as exc:
        flash(first_error(exc), "error")
    else:
        flash(done, "success")
    return redirect(url_for("admin.pipeline", key=pipe.key) + anchor, code=303)


@bp.post("/pipelines/<key>/archive")
@admin_required()
def archive_pipeline(key: str):
    pipe = _pipeline_or_404(key)
    return _archive_action(pipe, lambda: workflow.archive_pipeline(pipe.key, actor=viewer()),
                           _("The pipeline is archived: kept for its tickets, gone from forms."))


@bp.post("/pipelines/<key>/restore")
@admin_required()
def restore_pipeline(key: str):
    pipe = _pipeline_or_404(key)
    return _archive_action(pipe, lambda: workflow.restore_pipeline(pipe.key, actor=viewer()),
                           _("The pipeline is restored."))


@bp.post("/pipelines/<key>/statuses/<status_key>/archive")
@admin_required()
def archive_status(key: str, status_key: str):
    pipe = _pipeline_or_404(key)
    return _archive_action(
        pipe, lambda: workflow.archive_status(pipe.key, status_key, actor=viewer()),
        _("The status is archived: tickets in it keep it; it is offered no more."), "#statuses")


@bp.post("/pipelines/<key>/statuses/<status_key>/restore")
@admin_required()
def restore_status(key: str, status_key: str):
    pipe = _pipeline_or_404(key)
    return _archive_action(
        pipe, lambda: workflow.restore_status(pipe.key, status_key, actor=viewer()),
        _("The status is restored."), "#statuses")
