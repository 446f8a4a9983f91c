"""The admin screen of rules (A6): ``/admin/triggers``, in the admin menu's slot
``triggers.rules``.

A list of the rules in the order they run; an editor (name, order, switches and
the events / conditions / actions picked in a form — ``static/rule-form.js``
writes the JSON the server checks — or typed as JSON by experts, beside a
reference of everything the catalogue offers); the dry run on a ticket; the run
log. Every change goes through ``plugins.triggers.service``: the same checks as
the REST API, the problems named by their path and shown under their row. Words
shown live in the templates (this plugin's own catalogue, ``translations/``);
the checks' problems and the dry run's lines are English ``messages.Msg``
texts, said here in the reader's language (``translated``, ``explained``),
while the API and the CLI keep the English.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import func, select

from kernel.db import db, utcnow
from kernel.errors import HookdeskError, NotFound, ValidationFailed
from kernel.models import Ticket
from plugins.triggers import catalogue, service
from plugins.triggers.conditions import YES
from plugins.triggers.messages import Msg
from plugins.triggers.models import Meta, Rule, Run
from web.admin import admin_required, sections_for
from web.admin.forms import FIELD_TYPE_LABELS
from web.auth import viewer
from web.i18n import translate_label

bp = Blueprint("triggers", __name__, url_prefix="/admin/triggers",
               template_folder="templates", static_folder="static",
               static_url_path="/static")

JSON_KEYS = ("events", "conditions", "actions")
OUTCOME_TONES = {"ok": "success", "partial": "warning", "failed": "danger",
                 "depth_limit": "danger", "budget_limit": "danger", "error": "danger"}
EXAMPLE = {
    "events": ["created"],
    "conditions": {"all": [{"field": "queue", "op": "is", "value": "technical"}]},
    "actions": [{"action": "triggers.add_note",
                 "params": {"body": "Technical question: {{ticket.subject}}"}}],
}


def _render(template: str, status: int = 200, **context: Any):
    context.setdefault("outcome_tones", OUTCOME_TONES)
    context.setdefault("type_labels", dict(FIELD_TYPE_LABELS))
    context.setdefault("shipped", shipped_names())
    return render_template(template, admin_sections=sections_for(viewer()), **context), status


def shipped_names() -> set[str]:
    """Names of the rules plugins shipped (``shipped``): they are declared with
    ``N_`` and shown translated; a name an admin typed is shown as typed."""
    return set(db.session.scalars(select(Meta.value).where(Meta.key.like("shipped:%"))))


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _rule_or_404(rule_id: int) -> Rule:
    try:
        return service.get(rule_id, viewer())
    except NotFound:
        abort(404)


def _tickets_by_id(runs: list[Run]) -> dict[int, str]:
    ids = {r.ticket_id for r in runs}
    if not ids:
        return {}
    return dict(db.session.execute(
        select(Ticket.id, Ticket.number).where(Ticket.id.in_(ids))).all())


@bp.get("")
@admin_required()
def rules():
    rows = service.all_rules(viewer())
    since = utcnow() - timedelta(days=1)
    counts = dict(db.session.execute(
        select(Run.rule_id, func.count(Run.id)).where(Run.at >= since).group_by(Run.rule_id)
    ).all())
    last: dict[int, Run] = {}
    latest = select(func.max(Run.id)).where(Run.rule_id.is_not(None)).group_by(Run.rule_id)
    for run in db.session.scalars(select(Run).where(Run.id.in_(latest))):
        last[run.rule_id] = run
    return _render("triggers/rules.html", rules=rows, counts=counts, last=last,
                   problems={r.id: {path: [translated(m) for m in messages]
                                    for path, messages in service.problems(r).items()}
                             for r in rows},
                   saved=request.args.get("saved"))


def translated(message: str) -> str:
    """A problem of the checks in the reader's language (the English when the
    catalogue does not know it)."""
    if not isinstance(message, Msg):
        return gettext(message) if message else message
    text = gettext(message.template)
    if not message.braced:
        return text
    values = {k: translated(v) if isinstance(v, Msg) else translate_label(v) if k == "label"
              else v for k, v in message.values.items()}
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        return str(message)


def explained(lines: list[str]) -> list[dict[str, Any]]:
    """The dry run's explanation lines in the reader's language, each with whether
    it held (``conditions.line``)."""
    shown = []
    for line in lines:
        mark = line.values.get("mark") if isinstance(line, Msg) else None
        held = mark.template == YES if isinstance(mark, Msg) else line.lstrip().startswith(YES)
        shown.append({"held": held, "text": translated(line)})
    return shown


def _labelled(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shown = []
    for item in items:
        copy = {**item, "label": translate_label(item.get("label"))}
        if item.get("help_text"):
            copy["help_text"] = translate_label(item["help_text"])
        for key in ("params", "options"):
            if key in item:
                copy[key] = _labelled(item[key])
        if item.get("choices") and isinstance(item["choices"][0], dict):
            copy["choices"] = _labelled(item["choices"])
        if item.get("choice_labels"):
            copy["choice_labels"] = {value: translate_label(label)
                                     for value, label in item["choice_labels"].items()}
        shown.append(copy)
    return shown


def form_catalogue(offered: dict[str, Any]) -> dict[str, Any]:
    """What the form's pickers offer, its labels in the reader's language."""
    return {key: _labelled(items) for key, items in offered.items()}


def _form_data() -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The posted form as a rule, and what cannot even be read (bad JSON)."""
    form = request.form
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "description": form.get("description", ""),
        "active": form.get("active") == "on",
        "stop_processing": form.get("stop_processing") == "on",
    }
    position = form.get("position", "").strip() or "100"
    try:
        data["position"] = int(position)
    except ValueError:
        errors["position"] = [gettext("Expected a whole number.")]
    for key in JSON_KEYS:
        text = form.get(key, "").strip()
        if not text:
            data[key] = {} if key == "conditions" else []
            continue
        try:
            data[key] = json.loads(text)
        except ValueError as exc:
            errors[key] = [gettext("Not valid JSON: %(problem)s", problem=exc)]
    return data, errors


def _editor(rule: Rule | None, form: dict[str, Any] | None = None,
            errors: dict[str, list[str]] | None = None, result: dict | None = None,
            ticket_ref: str = "", status: int = 200, saved: bool = False):
    if form is None:
        source = rule if rule is not None else None
        form = {
            "name": source.name if source else "",
            "description": source.description if source else "",
            "active": source.active if source else True,
            "stop_processing": source.stop_processing if source else False,
            "position": source.position if source else 100,
            **{key: _pretty(getattr(source, key) if source else EXAMPLE[key])
               for key in JSON_KEYS},
        }
    errors = {path: [translated(m) for m in messages]
              for path, messages in (errors or {}).items()}
    by_part: dict[str, list[str]] = {}
    for path, messages in errors.items():
        part = path.split(".", 1)[0]
        by_part.setdefault(part, []).extend(
            f"{path}: {m}" if path != part else m for m in messages)
    runs = service.runs(viewer(), rule_id=rule.id, limit=20) if rule is not None else []
    offered = catalogue.catalogue()
    return _render("triggers/edit.html", status, rule=rule, form=form, errors=by_part,
                   all_errors=errors, catalogue=offered, form_catalogue=form_catalogue(offered),
                   result=result,
                   ticket_ref=ticket_ref, runs=runs, numbers=_tickets_by_id(runs), saved=saved)


def _form_for_display(data: dict[str, Any]) -> dict[str, Any]:
    shown = dict(data)
    for key in JSON_KEYS:
        raw = request.form.get(key, "")
        shown[key] = raw
    shown["position"] = request.form.get("position", "")
    return shown


@bp.get("/new")
@admin_required()
def new():
    return _editor(None)


@bp.post("/new")
@admin_required()
def create():
    data, errors = _form_data()
    if not errors:
        try:
            rule = service.create(data, viewer())
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            return redirect(url_for("triggers.edit", rule_id=rule.id, saved=1))
    return _editor(None, _form_for_display(data), errors, status=422)


@bp.get("/<int:rule_id>")
@admin_required()
def edit(rule_id: int):
    return _editor(_rule_or_404(rule_id), saved=bool(request.args.get("saved")))


@bp.post("/<int:rule_id>")
@admin_required()
def save(rule_id: int):
    rule = _rule_or_404(rule_id)
    data, errors = _form_data()
    if not errors:
        try:
            service.update(rule, data, viewer())
        except ValidationFailed as exc:  # checked before anything is written
            errors = exc.errors
        else:
            return redirect(url_for("triggers.edit", rule_id=rule.id, saved=1))
    return _editor(rule, _form_for_display(data), errors, status=422)


@bp.post("/<int:rule_id>/toggle")
@admin_required()
def toggle(rule_id: int):
    rule = _rule_or_404(rule_id)
    service.update(rule, {"active": not rule.active}, viewer())
    return redirect(url_for("triggers.rules"))


@bp.post("/<int:rule_id>/delete")
@admin_required()
def delete(rule_id: int):
    service.delete(_rule_or_404(rule_id), viewer())
    return redirect(url_for("triggers.rules", saved="deleted"))


@bp.post("/<int:rule_id>/test")
@admin_required()
def test(rule_id: int):
    """The dry run of the saved rule on a ticket: nothing is written."""
    rule = _rule_or_404(rule_id)
    ref = request.form.get("ticket", "").strip()
    if not ref:
        return _editor(rule, errors={"ticket": [gettext("Give a ticket number or id.")]},
                       ticket_ref=ref, status=422)
    try:
        result = service.test(rule, ref, viewer())
    except HookdeskError as exc:
        return _editor(rule, errors={"ticket": [exc.message]}, ticket_ref=ref, status=422)
    return _editor(rule, result={**result, "because": explained(result["because"]),
                                 "actions": [translated(a) for a in result["actions"]]},
                   ticket_ref=ref)


@bp.get("/runs")
@admin_required()
def runs():
    outcome = request.args.get("outcome") or None
    if outcome not in (None, *OUTCOME_TONES):
        outcome = None
    rows = service.runs(viewer(), outcome=outcome, limit=200)
    return _render("triggers/runs.html", runs=rows, numbers=_tickets_by_id(rows),
                   outcome=outcome, outcomes=list(OUTCOME_TONES))
