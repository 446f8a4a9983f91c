"""Conditions: every operator, on real tickets and on bare values; all/any/not
groups; customer attributes; event changes; plugin conditions; a property test."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.db import utcnow
from kernel.services import history, tickets
from plugins.triggers import conditions as c
from plugins.triggers import engine

pytestmark = pytest.mark.plugins("helpdesk", "triggers")

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


# -- operators on bare values ----------------------------------------------------------


@pytest.mark.parametrize("op,actual,expected,result", [
    ("is", "plumbing", "plumbing", True),
    ("is", "Plumbing ", "plumbing", True),  # text ignores case and surrounding spaces
    ("is", "plumbing", "windows", False),
    ("is", 5, "5", True),
    ("is", True, "yes", True),
    ("is", False, True, False),
    ("is", None, None, True),
    ("is", ["vip", "new"], ["new", "vip"], True),  # lists compare as sets
    ("is", ["vip", "new"], "vip", True),  # a list "is" a value it holds
    ("is", ["vip"], ["vip", "new"], False),
    ("is_not", "a", "b", True),
    ("is_not", "a", "A", False),
    ("in", "billing", ["general", "billing"], True),
    ("in", "other", ["general", "billing"], False),
    ("in", None, ["general"], False),
    ("in", ["vip", "loud"], ["loud"], True),
    ("not_in", "other", ["general", "billing"], True),
    ("not_in", "general", ["general", "billing"], False),
    ("not_in", None, ["general"], True),
    ("contains", "Water leaks in the kitchen", "LEAK", True),
    ("contains", "Water", "fire", False),
    ("contains", ["vip", "new"], "vip", True),
    ("contains", ["vip", "new"], ["vip", "loud"], False),
    ("contains", None, "x", False),
    ("not_contains", "Water", "fire", True),
    ("not_contains", "fire alarm", "fire", False),
    ("empty", None, None, True),
    ("empty", "  ", None, True),
    ("empty", [], None, True),
    ("empty", False, None, False),
    ("empty", 0, None, False),
    ("not_empty", "x", None, True),
    ("not_empty", None, None, False),
    ("before", NOW - timedelta(days=5), "-3d", True),
    ("before", NOW - timedelta(days=1), "-3d", False),
    ("before", "2026-05-01", "2026-05-02", True),
    ("before", date(2026, 5, 3), {"days_ago": 30}, False),
    ("before", None, "now", False),
    ("after", NOW + timedelta(hours=3), "+2h", True),
    ("after", NOW - timedelta(minutes=10), "-30m", True),
    ("after", "2026-05-31T23:00:00+00:00", {"hours_ago": 12}, False),
    ("after", "2026-05-31T23:00:00+00:00", {"days_ago": 1}, True),
    ("after", NOW, "now", False),
    ("after", "2027-01-01", "-1w", True),
    ("gt", 10, 5, True),
    ("gt", "10", 5, True),
    ("gt", 5, 5, False),
    ("gt", None, 5, False),
    ("lt", 3, 5, True),
    ("lt", "abc", 5, False),
])
def test_operator_on_values(op, actual, expected, result):
    assert c.test(op, actual, expected, now=NOW) is result


@pytest.mark.parametrize("op,expected,result", [
    ("changed", None, True),
    ("changed_from", "general", True),
    ("changed_from", "billing", False),
    ("changed_to", "billing", True),
    ("changed_to", ["technical", "billing"], True),
    ("changed_to", "general", False),
])
def test_change_operators_read_the_event(op, expected, result):
    changes = {"queue": ["general", "billing"]}
    assert c.test(op, None, expected, changes=changes, subject="queue") is result
    assert c.test(op, None, expected, changes=changes, subject="priority") is False


def test_relative_moments():
    assert c.resolve_when("now", NOW) == NOW
    assert c.resolve_when("-3d", NOW) == NOW - timedelta(days=3)
    assert c.resolve_when("+2h", NOW) == NOW + timedelta(hours=2)
    assert c.resolve_when("-1w", NOW) == NOW - timedelta(weeks=1)
    assert c.resolve_when({"days_ago": 2}, NOW) == NOW - timedelta(days=2)
    assert c.resolve_when({"hours_from_now": 1}, NOW) == NOW + timedelta(hours=1)
    assert c.resolve_when("2026-01-02", NOW) == datetime(2026, 1, 2, tzinfo=UTC)
    for bad in ("tomorrow", {"weeks_ago": 1}, {"days_ago": "x"}, 5, None):
        assert c.resolve_when(bad, NOW) is None
        assert c.when_problem(bad)


# -- operators on real tickets, through the dry run ----------------------------------------


def _holds(ticket, tree, event=None, kind="created"):
    rule = {"name": "probe", "events": [kind], "conditions": tree, "actions": []}
    return engine.test_rule(rule, ticket, event)["would_fire"]


@pytest.fixture
def filled(app, agent, customer):
    return tickets.create({
        "subject": "Water leak in the kitchen", "queue": "technical", "priority": "high",
        "probe_category": "plumbing", "probe_score": 7, "probe_due": "2026-05-20",
        "probe_tags": ["vip", "new"], "probe_flag": True, "customer": customer.id,
        "deadline": (utcnow() - timedelta(days=2)).isoformat(),
    }, actor=agent)


@pytest.mark.parametrize("leaf,result", [
    ({"field": "probe_category", "op": "is", "value": "plumbing"}, True),
    ({"field": "probe_category", "op": "is_not", "value": "plumbing"}, False),
    ({"field": "queue", "op": "in", "value": ["technical", "billing"]}, True),
    ({"field": "queue", "op": "not_in", "value": ["technical", "billing"]}, False),
    ({"field": "subject", "op": "contains", "value": "leak"}, True),
    ({"field": "subject", "op": "not_contains", "value": "leak"}, False),
    ({"field": "location", "op": "empty"}, True),
    ({"field": "location", "op": "not_empty"}, False),
    ({"field": "deadline", "op": "before", "value": "now"}, True),
    ({"field": "deadline", "op": "after", "value": {"days_ago": 1}}, False),
    ({"field": "probe_due", "op": "before", "value": "2026-06-01"}, True),
    ({"field": "probe_due", "op": "after", "value": "2026-06-01"}, False),
    ({"field": "created_at", "op": "after", "value": "-1h"}, True),
    ({"field": "probe_score", "op": "gt", "value": 5}, True),
    ({"field": "probe_score", "op": "lt", "value": 5}, False),
    ({"field": "probe_tags", "op": "contains", "value": "vip"}, True),
    ({"field": "probe_tags", "op": "in", "value": ["loud"]}, False),
    ({"field": "probe_flag", "op": "is", "value": True}, True),
    ({"field": "urgent", "op": "is", "value": True}, False),
    ({"field": "type", "op": "is", "value": "request"}, True),
    ({"field": "status", "op": "is", "value": "new"}, True),
    ({"field": "status_group", "op": "is", "value": "open"}, True),
    ({"field": "customer.name", "op": "contains", "value": "petrov"}, True),
    ({"field": "customer.contract_number", "op": "is", "value": "D-2024/17"}, True),
    ({"field": "customer.phone", "op": "is", "value": "8 (912) 345-67-89"}, True),
    ({"field": "customer.phone", "op": "contains", "value": "4567"}, True),
    ({"field": "customer.email", "op": "is", "value": "IVAN@example.ru"}, True),
    ({"field": "actor.kind", "op": "is", "value": "agent"}, True),
    ({"field": "via", "op": "empty"}, True),
    ({"field": "assignee.roles", "op": "contains", "value": "agent"}, True),
    # The creation changed every field it set (from nothing).
    ({"field": "probe_category", "op": "changed"}, True),
    ({"field": "probe_category", "op": "changed_to", "value": "plumbing"}, True),
    ({"field": "location", "op": "changed"}, False),
])
def test_operator_on_a_ticket(filled, leaf, result):
    assert _holds(filled, {"all": [leaf]}) is result


def test_changed_from_to_on_field_and_status_events(app, agent):
    ticket = tickets.create({"subject": "X", "queue": "general"}, actor=agent)
    tickets.update(ticket, {"queue": "billing"}, actor=agent)
    fields_event = history.for_ticket(ticket)[-1]
    assert fields_event.kind == "fields_changed"

    def holds(leaf, event):
        return _holds(ticket, leaf, event, kind=event.kind)

    assert holds({"field": "queue", "op": "changed"}, fields_event)
    assert holds({"field": "queue", "op": "changed_from", "value": "general"}, fields_event)
    assert holds({"field": "queue", "op": "changed_to", "value": "billing"}, fields_event)
    assert not holds({"field": "queue", "op": "changed_to", "value": "general"}, fields_event)
    assert not holds({"field": "subject", "op": "changed"}, fields_event)

    tickets.transition(ticket, "rejected", actor=agent)
    status_event = history.for_ticket(ticket)[-1]
    assert holds({"field": "status", "op": "changed_from", "value": "new"}, status_event)
    assert holds({"field": "status", "op": "changed_to", "value": "rejected"}, status_event)
    assert holds({"field": "status_group", "op": "changed_to", "value": "closed_failure"},
                 status_event)
    assert holds({"field": "status_group", "op": "changed_from", "value": "open"}, status_event)
    assert not holds({"field": "queue", "op": "changed"}, status_event)

    tickets.assign(ticket, agent.id, actor=None)
    # the agent created it, so it was theirs already: unassign, then assign again
    tickets.assign(ticket, None, actor=None)
    tickets.assign(ticket, agent.id, actor=None)
    assigned = history.for_ticket(ticket)[-1]
    assert assigned.kind == "assigned"
    assert holds({"field": "assignee", "op": "changed_to", "value": agent.id}, assigned)
    assert holds({"field": "assignee", "op": "changed_from", "value": None}, assigned)


def test_groups_all_any_not_nested(filled):
    yes = {"field": "queue", "op": "is", "value": "technical"}
    no = {"field": "queue", "op": "is", "value": "billing"}
    assert _holds(filled, {"all": [yes, yes]})
    assert not _holds(filled, {"all": [yes, no]})
    assert _holds(filled, {"any": [no, yes]})
    assert not _holds(filled, {"any": [no, no]})
    assert _holds(filled, {"not": no})
    assert _holds(filled, {"all": [yes, {"any": [no, {"not": no}]}]})
    assert not _holds(filled, {"any": [no, {"all": [yes, {"not": yes}]}]})
    assert _holds(filled, {})  # no conditions: always
    assert _holds(filled, {"all": []})
    assert not _holds(filled, {"any": []})


def test_message_and_plugin_event_subjects(app, agent, customer_user):
    from kernel.services import messages

    ticket = tickets.create({"subject": "Hi"}, actor=customer_user)
    messages.post(ticket, "Please call me URGENTLY", actor=customer_user)
    posted = history.for_ticket(ticket)[-1]
    leaf = {"all": [{"field": "message.body", "op": "contains", "value": "urgent"},
                    {"field": "message.author_kind", "op": "is", "value": "customer"},
                    {"field": "message.internal", "op": "is", "value": False},
                    {"field": "actor.kind", "op": "is", "value": "customer"}]}
    assert _holds(ticket, leaf, posted, kind="message_posted")
    call = tickets.record_custom_event(ticket, "probe.call", {"direction": "in", "seconds": 95})
    assert _holds(ticket, {"all": [{"field": "event.direction", "op": "is", "value": "in"},
                                   {"field": "event.seconds", "op": "gt", "value": 60}]},
                  call, kind="probe.call")


def test_plugin_condition_is_used(app, agent):
    ticket = tickets.create({"subject": "Broken window"}, actor=agent)
    assert _holds(ticket, {"condition": "probe.subject_has", "params": {"word": "window"}})
    assert not _holds(ticket, {"condition": "probe.subject_has", "params": {"word": "door"}})


def test_dry_run_explains_each_condition(filled):
    rule = {"name": "probe", "events": ["created"], "actions": [
        {"action": "triggers.set_status", "params": {"status": "in_progress"}}],
        "conditions": {"all": [{"field": "queue", "op": "is", "value": "technical"},
                               {"any": [{"field": "priority", "op": "is", "value": "low"},
                                        {"field": "urgent", "op": "is", "value": True}]}]}}
    result = engine.test_rule(rule, filled)
    assert result["would_fire"] is False
    text = "\n".join(result["because"])
    assert "[yes] queue is 'technical' — the ticket has 'technical'" in text
    assert "[no]  priority is 'low' — the ticket has 'high'" in text
    assert "[no]  any of (0 of 2 hold)" in text
    assert "[no]  all of (1 of 2 hold)" in text
    assert result["event"]["kind"] == "created"
    assert result["actions"] == ["Set status: status='in_progress'"]


# -- the property: groups are Python's all/any/not over the same predicates --------------

SUBJECT_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5),
                           st.sampled_from(["a", "b", "A", " b ", "ab", ""]),
                           st.lists(st.sampled_from(["a", "b", "c"]), max_size=3))
OPS = ["is", "is_not", "in", "not_in", "contains", "not_contains", "empty", "not_empty", "gt",
       "lt", "changed", "changed_from", "changed_to"]


@st.composite
def leaves(draw):
    op = draw(st.sampled_from(OPS))
    subject = draw(st.sampled_from(["f1", "f2", "f3"]))
    kind = c.OPERATORS[op].value
    if kind == c.NONE:
        return {"field": subject, "op": op}
    if kind == c.LIST:
        return {"field": subject, "op": op,
                "value": draw(st.lists(st.sampled_from(["a", "b", 1, True]), min_size=1,
                                       max_size=3))}
    if kind == c.NUMBER:
        return {"field": subject, "op": op, "value": draw(st.integers(-5, 5))}
    return {"field": subject, "op": op, "value": draw(SUBJECT_VALUES)}


trees = st.recursive(
    leaves(),
    lambda children: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(children, max_size=4)),
        st.builds(lambda xs: {"any": xs}, st.lists(children, max_size=4)),
        st.builds(lambda x: {"not": x}, children)),
    max_leaves=12)


class BareFacts(c.Facts):
    def __init__(self, values, changes):
        super().__init__(None, SimpleNamespace(kind="fields_changed", data={}, via=None), NOW)
        self.values, self._changes = values, changes

    def value(self, subject):
        return self.values.get(subject)


def reference(tree, facts) -> bool:
    """The meaning of a tree, written the plain way: Python's all/any/not."""
    if "all" in tree:
        return all(reference(child, facts) for child in tree["all"])
    if "any" in tree:
        return any(reference(child, facts) for child in tree["any"])
    if "not" in tree:
        return not reference(tree["not"], facts)
    return c.test(tree["op"], facts.value(tree["field"]), tree.get("value"),
                  changes=facts.changes, subject=tree["field"], now=NOW)


@settings(max_examples=300, deadline=None)
@given(tree=trees,
       values=st.fixed_dictionaries({"f1": SUBJECT_VALUES, "f2": SUBJECT_VALUES,
                                     "f3": SUBJECT_VALUES}),
       changed=st.dictionaries(st.sampled_from(["f1", "f2"]),
                               st.tuples(SUBJECT_VALUES, SUBJECT_VALUES).map(list)))
def test_compiled_tree_equals_python_all_any_not(tree, values, changed):
    facts = BareFacts(values, changed)
    node = c.compile_tree(tree, costs={"f1": 1, "f2": 5, "f3": 2})  # reordered by cost
    assert node.evaluate(facts) == reference(tree, facts)
    explained, _lines = node.explain(facts)
    assert explained == reference(tree, facts)


@settings(max_examples=200, deadline=None)
@given(leaf_list=st.lists(leaves(), max_size=6),
       values=st.fixed_dictionaries({"f1": SUBJECT_VALUES, "f2": SUBJECT_VALUES,
                                     "f3": SUBJECT_VALUES}))
def test_all_of_a_list_is_python_all(leaf_list, values):
    facts = BareFacts(values, {})
    predicates = [c.compile_tree(leaf) for leaf in leaf_list]
    assert c.compile_tree({"all": leaf_list}).evaluate(facts) == all(
        p.evaluate(facts) for p in predicates)
    assert c.compile_tree({"any": leaf_list}).evaluate(facts) == any(
        p.evaluate(facts) for p in predicates)
