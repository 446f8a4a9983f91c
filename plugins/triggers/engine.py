"""The rule engine: for each history event, inside its transaction, run the
active rules that listen to its kind and whose conditions hold.

* **Index.** Active rules are compiled once (conditions into predicate nodes,
  cheap ones first) and indexed by event kind, then by the text value of the
  field they test with ``is``/``in`` (``conditions.index_terms``): an event
  evaluates only the rules its own values can match, so 1,000 rules that each
  wait for another subject cost one lookup, not 1,000 evaluations. The compiled
  index is shared by the application and tagged with a stamp
  (``triggers_meta.rules_stamp``) that every change to a rule replaces in the
  same transaction; each transaction reads the stamp once and rebuilds the index
  only if another process changed a rule.
  An event whose kind no rule listens to costs one dictionary lookup.
* **Actions** run in order, each in its own unit of work — a SAVEPOINT of the
  change that fired the rule — so a failing action is undone alone and logged,
  and the triggering change stands.
* **Loops.** A rule never fires for its own changes: not while its actions run
  (a stack of running rules in the session), and not for an event made ``via``
  ``rule:<its name>``. A chain of rules firing rules stops at
  ``HOOKDESK_TRIGGERS_MAX_DEPTH`` (default 5) with an error in the log and a
  ``depth_limit`` row in the run log — never an exception.
* **Storms.** The *chain* is everything one original change (an event not made
  by a rule) sets off, however the rules nest. In one chain a rule runs at most
  once per ticket, and all rules together run at most
  ``HOOKDESK_TRIGGERS_MAX_ACTIONS`` actions (default 50); a rule met after the
  budget is spent gets a ``budget_limit`` row in the run log, an action cut off
  mid-rule a failed result. Four rules that each change a field and e-mail the
  customer run four times for one edit, not 31 (the e-mails are then coalesced
  by the kernel's outbox, see ``kernel.letters``).
* **Run log.** Each rule that matched writes a ``triggers_runs`` row in the same
  transaction: what each action did, or why it failed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel import phones, runtime
from kernel.db import db, utcnow
from kernel.errors import HookdeskError
from kernel.i18n import N_
from plugins.triggers import as_of
from plugins.triggers import conditions as c
from plugins.triggers.actions import Skipped
from plugins.triggers.catalogue import TIMER_KINDS
from plugins.triggers.messages import Msg
from plugins.triggers.models import Meta, Rule, Run

log = logging.getLogger("hookdesk.triggers")

STAMP_KEY = "rules_stamp"
DEFAULT_MAX_DEPTH = 5
DEFAULT_MAX_ACTIONS = 50
_MEMO = "hookdesk.triggers.index"  # session.info: this transaction's index
_PRIVATE = "hookdesk.triggers.private"  # session.info: rules written, not yet committed
_STACK = "hookdesk.triggers.stack"  # session.info: rules whose actions are running
_CHAIN = "hookdesk.triggers.chain"  # session.info: the chain of the original change
_CACHE = "hookdesk.triggers"  # app.extensions: the shared index


def max_depth() -> int:
    return int(runtime.config("HOOKDESK_TRIGGERS_MAX_DEPTH", DEFAULT_MAX_DEPTH))


def max_actions() -> int:
    """The action budget of one chain (``HOOKDESK_TRIGGERS_MAX_ACTIONS``)."""
    return max(0, int(runtime.config("HOOKDESK_TRIGGERS_MAX_ACTIONS", DEFAULT_MAX_ACTIONS)))


@dataclass
class Chain:
    """What one original change set off: the rules that ran on each ticket and
    the actions it may still run."""

    origin: str
    actions_left: int
    ran: set[tuple[int, int]] = field(default_factory=set)  # (rule id, ticket id)


# -- compiled rules ------------------------------------------------------------------


@dataclass(frozen=True)
class EventSpec:
    kind: str
    fields: frozenset[str] | None = None
    hours: float = 0.0
    statuses: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, spec: Mapping[str, Any]) -> EventSpec:
        fields = spec.get("fields")
        return cls(kind=spec["kind"], fields=frozenset(fields) if fields else None,
                   hours=float(spec.get("hours") or 0), statuses=tuple(spec.get("statuses") or ()))

    def accepts(self, event: Any) -> bool:
        if self.kind != event.kind:
            return False
        if self.fields is not None:
            changed = (event.data or {}).get("changes") or {}
            return any(key in changed for key in self.fields)
        return True


@dataclass(frozen=True)
class CompiledRule:
    id: int
    name: str
    position: int
    stop_processing: bool
    specs: tuple[EventSpec, ...]
    condition: c.Node
    actions: tuple[tuple[str, dict[str, Any]], ...]
    problem: str = ""  # why it cannot run (a plugin it needs is disabled)

    @property
    def via(self) -> str:
        return f"rule:{self.name}"


@dataclass
class KindRules:
    """The rules of one event kind, split for lookup: those an event can match
    only through a text value of one field (``conditions.index_terms``) are found
    by that value, the others are evaluated for every event. Each rule keeps its
    place in the kind's order."""

    scan: list[tuple[int, CompiledRule]] = field(default_factory=list)
    keyed: dict[str, dict[str, list[tuple[int, CompiledRule]]]] = field(default_factory=dict)

    @classmethod
    def build(cls, rules: list[CompiledRule]) -> KindRules:
        split = cls()
        for place, rule in enumerate(rules):
            terms = c.index_terms(rule.condition)
            if terms is None:
                split.scan.append((place, rule))
                continue
            subject, keys = terms
            table = split.keyed.setdefault(subject, {})
            for key in dict.fromkeys(keys):
                table.setdefault(key, []).append((place, rule))
        return split

    def candidates(self, facts: c.Facts) -> list[CompiledRule]:
        """The rules that may match the event of ``facts``, in order."""
        if not self.keyed:
            return [rule for _place, rule in self.scan]
        found = list(self.scan)
        for subject, table in self.keyed.items():
            try:
                keys = c.lookup_keys(facts.value(subject))
            except Exception:  # the rules' own evaluation reports it, per rule
                found.extend(pair for pairs in table.values() for pair in pairs)
                continue
            for key in keys:
                found.extend(table.get(key, ()))
        found.sort(key=lambda pair: pair[0])
        rules: list[CompiledRule] = []
        last = -1
        for place, rule in found:
            if place != last:
                rules.append(rule)
                last = place
        return rules


@dataclass
class Index:
    stamp: str | None
    rules: list[CompiledRule] = field(default_factory=list)
    by_kind: dict[str, list[CompiledRule]] = field(default_factory=dict)
    timed: list[tuple[CompiledRule, EventSpec]] = field(default_factory=list)
    lookup: dict[str, KindRules] = field(default_factory=dict)


class _Unavailable(c.Node):
    cost = 0

    def __init__(self, message: str) -> None:
        self.message = message

    def evaluate(self, facts):
        raise LookupError(self.message)

    def explain(self, facts, indent=0):
        return False, [c.line(indent, False, self.message)]


def _named(key: str, params: Mapping[str, Any]) -> c.Node:
    entry = runtime.host().registry.trigger_conditions.get(key)
    if entry is None:
        return _Unavailable(Msg(N_("Condition {key!r} is not available (is its plugin "
                                   "enabled?)."), key=key))
    return c.Named(key, str(entry.decl.label), entry.decl.evaluate, params)


def _prepare(tree: Any, kinds: Mapping[str, str]) -> Any:
    """Normalize phone values so ``customer.phone is "8 912 ..."`` matches E.164."""
    if not isinstance(tree, Mapping):
        return tree
    if "all" in tree or "any" in tree:
        mode = "all" if "all" in tree else "any"
        return {mode: [_prepare(child, kinds) for child in tree[mode]]}
    if "not" in tree:
        return {"not": _prepare(tree["not"], kinds)}
    if "field" in tree and kinds.get(tree["field"]) == "phone" and tree.get("op") in (
            "is", "is_not", "in", "not_in", "changed_from", "changed_to"):
        region = runtime.config("HOOKDESK_DEFAULT_REGION", "RU")

        def norm(value):
            try:
                return phones.normalize(value, region) if isinstance(value, str) else value
            except phones.InvalidPhone:
                return value

        value = tree.get("value")
        value = [norm(v) for v in value] if isinstance(value, list) else norm(value)
        return {**tree, "value": value}
    return tree


def compile_rule(rule: Rule | Mapping[str, Any], kinds: Mapping[str, str] | None = None
                 ) -> CompiledRule:
    get = (lambda k, default=None: rule.get(k, default)) if isinstance(rule, Mapping) \
        else (lambda k, default=None: getattr(rule, k, default))
    if kinds is None:
        from kernel import fieldset

        kinds = {f.key: f.type for f in fieldset.all_fields()}
        kinds.update({k: s.type for k, s in c.SUBJECTS.items()})
    specs = tuple(EventSpec.from_json({"kind": s} if isinstance(s, str) else s)
                  for s in get("events") or [])
    problem = ""
    node = c.compile_tree(_prepare(get("conditions") or {}, kinds), _named)
    actions = []
    registry = runtime.host().registry
    for item in get("actions") or []:
        if item.get("action") not in registry.trigger_actions:
            problem = Msg(N_("Action {key!r} is not available (is its plugin enabled?)."),
                          key=item.get("action"))
        actions.append((item.get("action"), dict(item.get("params") or {})))
    return CompiledRule(id=get("id") or 0, name=get("name") or "", position=get("position") or 0,
                        stop_processing=bool(get("stop_processing")), specs=specs,
                        condition=node, actions=tuple(actions), problem=problem)


def build_index(stamp: str | None) -> Index:
    from kernel import fieldset

    kinds = {f.key: f.type for f in fieldset.all_fields()}
    kinds.update({k: s.type for k, s in c.SUBJECTS.items()})
    rows = db.session.scalars(
        select(Rule).where(Rule.active.is_(True)).order_by(Rule.position, Rule.id)).all()
    index = Index(stamp)
    for row in rows:
        try:
            compiled = compile_rule(row, kinds)
        except Exception:  # a rule stored by hand that does not compile
            log.exception("Rule %r cannot be compiled; it is skipped.", row.name)
            continue
        if compiled.problem:
            log.error("Rule %r is skipped: %s", row.name, compiled.problem)
            continue
        index.rules.append(compiled)
        for spec in compiled.specs:
            if spec.kind in TIMER_KINDS:
                index.timed.append((compiled, spec))
            else:
                bucket = index.by_kind.setdefault(spec.kind, [])
                if not bucket or bucket[-1] is not compiled:
                    bucket.append(compiled)
    index.lookup = {kind: KindRules.build(rules) for kind, rules in index.by_kind.items()}
    return index


def current_index() -> Index:
    """The compiled active rules as this transaction sees them."""
    session = db.session()
    memo = session.info.get(_MEMO)
    if memo is not None and not _rules_pending(session):
        return memo
    stamp = session.execute(select(Meta.value).where(Meta.key == STAMP_KEY)).scalar()
    private = session.info.get(_PRIVATE) or _rules_pending(session)
    cache = runtime.app().extensions.setdefault(_CACHE, {})
    index = None if private else cache.get("index")
    if index is None or index.stamp != stamp:
        index = build_index(stamp)
        if not private:
            cache["index"] = index
    session.info[_MEMO] = index
    return index


def _rules_pending(session: Session) -> bool:
    return any(isinstance(obj, Rule) for obj in (*session.new, *session.dirty, *session.deleted))


@sa_event.listens_for(Session, "before_flush")
def _stamp_rule_writes(session, flush_context, instances):
    if _rules_pending(session):
        import uuid

        session.info[_PRIVATE] = True
        session.info.pop(_MEMO, None)
        row = session.get(Meta, STAMP_KEY)
        if row is None:
            session.add(Meta(key=STAMP_KEY, value=uuid.uuid4().hex))
        else:
            row.value = uuid.uuid4().hex


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session, transaction):
    if transaction.parent is None:
        session.info.pop(_MEMO, None)
        session.info.pop(_PRIVATE, None)
    elif session.info.get(_PRIVATE):  # a savepoint may have undone a rule change
        session.info.pop(_MEMO, None)


# -- firing ---------------------------------------------------------------------------


def _stack() -> list[CompiledRule]:
    return db.session.info.setdefault(_STACK, [])


def on_event(event: Any, ticket: Any) -> None:
    """``hookdesk_event_recorded``: run the rules listening to this event's kind.
    Time-based kinds are dispatched by the periodic scan (``timers``) instead."""
    if event.kind in TIMER_KINDS:
        return
    index = current_index()
    found = index.lookup.get(event.kind)
    if found is None:
        return
    facts = c.Facts(ticket, event, utcnow())
    likely = found.candidates(facts)
    if likely:
        dispatch(index.by_kind[event.kind], ticket, event, facts, likely)


def dispatch(rules: list[CompiledRule], ticket: Any, event: Any,
             facts: c.Facts | None = None, likely: list[CompiledRule] | None = None) -> int:
    """Evaluate ``rules`` in order for one event and run those that match;
    returns how many ran. An event no rule made starts a chain (see the module
    doc); events the rules' actions make belong to it."""
    info = db.session.info
    if _stack() and info.get(_CHAIN) is not None:
        return _dispatch(rules, ticket, event, info[_CHAIN], facts, likely)
    chain = Chain(origin=f"{event.kind} on {ticket.number}", actions_left=max_actions())
    info[_CHAIN] = chain
    try:
        return _dispatch(rules, ticket, event, chain, facts, likely)
    finally:
        info.pop(_CHAIN, None)


def _dispatch(rules: list[CompiledRule], ticket: Any, event: Any, chain: Chain,
              facts: c.Facts | None = None, likely: list[CompiledRule] | None = None) -> int:
    """``likely``: the rules of ``rules`` the index says can match the ticket as it
    was. Once a rule's actions ran the ticket may have changed, so from there on
    every rule of ``rules`` is evaluated, as without the index."""
    stack = _stack()
    running = {r.id for r in stack}
    facts = facts or c.Facts(ticket, event, utcnow())
    ran = 0
    queue = likely if likely is not None else rules
    place = 0
    while place < len(queue):
        rule = queue[place]
        place += 1
        if rule.id in running or event.via == rule.via:
            continue  # a rule's own changes never fire it again
        if (rule.id, ticket.id) in chain.ran:
            continue  # once per ticket in one chain
        if not any(spec.accepts(event) for spec in rule.specs):
            continue
        try:
            matched = rule.condition.evaluate(facts)
        except Exception as exc:  # a plugin's condition failed: log it, change stands
            log.exception("Rule %r: a condition failed on %s", rule.name, ticket.number)
            _log_run(rule, ticket, event, False, "error", f"Condition failed: {_message(exc)}",
                     [], len(stack))
            continue
        if not matched:
            continue
        if len(stack) >= max_depth():
            path = " -> ".join([r.name for r in stack] + [rule.name])
            message = (f"Chain of rules deeper than {max_depth()} ({path}); {rule.name!r} "
                       f"was not run for {event.kind} on {ticket.number}.")
            log.error(message)
            _log_run(rule, ticket, event, True, "depth_limit", message, [], len(stack))
            continue
        if chain.actions_left <= 0:
            message = (f"The chain of rules started by {chain.origin} spent its budget of "
                       f"{max_actions()} actions; {rule.name!r} was not run for {event.kind} "
                       f"on {ticket.number}.")
            log.error(message)
            _log_run(rule, ticket, event, True, "budget_limit", message, [], len(stack))
            chain.ran.add((rule.id, ticket.id))  # said once per rule and ticket
            continue
        chain.ran.add((rule.id, ticket.id))
        run_actions(rule, ticket, event)
        ran += 1
        if rule.stop_processing:
            break
        if queue is not rules:
            queue, place = rules, next(n for n, r in enumerate(rules) if r is rule) + 1
    return ran


def run_actions(rule: CompiledRule, ticket: Any, event: Any) -> Run:
    from kernel.services.uow import unit_of_work

    stack = _stack()
    depth = len(stack)
    registry = runtime.host().registry
    results: list[dict[str, Any]] = []
    stack.append(rule)
    try:
        for index, (key, params) in enumerate(rule.actions):
            context = {
                "rule_id": rule.id, "rule_name": rule.name, "via": rule.via,
                "action_index": index, "event_id": event.id, "depth": depth,
                "idempotency_key": f"rule-{rule.id}-event-{event.id}-action-{index}",
            }
            entry = registry.trigger_actions.get(key)
            result: dict[str, Any] = {"index": index, "action": key, "ok": True}
            chain = db.session.info.get(_CHAIN)
            if chain is not None:
                if chain.actions_left <= 0:
                    result.update(ok=False, error=f"Not run: the chain of rules started by "
                                                  f"{chain.origin} spent its action budget.")
                    results.append(result)
                    continue
                chain.actions_left -= 1
            try:
                if entry is None:
                    raise LookupError(f"Action {key!r} is not available.")
                with unit_of_work():  # a savepoint: a failure undoes this action alone
                    entry.decl.run(ticket, event, dict(params), context)
            except Skipped as exc:
                result["skipped"] = str(exc)
            except Exception as exc:
                result.update(ok=False, error=_message(exc))
                log.warning("Rule %r, action %d (%s) failed on %s: %s", rule.name, index, key,
                            ticket.number, result["error"])
            results.append(result)
    finally:
        stack.pop()
    failed = sum(1 for r in results if not r["ok"])
    outcome = "ok" if not failed else ("failed" if failed == len(results) else "partial")
    error = "; ".join(f"action {r['index']} ({r['action']}): {r['error']}"
                      for r in results if not r["ok"])
    return _log_run(rule, ticket, event, True, outcome, error, results, depth)


def _message(exc: BaseException) -> str:
    if isinstance(exc, HookdeskError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"[:2000]


def _log_run(rule: CompiledRule, ticket: Any, event: Any, matched: bool, outcome: str,
             error: str, results: list[dict[str, Any]], depth: int) -> Run:
    row = Run(rule_id=rule.id or None, rule_name=rule.name, ticket_id=ticket.id,
              event_id=getattr(event, "id", None), event_kind=getattr(event, "kind", ""),
              matched=matched, outcome=outcome, error=error[:10000], results=results,
              depth=depth, at=utcnow())
    db.session.add(row)
    return row


# -- dry run -------------------------------------------------------------------------------


def _describe_action(key: str, params: Mapping[str, Any]) -> Msg:
    entry = runtime.host().registry.trigger_actions.get(key)
    label = str(entry.decl.label) if entry else Msg(N_("{key} (not available)"), key=key)
    shown = ", ".join(f"{k}={v!r}" for k, v in sorted(params.items()))
    if shown:
        return Msg(N_("{label}: {params}"), label=label, params=shown)
    return Msg(N_("{label}"), label=label)


def test_rule(rule: Rule | Mapping[str, Any], ticket: Any, event: Any = None) -> dict[str, Any]:
    """Would ``rule`` fire for ``ticket``? Evaluates the conditions against
    ``event`` (default: the ticket's latest event of a kind the rule listens to,
    else a stand-in event of its first kind) and explains each one. A recorded
    event is judged as the engine saw it (``as_of``): the ticket right after
    that change, at that moment, not the ticket as it is now; a change the rule
    made itself never fires it. Writes nothing: everything runs in a savepoint
    that is rolled back."""
    compiled = compile_rule(rule)
    active = rule.get("active", True) if isinstance(rule, Mapping) else rule.active
    kinds = [s.kind for s in compiled.specs]
    session = db.session()
    nested = session.begin_nested()
    try:
        with session.no_autoflush:
            if event is None:
                event = _latest_event(ticket, compiled)
            if event is None:
                kind = kinds[0] if kinds else "created"
                event = SimpleNamespace(id=None, kind=kind, data={}, via=None, actor=None,
                                        actor_id=None, ticket_id=ticket.id, at=utcnow())
            because: list[str] = []
            if not active:
                because.append(c.line(0, False, Msg(N_("the rule is not active"))))
            listens = any(spec.accepts(event) for spec in compiled.specs)
            kind_text = (Msg(N_("event {kind!r} #{id}"), kind=event.kind, id=event.id) if event.id
                         else Msg(N_("event {kind!r} (a stand-in: no such event yet)"),
                                  kind=event.kind))
            because.append(c.line(0, listens, Msg(N_("the rule listens to {event}"),
                                                  event=kind_text)))
            own = bool(event.via) and event.via == compiled.via
            if own:  # the engine never fires a rule on its own change
                because.append(c.line(0, False, Msg(N_("the rule made this change itself"))))
            if compiled.problem:
                because.append(c.line(0, False, compiled.problem))
            # Judged as the engine saw it: the ticket right after the event, at its moment.
            seen, seen_event = as_of.as_event_saw_it(ticket, event)
            moment = getattr(event, "at", None) if event.id else None
            try:
                holds, lines = compiled.condition.explain(
                    c.Facts(seen, seen_event, moment or utcnow()))
            except Exception as exc:  # a plugin condition failed
                holds, lines = False, [c.line(0, False, Msg(N_("a condition failed: {problem}"),
                                                            problem=_message(exc)))]
            because.extend(lines)
    finally:
        nested.rollback()
    would = bool(active) and listens and not own and holds and not compiled.problem
    return {
        "would_fire": would,
        "because": because,
        "event": {"id": event.id, "kind": event.kind},
        "actions": [_describe_action(k, p) for k, p in compiled.actions],
    }


def _latest_event(ticket: Any, rule: CompiledRule):
    """The ticket's newest event the rule listens to (not one the rule made itself)."""
    from kernel.models import TicketEvent

    kinds = [s.kind for s in rule.specs]
    if not kinds:
        return None
    recent = db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                  TicketEvent.kind.in_(kinds))
        .order_by(TicketEvent.id.desc()).limit(50)).all()
    for event in recent:
        if event.via != rule.via and any(spec.accepts(event) for spec in rule.specs):
            return event
    return recent[0] if recent else None
