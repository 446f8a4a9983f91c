"""The catalogue of what rules may use — events, fields and operators, named
conditions and actions (the built-ins and every enabled plugin's, merged from
the registry) — and the validation of a rule against it.

Validation names each bad part by its path, e.g. ``conditions.all.1.op`` or
``actions.0.params.status``, so the API's 422 answer points at it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import select

from kernel import declarations as d
from kernel import fieldset, netguard, phones, runtime
from kernel.db import db
from kernel.i18n import N_
from kernel.models import ChoiceList, Role, Status, TicketType
from plugins.triggers import conditions as c
from plugins.triggers.messages import Msg

DEADLINE_PASSED = "triggers.deadline_passed"
TIME_IN_STATUS = "triggers.time_in_status"
TIMER_KINDS = (DEADLINE_PASSED, TIME_IN_STATUS)

# Options an event entry may carry, by kind.
EVENT_OPTIONS: dict[str, list[d.FieldDecl]] = {
    "fields_changed": [d.FieldDecl("fields", "json", N_("Only when one of these fields changed"),
                                   help_text=N_("A list of field keys; empty: any field."))],
    DEADLINE_PASSED: [d.FieldDecl("hours", "number", N_("Hours after the deadline"),
                                  help_text=N_("Default 0: as soon as it passed."))],
    TIME_IN_STATUS: [
        d.FieldDecl("hours", "number", N_("Hours in the status"), required=True),
        d.FieldDecl("statuses", "json", N_("Only in these statuses"),
                    help_text=N_("A list of status keys; empty: any open status.")),
    ],
}

MAX_NODES = 200
MAX_DEPTH = 8
MAX_ACTIONS = 30


# -- what exists --------------------------------------------------------------------


def registry():
    return runtime.host().registry


def status_keys() -> list[str]:
    return sorted(set(db.session.scalars(select(Status.key))))


def type_keys() -> list[str]:
    return sorted(db.session.scalars(select(TicketType.key)))


def role_keys() -> list[str]:
    return sorted(db.session.scalars(select(Role.key)))


GROUP_LABELS = {"open": N_("Open"), "closed_success": N_("Closed: success"),
                "closed_failure": N_("Closed: failure")}
ACTOR_LABELS = {"customer": N_("Customer"), "agent": N_("Agent"), "system": N_("System")}


def _names(model: Any) -> dict[str, str]:
    names: dict[str, str] = {}
    for key, name in db.session.execute(select(model.key, model.name).order_by(model.id)):
        names.setdefault(key, name)
    return names


def field_map() -> dict[str, fieldset.Field]:
    return {f.key: f for f in fieldset.all_fields()}


def subjects() -> dict[str, dict[str, Any]]:
    """Everything a field leaf may test: the special subjects, then every active
    field (kernel columns, plugin and custom fields), with type and choices."""
    result: dict[str, dict[str, Any]] = {}
    choices = {"type": type_keys(), "status": status_keys(),
               "status_group": list(c.STATUS_GROUPS), "actor.kind": list(c.ACTOR_KINDS),
               "message.author_kind": list(c.ACTOR_KINDS), "assignee.roles": role_keys()}
    # What each choice reads as (the form shows these; rules keep the keys).
    labels = {"type": _names(TicketType), "status": _names(Status),
              "status_group": GROUP_LABELS, "actor.kind": ACTOR_LABELS,
              "message.author_kind": ACTOR_LABELS, "assignee.roles": _names(Role)}
    for key, subject in c.SUBJECTS.items():
        result[key] = {"key": key, "label": subject.label, "type": subject.type,
                       "choices": choices.get(key)}
        if choices.get(key) is not None:
            result[key]["choice_labels"] = {v: str(labels[key].get(v) or v)
                                            for v in choices[key]}
    for key, field in field_map().items():
        if key in result:
            continue
        base = fieldset.base_choices(field)
        result[key] = {"key": key, "label": field.label, "type": field.type,
                       "choices": [v for v, _l in base] if base is not None else None}
        if base is not None:
            result[key]["choice_labels"] = {v: str(lbl) for v, lbl in base}
    return result


def _param(decl: d.FieldDecl) -> dict[str, Any]:
    item: dict[str, Any] = {"key": decl.key, "type": decl.type, "label": str(decl.label),
                            "required": decl.required, "help_text": str(decl.help_text)}
    if decl.choices:
        item["choices"] = [{"value": v, "label": str(lbl)} for v, lbl in decl.choices]
    elif decl.choice_list:  # a managed dictionary, e.g. the defect categories
        clist = db.session.scalar(select(ChoiceList).where(ChoiceList.key == decl.choice_list))
        if clist is not None:
            item["choices"] = [{"value": i.value, "label": i.label}
                               for i in clist.items if i.visible]
    return item


def catalogue() -> dict[str, Any]:
    """What the rule editor and the API's ``GET /triggers/catalogue`` show."""
    reg = registry()
    return {
        "events": [{"key": key, "label": str(entry.decl.label), "plugin": entry.plugin,
                    "options": [_param(p) for p in EVENT_OPTIONS.get(key, [])]}
                   for key, entry in sorted(reg.event_kinds.items())],
        "fields": [{**s, "label": str(s["label"])} for s in subjects().values()],
        "operators": [{"key": op.key, "label": str(op.label), "value": op.value,
                       "uses_event_changes": op.needs_changes}
                      for op in c.OPERATORS.values()],
        "conditions": [{"key": key, "label": str(entry.decl.label), "plugin": entry.plugin,
                        "params": [_param(p) for p in entry.decl.params]}
                       for key, entry in sorted(reg.trigger_conditions.items())],
        "actions": [{"key": key, "label": str(entry.decl.label), "plugin": entry.plugin,
                     "side_effect": entry.decl.side_effect,
                     "params": [_param(p) for p in entry.decl.params]}
                    for key, entry in sorted(reg.trigger_actions.items())
                    if offered(entry.decl)],
    }


def offered(decl: Any) -> bool:
    """An action is offered unless its ``available()`` says not now (T3: no SMS gateway)."""
    return decl.available is None or bool(decl.available())


# -- validation ---------------------------------------------------------------------


REQUIRED = N_("This parameter is required.")
FIELD_LIST = N_("Expected a list of field keys.")
UNKNOWN_FIELD = N_("Unknown field {key!r}.")


class Problems:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.errors)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def check_params(decls: Sequence[d.FieldDecl], params: Any, path: str, out: Problems) -> dict:
    """``params`` against declared parameters: unknown keys, required ones, types."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        out.add(path, Msg(N_("Expected an object of parameters.")))
        return {}
    known = {p.key: p for p in decls}
    for key in params:
        if key not in known:
            out.add(f"{path}.{key}", Msg(N_("Unknown parameter; known: {known}."),
                                         known=", ".join(known) or "—"))
    for key, decl in known.items():
        value = params.get(key)
        if value is None or value == "":
            if decl.required:
                out.add(f"{path}.{key}", Msg(REQUIRED))
            continue
        problem = _type_problem(decl, value)
        if problem:
            out.add(f"{path}.{key}", problem if isinstance(problem, Msg) else Msg.plain(problem))
    return dict(params)


def _type_problem(decl: d.FieldDecl, value: Any) -> str | None:
    kind = decl.type
    if kind == "json":
        return None
    if kind in ("text", "long_text"):
        return None if isinstance(value, str) else Msg(N_("Expected text."))
    if kind == "number":
        return None if _is_number(value) else Msg(N_("Expected a number."))
    if kind == "flag":
        return None if isinstance(value, bool) else Msg(N_("Expected true or false."))
    if kind == "choice":
        if not isinstance(value, str):
            return Msg(N_("Expected text."))
        allowed = [v for v, _l in decl.choices]
        if allowed and value not in allowed:
            return Msg(N_("{value!r} is not one of: {allowed}."), value=value,
                       allowed=", ".join(allowed))
        return None
    if kind == "multi_choice":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return Msg(N_("Expected a list of texts."))
        allowed = [v for v, _l in decl.choices]
        bad = [v for v in value if allowed and v not in allowed]
        return Msg(N_("Not allowed: {bad}."), bad=", ".join(bad)) if bad else None
    if kind == "email":
        ok = isinstance(value, str) and _email_ok(value)
        return None if ok else Msg(N_("Not a valid e-mail address."))
    if kind == "phone":
        if not isinstance(value, str):
            return Msg(N_("Expected a phone number."))
        try:
            phones.normalize(value, runtime.config("HOOKDESK_DEFAULT_REGION", "RU"))
        except phones.InvalidPhone as exc:
            return str(exc)
        return None
    if kind in ("date", "datetime"):
        return None if c.to_moment(value) is not None else Msg(N_("Expected an ISO date."))
    if kind in ("reference", "file"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else Msg(N_("Expected an id."))
    return None


def _email_ok(value: str) -> bool:
    local, _, domain = value.strip().rpartition("@")
    return bool(local) and "." in domain and " " not in value.strip()


# Extra checks of built-in parameters: key -> check(params, path, out).
Check = Callable[[dict[str, Any], str, Problems], None]


def _check_type(params, path, out, key="type"):
    value = params.get(key)
    if isinstance(value, str) and value and value not in type_keys():
        out.add(f"{path}.{key}", Msg(N_("Unknown ticket type {value!r}; known: {known}."),
                                     value=value, known=", ".join(type_keys())))


def _check_positive(params, path, out, key, minimum=0.0, strict=True):
    value = params.get(key)
    if _is_number(value) and (value <= minimum if strict else value < minimum):
        out.add(f"{path}.{key}", Msg(N_("Must be greater than {minimum}.") if strict
                                     else N_("Must be at least {minimum}."), minimum=minimum))


def _check_field_values(params, path, out, key="values", required=False):
    values = params.get(key)
    if values is None:
        return
    if not isinstance(values, Mapping) or (required and not values):
        out.add(f"{path}.{key}", Msg(N_("Expected an object {{\"field key\": value, ...}}.")))
        return
    known = field_map()
    for name in values:
        if name not in known:
            out.add(f"{path}.{key}.{name}", Msg(N_("Unknown field.")))


def _check_agents(refs, path, out):
    from plugins.triggers.actions import _agent

    if not isinstance(refs, list) or not refs:
        out.add(path, Msg(N_("Expected a list of agent ids or e-mails.")))
        return
    for n, ref in enumerate(refs):
        if not isinstance(ref, int | str) or isinstance(ref, bool) or _agent(ref) is None:
            out.add(f"{path}.{n}", Msg(N_("No active agent {ref!r}."), ref=ref))


def _check_text_or_locales(params, path, out, key):
    value = params.get(key)
    if value is None:
        return
    if isinstance(value, str):
        if not value.strip():
            out.add(f"{path}.{key}", Msg(REQUIRED))
    elif not (isinstance(value, Mapping) and value
              and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())):
        out.add(f"{path}.{key}",
                Msg(N_("Expected text or {{\"ru\": \"...\", \"en\": \"...\"}}.")))


def _email_check(params, path, out):
    to = params.get("to")
    if to == "agents":
        _check_agents(params.get("agents"), f"{path}.agents", out)
    if to == "address" and not params.get("address"):
        out.add(f"{path}.address", Msg(N_("Give the address to send to.")))
    for key in ("subject", "body"):
        _check_text_or_locales(params, path, out, key)


def _webhook_check(params, path, out):
    url = params.get("url")
    if isinstance(url, str):
        problem = netguard.url_problem(url)
        if problem:
            out.add(f"{path}.url", Msg.plain(problem))
    if params.get("payload") is not None and not isinstance(params["payload"], Mapping):
        out.add(f"{path}.payload", Msg(N_("Expected a JSON object.")))


def _status_check(params, path, out):
    value = params.get("status")
    if isinstance(value, str) and value and value not in status_keys():
        out.add(f"{path}.status", Msg(N_("Unknown status {value!r}; known: {known}."),
                                      value=value, known=", ".join(status_keys())))


def _assign_check(params, path, out):
    from plugins.triggers.actions import _agent

    ref = params.get("agent")
    if ref not in (None, "") and (isinstance(ref, bool) or _agent(ref) is None):
        out.add(f"{path}.agent", Msg(N_("No active agent {ref!r}."), ref=ref))


def _role_check(params, path, out):
    value = params.get("role")
    if isinstance(value, str) and value and value not in role_keys():
        out.add(f"{path}.role", Msg(N_("Unknown role {value!r}; known: {known}."),
                                    value=value, known=", ".join(role_keys())))


def _sms_check(params, path, out):
    if params.get("to") == "phone" and not params.get("phone"):
        out.add(f"{path}.phone", Msg(N_("Give the number to send to.")))
    if isinstance(params.get("text"), str) and not params["text"].strip():
        out.add(f"{path}.text", Msg(REQUIRED))


def _linked_check(params, path, out):
    _check_type(params, path, out)
    _check_field_values(params, path, out)
    copy = params.get("copy_fields")
    if copy is not None:
        known = field_map()
        if not isinstance(copy, list) or not all(isinstance(k, str) for k in copy):
            out.add(f"{path}.copy_fields", Msg(FIELD_LIST))
        else:
            for n, key in enumerate(copy):
                if key not in known:
                    out.add(f"{path}.copy_fields.{n}", Msg(UNKNOWN_FIELD, key=key))


def _note_check(params, path, out):
    if isinstance(params.get("body"), str) and not params["body"].strip():
        out.add(f"{path}.body", Msg(REQUIRED))


CHECKS: dict[str, Check] = {
    "triggers.customer_ticket_count": lambda p, path, out: (
        _check_type(p, path, out), _check_positive(p, path, out, "min_count", 1, strict=False),
        _check_positive(p, path, out, "days")),
    "triggers.customer_has_open_ticket": lambda p, path, out: _check_type(p, path, out),
    "triggers.customer_recent_failure": lambda p, path, out: (
        _check_type(p, path, out), _check_positive(p, path, out, "days")),
    "triggers.set_fields": lambda p, path, out: _check_field_values(p, path, out, required=True),
    "triggers.set_status": _status_check,
    "triggers.assign": _assign_check,
    "triggers.assign_round_robin": _role_check,
    "triggers.add_note": _note_check,
    "triggers.email": _email_check,
    "triggers.sms": _sms_check,
    "triggers.webhook": _webhook_check,
    "triggers.create_linked_ticket": _linked_check,
}


def check_events(events: Any, out: Problems) -> list[dict[str, Any]]:
    if not isinstance(events, list) or not events:
        out.add("events", Msg(N_("Choose at least one event.")))
        return []
    kinds = registry().event_kinds
    cleaned = []
    for n, entry in enumerate(events):
        path = f"events.{n}"
        spec = {"kind": entry} if isinstance(entry, str) else entry
        if not isinstance(spec, Mapping) or not isinstance(spec.get("kind"), str):
            out.add(path, Msg(N_("Expected an event kind or {{\"kind\": ..., options}}.")))
            continue
        kind = spec["kind"]
        if kind not in kinds:
            out.add(f"{path}.kind", Msg(N_("Unknown event kind {kind!r}; known: {known}."),
                                        kind=kind, known=", ".join(sorted(kinds))))
            continue
        options = {k: v for k, v in spec.items() if k != "kind"}
        check_params(EVENT_OPTIONS.get(kind, []), options, path, out)
        if kind == "fields_changed" and options.get("fields") is not None:
            fields = options["fields"]
            known = field_map()
            if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
                out.add(f"{path}.fields", Msg(FIELD_LIST))
            else:
                for i, key in enumerate(fields):
                    if key not in known:
                        out.add(f"{path}.fields.{i}", Msg(UNKNOWN_FIELD, key=key))
        if kind in TIMER_KINDS:
            _check_positive(options, path, out, "hours", 0, strict=kind == TIME_IN_STATUS)
        if kind == TIME_IN_STATUS and options.get("statuses") is not None:
            statuses = options["statuses"]
            known_statuses = status_keys()
            if not isinstance(statuses, list) or not all(isinstance(s, str) for s in statuses):
                out.add(f"{path}.statuses", Msg(N_("Expected a list of status keys.")))
            else:
                for i, key in enumerate(statuses):
                    if key not in known_statuses:
                        out.add(f"{path}.statuses.{i}",
                                Msg(N_("Unknown status {key!r}."), key=key))
        cleaned.append({"kind": kind, **options})
    return cleaned


def check_conditions(tree: Any, out: Problems) -> dict[str, Any]:
    if tree is None or tree == {}:
        return {}
    known = subjects()
    count = [0]
    _check_node(tree, "conditions", out, known, 0, count)
    return tree


def _check_node(node, path, out, known, depth, count) -> None:
    count[0] += 1
    if count[0] > MAX_NODES:
        if count[0] == MAX_NODES + 1:
            out.add(path, Msg(N_("At most {count} conditions in a rule."), count=MAX_NODES))
        return
    if depth > MAX_DEPTH:
        out.add(path, Msg(N_("Groups nest at most {count} deep."), count=MAX_DEPTH))
        return
    if not isinstance(node, Mapping):
        out.add(path, Msg(N_("Expected an object: {{\"all\": [...]}}, {{\"any\": [...]}}, "
                             "{{\"not\": ...}}, {{\"field\", \"op\", \"value\"}} or "
                             "{{\"condition\", \"params\"}}.")))
        return
    shapes = [k for k in ("all", "any", "not", "field", "condition") if k in node]
    if len(shapes) != 1:
        out.add(path, Msg(N_("Expected exactly one of all, any, not, field, condition.")))
        return
    shape = shapes[0]
    if shape in ("all", "any"):
        _extra(node, {shape}, path, out)
        children = node[shape]
        if not isinstance(children, list):
            out.add(f"{path}.{shape}", Msg(N_("Expected a list of conditions.")))
            return
        for n, child in enumerate(children):
            _check_node(child, f"{path}.{shape}.{n}", out, known, depth + 1, count)
    elif shape == "not":
        _extra(node, {"not"}, path, out)
        _check_node(node["not"], f"{path}.not", out, known, depth + 1, count)
    elif shape == "condition":
        _extra(node, {"condition", "params"}, path, out)
        key = node["condition"]
        entry = registry().trigger_conditions.get(key) if isinstance(key, str) else None
        if entry is None:
            out.add(f"{path}.condition", Msg(
                N_("Unknown condition {key!r} (is its plugin enabled?); known: {known}."),
                key=key, known=", ".join(sorted(registry().trigger_conditions)) or "—"))
            return
        before = len(out.errors)
        params = check_params(entry.decl.params, node.get("params"), f"{path}.params", out)
        if len(out.errors) == before and key in CHECKS:
            CHECKS[key](params, f"{path}.params", out)
    else:
        _check_leaf(node, path, out, known)


def _extra(node: Mapping, allowed: set[str], path: str, out: Problems) -> None:
    for key in node:
        if key not in allowed:
            out.add(f"{path}.{key}", Msg(N_("Unknown key; expected {known}."),
                                         known=", ".join(sorted(allowed))))


def _check_leaf(node, path, out, known) -> None:
    _extra(node, {"field", "op", "value"}, path, out)
    subject, op = node.get("field"), node.get("op")
    info = None
    if not isinstance(subject, str) or not subject:
        out.add(f"{path}.field", Msg(N_("Choose a field.")))
    elif subject.startswith(c.EVENT_PREFIX) and len(subject) > len(c.EVENT_PREFIX):
        info = {"type": "any", "choices": None}
    elif subject not in known:
        out.add(f"{path}.field", Msg(UNKNOWN_FIELD, key=subject))
    else:
        info = known[subject]
    operator = c.OPERATORS.get(op) if isinstance(op, str) else None
    if operator is None:
        out.add(f"{path}.op", Msg(N_("Unknown operator {op!r}; known: {known}."), op=op,
                                  known=", ".join(c.OPERATORS)))
        return
    value = node.get("value")
    vpath = f"{path}.value"
    if operator.value == c.NONE:
        if value is not None:
            out.add(vpath, Msg(N_("The operator “{label}” takes no value."), label=operator.label))
        return
    if operator.value == c.LIST:
        if not isinstance(value, list) or not value or not all(_scalar(v) for v in value):
            out.add(vpath, Msg(N_("The operator “{label}” needs a non-empty list of values."),
                               label=operator.label))
            return
    elif operator.value == c.WHEN:
        problem = c.when_problem(value)
        if problem:
            out.add(vpath, Msg.plain(problem))
        return
    elif operator.value == c.NUMBER:
        if not _is_number(value):
            out.add(vpath, Msg(N_("The operator “{label}” needs a number."), label=operator.label))
        return
    else:  # ANY: a value or a list of values
        if "value" not in node:
            out.add(vpath, Msg(N_("The operator “{label}” needs a value."), label=operator.label))
            return
        if not (_scalar(value) or (isinstance(value, list) and all(_scalar(v) for v in value))):
            out.add(vpath, Msg(N_("Expected a value or a list of values.")))
            return
    if info and info.get("choices") is not None and op != "contains" and op != "not_contains":
        allowed = info["choices"]
        for item in value if isinstance(value, list) else [value]:
            if item is not None and str(item) not in allowed:
                shown = ", ".join(allowed[:30]) + (" …" if len(allowed) > 30 else "")
                out.add(vpath, Msg(N_("{item!r} is not a choice of {key!r}; choices: {shown}."),
                                   item=item, key=subject, shown=shown))


def check_actions(actions: Any, out: Problems) -> list[dict[str, Any]]:
    if not isinstance(actions, list) or not actions:
        out.add("actions", Msg(N_("Add at least one action.")))
        return []
    if len(actions) > MAX_ACTIONS:
        out.add("actions", Msg(N_("At most {count} actions in a rule."), count=MAX_ACTIONS))
        return []
    known = registry().trigger_actions
    cleaned = []
    for n, item in enumerate(actions):
        path = f"actions.{n}"
        if not isinstance(item, Mapping):
            out.add(path, Msg(N_("Expected {{\"action\": key, \"params\": {{...}}}}.")))
            continue
        _extra(item, {"action", "params"}, path, out)
        key = item.get("action")
        entry = known.get(key) if isinstance(key, str) else None
        if entry is None:
            out.add(f"{path}.action", Msg(
                N_("Unknown action {key!r} (is its plugin enabled?); known: {known}."),
                key=key, known=", ".join(sorted(known))))
            continue
        if not offered(entry.decl):
            out.add(f"{path}.action", Msg(
                N_("The action “{label}” ({key}) is not available now: the channel it sends "
                   "through is not set up (an SMS gateway, for instance). Remove the action or "
                   "set the channel up first."),
                label=entry.decl.label, key=key))
            continue
        before = len(out.errors)
        params = check_params(entry.decl.params, item.get("params"), f"{path}.params", out)
        if len(out.errors) == before and key in CHECKS:
            CHECKS[key](params, f"{path}.params", out)
        cleaned.append({"action": key, "params": params})
    return cleaned
