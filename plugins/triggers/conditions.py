"""Conditions of a rule: a tree of ``all``/``any``/``not`` groups whose leaves test
a field with an operator or call a named condition (built-in or a plugin's).

The tree is compiled once into nodes (see ``engine``) and evaluated against the
*facts* of one event: the ticket as it is now, the event's data and what it
changed. Evaluation reads, never writes. Within a group, cheap leaves (a field
of the ticket) are tested before expensive ones (a query, a plugin's code), and
a group stops at its first deciding answer; the result is the same as testing
every child in the written order, because conditions have no side effects.

This module needs no application for field leaves (the property tests use it
bare); named conditions are resolved by the caller.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from kernel.i18n import N_
from plugins.triggers.messages import Msg

# -- operators ------------------------------------------------------------------

# What an operator's ``value`` must be: nothing, one value, a list, a moment, a number.
NONE, ONE, LIST, WHEN, NUMBER, ANY = "none", "one", "list", "when", "number", "any"


@dataclass(frozen=True)
class Operator:
    key: str
    label: str
    value: str  # NONE | ONE | LIST | WHEN | NUMBER | ANY
    needs_changes: bool = False


OPERATORS: dict[str, Operator] = {op.key: op for op in [
    Operator("is", N_("is"), ANY),
    Operator("is_not", N_("is not"), ANY),
    Operator("in", N_("is one of"), LIST),
    Operator("not_in", N_("is none of"), LIST),
    Operator("contains", N_("contains"), ANY),
    Operator("not_contains", N_("does not contain"), ANY),
    Operator("empty", N_("is empty"), NONE),
    Operator("not_empty", N_("is not empty"), NONE),
    Operator("before", N_("is before"), WHEN),
    Operator("after", N_("is after"), WHEN),
    Operator("gt", N_("is greater than"), NUMBER),
    Operator("lt", N_("is less than"), NUMBER),
    Operator("changed", N_("changed"), NONE, needs_changes=True),
    Operator("changed_from", N_("changed from"), ANY, needs_changes=True),
    Operator("changed_to", N_("changed to"), ANY, needs_changes=True),
]}


# -- values -------------------------------------------------------------------------

_TRUE = {"true", "1", "yes", "on", "да"}
_FALSE = {"false", "0", "no", "off", "нет"}
_RELATIVE = re.compile(r"^([+-])\s*(\d{1,6})\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_RELATIVE_KEYS = {"minutes_ago": -60, "hours_ago": -3600, "days_ago": -86400,
                  "minutes_from_now": 60, "hours_from_now": 3600, "days_from_now": 86400}


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, list | tuple | dict | set) and len(value) == 0)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", "."))
        except ValueError:
            return None
    return None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().casefold()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def to_moment(value: Any) -> datetime | None:
    """A stored value (datetime, date, ISO text) as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str) and value.strip():
        text = value.strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def resolve_when(spec: Any, now: datetime) -> datetime | None:
    """The moment a ``before``/``after`` value means: an ISO date or datetime,
    ``"now"``, a relative ``"-3d"`` / ``"+2h"`` / ``"-30m"`` / ``"-1w"``, or
    ``{"days_ago": 3}`` (also ``hours_ago``, ``minutes_ago``, ``days_from_now``,
    ``hours_from_now``, ``minutes_from_now``). None when it means nothing."""
    if isinstance(spec, Mapping):
        if len(spec) != 1:
            return None
        (key, amount), = spec.items()
        if key not in _RELATIVE_KEYS or _number(amount) is None:
            return None
        return now + timedelta(seconds=_RELATIVE_KEYS[key] * _number(amount))
    if isinstance(spec, str):
        text = spec.strip().lower()
        if text == "now":
            return now
        match = _RELATIVE.match(text)
        if match:
            sign, amount, unit = match.groups()
            delta = timedelta(**{_UNITS[unit]: int(amount)})
            return now + delta if sign == "+" else now - delta
    return to_moment(spec)


def when_problem(spec: Any) -> str | None:
    if resolve_when(spec, datetime(2000, 1, 1, tzinfo=UTC)) is None:
        return N_("Expected a date (2026-05-31), a date and time, \"now\", a relative "
                  "time like \"-3d\", \"+2h\", or {\"days_ago\": 3}.")
    return None


def same(a: Any, b: Any) -> bool:
    """Equality as rules mean it: ``5`` is ``"5"``, ``true`` is ``"yes"``, text
    ignores case and surrounding spaces, moments compare in UTC."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return _flag(a) is not None and _flag(a) == _flag(b)
    if isinstance(a, datetime | date) or isinstance(b, datetime | date):
        left, right = to_moment(a), to_moment(b)
        return left is not None and left == right
    if isinstance(a, int | float | Decimal) or isinstance(b, int | float | Decimal):
        left, right = _number(a), _number(b)
        return left is not None and left == right
    if isinstance(a, str) and isinstance(b, str):
        return a.strip().casefold() == b.strip().casefold()
    return a == b


def _member(item: Any, items: Any) -> bool:
    return any(same(item, other) for other in _as_list(items))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return [value]


def _matches(actual: Any, expected: Any) -> bool:
    """``is``: a list value equals a list (as sets) or contains a single value."""
    if isinstance(actual, list | tuple):
        if isinstance(expected, list | tuple):
            return (all(_member(x, expected) for x in actual)
                    and all(_member(x, actual) for x in expected))
        return _member(expected, actual)
    if isinstance(expected, list | tuple):
        return False
    return same(actual, expected)


def _contains(actual: Any, expected: Any) -> bool:
    if is_empty(actual):
        return False
    wanted = _as_list(expected)
    if not wanted:
        return False
    if isinstance(actual, list | tuple):  # each wanted item is, or is inside, an element
        return all(_member(w, actual) or any(_inside(w, x) for x in actual) for w in wanted)
    text = str(actual).casefold()
    return all(str(w).casefold() in text for w in wanted)


def _inside(needle: Any, value: Any) -> bool:
    return (isinstance(needle, str) and isinstance(value, str) and bool(needle.strip())
            and needle.strip().casefold() in value.casefold())


def _any_in(actual: Any, options: Any) -> bool:
    if isinstance(actual, list | tuple):
        return any(_member(x, options) for x in actual)
    return actual is not None and _member(actual, options)


def test(op: str, actual: Any, expected: Any, *, changes: Mapping[str, Any] | None = None,
         subject: str = "", now: datetime | None = None) -> bool:
    """One operator on one value. ``changes`` maps a subject to ``[old, new]`` for
    the change operators."""
    if op == "is":
        return _matches(actual, expected)
    if op == "is_not":
        return not _matches(actual, expected)
    if op == "in":
        return _any_in(actual, expected)
    if op == "not_in":
        return not _any_in(actual, expected)
    if op == "contains":
        return _contains(actual, expected)
    if op == "not_contains":
        return not _contains(actual, expected)
    if op == "empty":
        return is_empty(actual)
    if op == "not_empty":
        return not is_empty(actual)
    if op in ("before", "after"):
        moment, point = to_moment(actual), resolve_when(expected, now or datetime.now(UTC))
        if moment is None or point is None:
            return False
        return moment < point if op == "before" else moment > point
    if op in ("gt", "lt"):
        left, right = _number(actual), _number(expected)
        if left is None or right is None:
            return False
        return left > right if op == "gt" else left < right
    if op in ("changed", "changed_from", "changed_to"):
        change = (changes or {}).get(subject)
        if change is None:
            return False
        old, new = change
        if op == "changed":
            return True
        side = old if op == "changed_from" else new
        if isinstance(expected, list | tuple) and not isinstance(side, list | tuple):
            return _member(side, expected)
        return _matches(side, expected)
    raise ValueError(f"unknown operator {op!r}")


# -- indexing: which rules an event can match at all --------------------------------------


def index_key(value: Any) -> str | None:
    """The key a text value of ``is``/``in`` is compared by, or None when ``same``
    could find it equal to a value of another kind (a number, a flag, a moment),
    which a key cannot express."""
    if not isinstance(value, str):
        return None
    if _number(value) is not None or _flag(value) is not None or to_moment(value) is not None:
        return None
    return value.strip().casefold()


def lookup_keys(actual: Any) -> list[str]:
    """The keys under which a rule testing ``actual`` with ``is``/``in`` can match:
    a value other than text equals no indexed (text) value (see ``index_key``)."""
    values = actual if isinstance(actual, list | tuple) else [actual]
    return [v.strip().casefold() for v in values if isinstance(v, str)]


# -- subjects: what a field leaf can look at ---------------------------------------------


@dataclass(frozen=True)
class Subject:
    key: str
    label: str
    type: str  # a field type (text, choice, datetime...) for the editor and for checks
    cost: int = 1  # relative cost of reading it: 1 a ticket attribute, 2 a related row


SUBJECTS: dict[str, Subject] = {s.key: s for s in [
    Subject("type", N_("Ticket type"), "choice"),
    Subject("status", N_("Status"), "choice"),
    Subject("status_group", N_("Status group (open, closed_success, closed_failure)"), "choice"),
    Subject("number", N_("Number"), "text"),
    Subject("created_at", N_("Created"), "datetime"),
    Subject("updated_at", N_("Updated"), "datetime"),
    Subject("status_changed_at", N_("Entered its status"), "datetime"),
    Subject("closed_at", N_("Closed"), "datetime"),
    Subject("customer.name", N_("Customer name"), "text", 2),
    Subject("customer.contract_number", N_("Customer contract number"), "text", 2),
    Subject("customer.phone", N_("Customer phone (any of them)"), "phone", 2),
    Subject("customer.email", N_("Customer e-mail (any of them)"), "email", 2),
    Subject("assignee.roles", N_("Roles of the assignee"), "multi_choice", 2),
    Subject("actor.kind", N_("Who made the change (customer, agent, system)"), "choice", 2),
    Subject("via", N_("Made through (e.g. rule:Name, api)"), "text"),
    Subject("message.body", N_("Message text (message posted)"), "long_text", 2),
    Subject("message.internal", N_("Message is an internal note"), "flag", 2),
    Subject("message.author_kind", N_("Message author (customer, agent, system)"), "choice", 2),
]}

STATUS_GROUPS = ("open", "closed_success", "closed_failure")
ACTOR_KINDS = ("customer", "agent", "system")
EVENT_PREFIX = "event."  # event.<key>: a key of the event's data (plugin event kinds)


class Facts:
    """What the leaves of one rule evaluation look at: the ticket as it is now,
    the event and what it changed. Shared by every rule evaluated for the event."""

    def __init__(self, ticket: Any, event: Any, now: datetime | None = None) -> None:
        self.ticket = ticket
        self.event = event
        self.now = now or datetime.now(UTC)
        self._changes: dict[str, list[Any]] | None = None

    # - the event -
    @property
    def changes(self) -> dict[str, list[Any]]:
        if self._changes is None:
            self._changes = changes_of(self.event, self.ticket)
        return self._changes

    def value(self, subject: str) -> Any:
        ticket, event = self.ticket, self.event
        if subject.startswith(EVENT_PREFIX):
            return (getattr(event, "data", None) or {}).get(subject[len(EVENT_PREFIX):])
        if subject == "type":
            return ticket.type.key
        if subject == "status":
            return ticket.status.key
        if subject == "status_group":
            return ticket.status.group
        if subject in ("number", "created_at", "updated_at", "status_changed_at", "closed_at"):
            return getattr(ticket, subject)
        if subject == "via":
            return getattr(event, "via", None) or ""
        if subject.startswith("customer."):
            customer = customer_of(ticket)
            if customer is None:
                return None
            if subject == "customer.phone":
                return [p.number for p in customer.phones]
            if subject == "customer.email":
                return [e.email for e in customer.emails]
            return getattr(customer, subject.split(".", 1)[1])
        if subject == "assignee.roles":
            assignee = assignee_of(ticket)
            return [] if assignee is None else [r.key for r in assignee.roles]
        if subject == "actor.kind":
            actor = getattr(event, "actor", None)
            return "system" if actor is None else actor.kind
        if subject.startswith("message."):
            message = self._message()
            if message is None:
                return None
            return {"message.body": message.body, "message.internal": message.internal,
                    "message.author_kind": message.author_kind}[subject]
        return ticket.value(subject)

    def _message(self):
        data = getattr(self.event, "data", None) or {}
        if getattr(self.event, "kind", "") != "message_posted" or not data.get("message_id"):
            return None
        from kernel.db import db
        from kernel.models import Message

        return db.session.get(Message, data["message_id"])


def customer_of(ticket: Any):
    """The ticket's customer by its id (the relationship may be stale within a
    transaction that has just changed the id)."""
    from kernel.db import db
    from kernel.models import Customer

    return db.session.get(Customer, ticket.customer_id) if ticket.customer_id else None


def assignee_of(ticket: Any):
    from kernel.db import db
    from kernel.models import User

    return db.session.get(User, ticket.assignee_id) if ticket.assignee_id else None


def changes_of(event: Any, ticket: Any) -> dict[str, list[Any]]:
    """``{subject: [old, new]}`` of what ``event`` changed (see docs/triggers.md)."""
    kind = getattr(event, "kind", "")
    data = getattr(event, "data", None) or {}
    if kind == "fields_changed":
        return {str(k): list(v) for k, v in (data.get("changes") or {}).items()
                if isinstance(v, list | tuple) and len(v) == 2}
    if kind == "status_changed":
        groups = {s.key: s.group for s in ticket.type.pipeline.statuses}
        old, new = data.get("from"), data.get("to")
        return {"status": [old, new],
                "status_group": [groups.get(old), data.get("group") or groups.get(new)]}
    if kind == "assigned":
        return {"assignee": [data.get("from"), data.get("to")]}
    if kind == "created":
        result = {k: [None, v] for k, v in (data.get("values") or {}).items() if not is_empty(v)}
        result["status"] = [None, data.get("status")]
        result["type"] = [None, data.get("type")]
        return result
    return {}


# -- the compiled tree -----------------------------------------------------------------


class Node(ABC):
    cost = 1

    @abstractmethod
    def evaluate(self, facts: Facts) -> bool:
        """Whether this part of the tree holds for the facts."""

    @abstractmethod
    def explain(self, facts: Facts, indent: int = 0) -> tuple[bool, list[str]]:
        """The same answer with the reasons, for the dry run."""


def _show(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return repr(value)


YES, NO = N_("[yes]"), N_("[no] ")


def line(indent: int, result: bool, text: str) -> Msg:
    """One line of the dry run's explanation: indented by depth, marked held or not."""
    return Msg(N_("{indent}{mark} {text}"), indent="  " * indent,
               mark=Msg(YES if result else NO), text=text)


class Leaf(Node):
    """``{"field": subject, "op": operator, "value": ...}``."""

    def __init__(self, subject: str, op: str, value: Any = None, cost: int = 1) -> None:
        self.subject, self.op, self.value = subject, op, value
        self.cost = cost

    def evaluate(self, facts: Facts) -> bool:
        operator = OPERATORS[self.op]
        actual = None if operator.needs_changes else facts.value(self.subject)
        return test(self.op, actual, self.value, changes=facts.changes if operator.needs_changes
                    else None, subject=self.subject, now=facts.now)

    def describe(self) -> Msg:
        operator = OPERATORS[self.op]
        if operator.value == NONE:
            return Msg(N_("{subject} {label}"), subject=self.subject, label=operator.label)
        return Msg(N_("{subject} {label} {value}"), subject=self.subject, label=operator.label,
                   value=_show(self.value))

    def explain(self, facts: Facts, indent: int = 0) -> tuple[bool, list[str]]:
        result = self.evaluate(facts)
        if OPERATORS[self.op].needs_changes:
            change = facts.changes.get(self.subject)
            seen = (Msg(N_("this event did not change it")) if change is None
                    else Msg(N_("changed from {old} to {new}"), old=_show(change[0]),
                             new=_show(change[1])))
        else:
            seen = Msg(N_("the ticket has {value}"), value=_show(facts.value(self.subject)))
        return result, [line(indent, result, Msg(N_("{condition} — {seen}"),
                                                 condition=self.describe(), seen=seen))]


class Named(Node):
    """``{"condition": key, "params": {...}}``: a declared condition's ``evaluate``."""

    cost = 10

    def __init__(self, key: str, label: str, evaluate: Callable[..., Any],
                 params: Mapping[str, Any]) -> None:
        self.key, self.label, self.func, self.params = key, label, evaluate, dict(params)

    def evaluate(self, facts: Facts) -> bool:
        return bool(self.func(facts.ticket, facts.event, dict(self.params)))

    def explain(self, facts: Facts, indent: int = 0) -> tuple[bool, list[str]]:
        result = self.evaluate(facts)
        shown = ", ".join(f"{k}={_show(v)}" for k, v in sorted(self.params.items()))
        text = (Msg(N_("{label} ({key}: {params})"), label=self.label, key=self.key,
                    params=shown) if shown
                else Msg(N_("{label} ({key})"), label=self.label, key=self.key))
        return result, [line(indent, result, text)]


class Group(Node):
    """``{"all": [...]}`` or ``{"any": [...]}``; an empty ``all`` holds, an empty
    ``any`` does not (as Python's ``all([])`` and ``any([])``)."""

    def __init__(self, mode: str, children: list[Node]) -> None:
        self.mode = mode
        self.written = list(children)
        self.children = sorted(children, key=lambda c: c.cost)  # stable: cheap first
        self.cost = sum(c.cost for c in children) or 1

    def evaluate(self, facts: Facts) -> bool:
        if self.mode == "all":
            return all(child.evaluate(facts) for child in self.children)
        return any(child.evaluate(facts) for child in self.children)

    def explain(self, facts: Facts, indent: int = 0) -> tuple[bool, list[str]]:
        results, lines = [], []
        for child in self.written:  # every child, in the order the admin wrote them
            result, sub = child.explain(facts, indent + 1)
            results.append(result)
            lines.extend(sub)
        result = all(results) if self.mode == "all" else any(results)
        head = (N_("all of ({held} of {total} hold)") if self.mode == "all"
                else N_("any of ({held} of {total} hold)"))
        return result, [line(indent, result, Msg(head, held=sum(results), total=len(results))),
                        *lines]


class Not(Node):
    def __init__(self, child: Node) -> None:
        self.child = child
        self.cost = child.cost

    def evaluate(self, facts: Facts) -> bool:
        return not self.child.evaluate(facts)

    def explain(self, facts: Facts, indent: int = 0) -> tuple[bool, list[str]]:
        inner, lines = self.child.explain(facts, indent + 1)
        return not inner, [line(indent, not inner, Msg(N_("not"))), *lines]


ALWAYS = Group("all", [])


def compile_tree(tree: Any, named: Callable[[str, Mapping[str, Any]], Node] | None = None,
                 costs: Mapping[str, int] | None = None) -> Node:
    """A validated condition tree (see ``validation``) as a node. ``named`` turns a
    ``{"condition": ...}`` leaf into a node; ``costs`` gives a subject's cost."""
    if not tree:
        return ALWAYS
    if "all" in tree or "any" in tree:
        mode = "all" if "all" in tree else "any"
        return Group(mode, [compile_tree(child, named, costs) for child in tree[mode]])
    if "not" in tree:
        return Not(compile_tree(tree["not"], named, costs))
    if "condition" in tree:
        if named is None:
            raise ValueError("named conditions need a resolver")
        return named(tree["condition"], tree.get("params") or {})
    subject = tree["field"]
    cost = (costs or {}).get(subject) or (SUBJECTS[subject].cost if subject in SUBJECTS else 1)
    return Leaf(subject, tree["op"], tree.get("value"), cost)


def index_terms(node: Node) -> tuple[str, list[str]] | None:
    """``(subject, keys)`` when ``node`` can hold only if the subject's value has
    one of ``keys`` (``lookup_keys``): a leaf ``is``/``in`` on text values, alone
    or a child of an ``all`` group (the cheapest such child). Else None: the rule
    is evaluated for every event of its kinds."""
    if isinstance(node, Leaf):
        if node.op == "is" and not isinstance(node.value, list | tuple):
            keys = [index_key(node.value)]
        elif node.op == "in":
            keys = [index_key(v) for v in _as_list(node.value)]
        else:
            return None
        if not keys or any(k is None for k in keys):
            return None
        return node.subject, [k for k in keys if k is not None]
    if isinstance(node, Group) and node.mode == "all":
        for child in node.children:  # cheapest first
            terms = index_terms(child)
            if terms is not None:
                return terms
    return None
