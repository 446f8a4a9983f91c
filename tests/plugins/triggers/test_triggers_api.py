"""``/api/v1/triggers`` and ``hookdesk triggers``: CRUD with validation that names
the bad part, the catalogue, the dry run and the run log."""

import pytest

from kernel.services import tickets, tokens
from plugins.triggers import service

pytestmark = pytest.mark.plugins("helpdesk", "triggers")

API = "/api/v1/triggers"

GOOD = {
    "name": "Plumbing to the team",
    "events": ["created", {"kind": "fields_changed", "fields": ["probe_category"]}],
    "conditions": {"all": [{"field": "probe_category", "op": "is", "value": "plumbing"}]},
    "actions": [{"action": "triggers.assign_round_robin", "params": {"role": "agent"}},
                {"action": "triggers.email",
                 "params": {"to": "address", "address": "site.manager@example.ru",
                            "subject": "Plumbing: {{ticket.number}}", "body": "See it."}}],
}


@pytest.fixture
def headers(admin):
    _row, secret = tokens.create(admin, "t")
    return {"Authorization": f"Bearer {secret}"}


def test_crud(client, headers, agent):
    made = client.post(f"{API}/rules", headers=headers, json=GOOD)
    assert made.status_code == 201, made.json
    rule = made.json
    assert rule["events"] == [{"kind": "created"},
                              {"kind": "fields_changed", "fields": ["probe_category"]}]
    assert rule["active"] is True and rule["problems"] == {} and rule["position"] == 100
    listed = client.get(f"{API}/rules", headers=headers).json
    assert [r["name"] for r in listed] == ["Plumbing to the team"]
    patched = client.patch(f"{API}/rules/{rule['id']}", headers=headers,
                           json={"active": False, "position": 5})
    assert patched.status_code == 200 and patched.json["active"] is False
    assert client.get(f"{API}/rules/{rule['id']}", headers=headers).json["position"] == 5
    assert client.delete(f"{API}/rules/{rule['id']}", headers=headers).status_code == 204
    assert client.get(f"{API}/rules/{rule['id']}", headers=headers).status_code == 404


def _errors(client, headers, body, method="post", url=f"{API}/rules"):
    response = getattr(client, method)(url, headers=headers, json=body)
    assert response.status_code == 422, response.json
    return response.json["errors"]


@pytest.mark.parametrize("change,path,words", [
    ({"events": ["created", "nope"]}, "events.1.kind", "Unknown event kind 'nope'"),
    ({"events": []}, "events", "at least one event"),
    ({"events": [{"kind": "fields_changed", "fields": ["bogus"]}]}, "events.0.fields.0",
     "Unknown field"),
    ({"events": [{"kind": "triggers.time_in_status"}]}, "events.0.hours", "required"),
    ({"events": [{"kind": "triggers.time_in_status", "hours": 2, "statuses": ["zzz"]}]},
     "events.0.statuses.0", "Unknown status"),
    ({"events": [{"kind": "created", "colour": "red"}]}, "events.0.colour",
     "Unknown parameter"),
    ({"conditions": {"all": [{"field": "queue", "op": "is", "value": "general"},
                             {"field": "queue", "op": "equals", "value": "x"}]}},
     "conditions.all.1.op", "Unknown operator 'equals'"),
    ({"conditions": {"all": [{"field": "nonsense", "op": "is", "value": 1}]}},
     "conditions.all.0.field", "Unknown field 'nonsense'"),
    ({"conditions": {"any": [{"condition": "probe.nothing"}]}}, "conditions.any.0.condition",
     "Unknown condition 'probe.nothing'"),
    ({"conditions": {"all": [{"condition": "probe.subject_has", "params": {}}]}},
     "conditions.all.0.params.word", "required"),
    ({"conditions": {"all": [{"condition": "triggers.customer_ticket_count",
                              "params": {"min_count": 2, "days": "thirty"}}]}},
     "conditions.all.0.params.days", "Expected a number"),
    ({"conditions": {"all": [{"condition": "triggers.customer_recent_failure",
                              "params": {"type": "ghost", "days": 3}}]}},
     "conditions.all.0.params.type", "Unknown ticket type 'ghost'"),
    ({"conditions": {"all": [{"field": "probe_category", "op": "is", "value": "Plumbing!"}]}},
     "conditions.all.0.value", "not a choice of 'probe_category'"),
    ({"conditions": {"all": [{"field": "status", "op": "in", "value": "new"}]}},
     "conditions.all.0.value", "non-empty list"),
    ({"conditions": {"all": [{"field": "deadline", "op": "before", "value": "soonish"}]}},
     "conditions.all.0.value", "relative time"),
    ({"conditions": {"all": [{"field": "queue", "op": "empty", "value": "x"}]}},
     "conditions.all.0.value", "takes no value"),
    ({"conditions": {"all": [{"field": "queue", "op": "is"}]}}, "conditions.all.0.value",
     "needs a value"),
    ({"conditions": {"all": [{"field": "probe_score", "op": "gt", "value": "big"}]}},
     "conditions.all.0.value", "needs a number"),
    ({"conditions": {"all": [{"field": "queue", "op": "is", "value": "general", "x": 1}]}},
     "conditions.all.0.x", "Unknown key"),
    ({"conditions": {"all": [{"all": []}, {"both": []}]}}, "conditions.all.1",
     "exactly one of"),
    ({"actions": [{"action": "triggers.teleport"}]}, "actions.0.action",
     "Unknown action 'triggers.teleport'"),
    ({"actions": [{"action": "triggers.set_status", "params": {"status": "flying"}}]},
     "actions.0.params.status", "Unknown status 'flying'"),
    ({"actions": [{"action": "triggers.set_status", "params": {}}]}, "actions.0.params.status",
     "required"),
    ({"actions": [{"action": "triggers.set_fields", "params": {"values": {"bogus": 1}}}]},
     "actions.0.params.values.bogus", "Unknown field"),
    ({"actions": [{"action": "triggers.email", "params": {"to": "everyone", "subject": "s",
                                                          "body": "b"}}]},
     "actions.0.params.to", "not one of"),
    ({"actions": [{"action": "triggers.email", "params": {"to": "agents", "agents": [999],
                                                          "subject": "s", "body": "b"}}]},
     "actions.0.params.agents.0", "No active agent 999"),
    ({"actions": [{"action": "triggers.webhook", "params": {"url": "ftp://x"}}]},
     "actions.0.params.url", "http:// or https://"),
    ({"actions": [{"action": "triggers.assign_round_robin", "params": {"role": "plumbers"}}]},
     "actions.0.params.role", "Unknown role 'plumbers'"),
    ({"actions": [{"action": "triggers.sms", "params": {"to": "phone", "phone": "12",
                                                        "text": "hi"}}]},
     "actions.0.params.phone", "phone number"),
    ({"actions": [{"action": "triggers.create_linked_ticket",
                   "params": {"type": "request", "link_kind": "sibling"}}]},
     "actions.0.params.link_kind", "not one of"),
    ({"actions": []}, "actions", "at least one action"),
])
def test_validation_names_the_bad_part(client, headers, change, path, words):
    errors = _errors(client, headers, {**GOOD, **change})
    assert path in errors, errors
    assert any(words in message for message in errors[path]), errors[path]


def test_duplicate_name_and_bad_patch(client, headers):
    first = client.post(f"{API}/rules", headers=headers, json=GOOD).json
    errors = _errors(client, headers, GOOD)
    assert "already" in errors["name"][0]
    errors = _errors(client, headers, {"conditions": {"all": [{"field": "queue", "op": "?"}]}},
                     "patch", f"{API}/rules/{first['id']}")
    assert "conditions.all.0.op" in errors
    assert service.get(first["id"]).conditions == GOOD["conditions"]  # unchanged


def test_catalogue(client, headers):
    catalogue = client.get(f"{API}/catalogue", headers=headers).json
    events = {e["key"]: e for e in catalogue["events"]}
    assert {"created", "fields_changed", "status_changed", "message_posted", "assigned",
            "attachment_added", "linked", "probe.call", "triggers.deadline_passed",
            "triggers.time_in_status"} <= set(events)
    assert [o["key"] for o in events["triggers.time_in_status"]["options"]] == ["hours",
                                                                                  "statuses"]
    fields = {f["key"]: f for f in catalogue["fields"]}
    assert fields["probe_category"]["choices"] == ["plumbing", "electrics", "windows"]
    assert fields["status_group"]["choices"] == ["open", "closed_success", "closed_failure"]
    assert {"customer.name", "customer.phone", "customer.contract_number", "type", "status",
            "queue", "subject", "deadline"} <= set(fields)
    assert {o["key"] for o in catalogue["operators"]} >= {
        "is", "is_not", "in", "not_in", "contains", "empty", "not_empty", "before", "after",
        "changed", "changed_from", "changed_to"}
    conditions = {c["key"]: c for c in catalogue["conditions"]}
    assert conditions["probe.subject_has"]["plugin"] == "probe"
    assert conditions["triggers.customer_ticket_count"]["plugin"] == "triggers"
    assert [p["key"] for p in conditions["triggers.customer_ticket_count"]["params"]] == [
        "type", "min_count", "days", "include_current"]
    actions = {a["key"]: a for a in catalogue["actions"]}
    assert actions["triggers.email"]["side_effect"] is True
    assert actions["probe.tag"]["plugin"] == "probe"
    to = next(p for p in actions["triggers.email"]["params"] if p["key"] == "to")
    assert to["required"] and [c["value"] for c in to["choices"]] == [
        "customer", "assignee", "agents", "address"]


def test_dry_run_and_run_log(client, headers, agent):
    rule = client.post(f"{API}/rules", headers=headers, json={
        **GOOD, "actions": [{"action": "probe.tag", "params": {"text": "api"}}]}).json
    plumbing = tickets.create({"subject": "Leak", "probe_category": "plumbing"}, actor=agent)
    dry = tickets.create({"subject": "Dry"}, actor=agent)
    tested = client.post(f"{API}/rules/{rule['id']}/test", headers=headers,
                         json={"ticket": dry.number})
    assert tested.status_code == 200
    assert tested.json["would_fire"] is False
    assert any("probe_category is 'plumbing'" in line for line in tested.json["because"])
    unsaved = client.post(f"{API}/test", headers=headers, json={
        "ticket": str(plumbing.id), "rule": {"events": ["created"], "actions": GOOD["actions"],
                                             "conditions": GOOD["conditions"]}})
    assert unsaved.status_code == 200 and unsaved.json["would_fire"] is True
    bad = client.post(f"{API}/test", headers=headers, json={
        "ticket": "NOPE-1", "rule": {"events": ["created"], "actions": GOOD["actions"]}})
    assert bad.status_code == 422 and "ticket" in bad.json["errors"]
    bad = client.post(f"{API}/test", headers=headers, json={
        "ticket": dry.number, "rule": {"events": ["bogus"], "actions": GOOD["actions"]}})
    assert bad.status_code == 422 and "events.0.kind" in bad.json["errors"]
    runs = client.get(f"{API}/runs", headers=headers, query_string={"rule_id": rule["id"]}).json
    assert [(r["ticket_id"], r["outcome"], r["event_kind"]) for r in runs] == [
        (plumbing.id, "ok", "created")]
    assert client.get(f"{API}/runs", headers=headers,
                      query_string={"ticket": dry.number}).json == []
    assert client.get(f"{API}/runs", headers=headers,
                      query_string={"ticket": "nope"}).status_code == 422


def test_only_admins(client, agent):
    _row, secret = tokens.create(agent, "t")
    agent_headers = {"Authorization": f"Bearer {secret}"}
    for method, url in [("get", "/rules"), ("get", "/catalogue"), ("get", "/runs")]:
        assert getattr(client, method)(API + url, headers=agent_headers).status_code == 403
    assert client.post(f"{API}/rules", headers=agent_headers, json=GOOD).status_code == 403
    assert client.get(f"{API}/rules").status_code == 401
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {f"{API}/rules", f"{API}/rules/{{rule_id}}", f"{API}/rules/{{rule_id}}/test",
            f"{API}/test", f"{API}/catalogue", f"{API}/runs"} <= set(paths)


def test_cli_list_test_and_runs(runner, agent):
    rule = service.create({**GOOD, "actions": [{"action": "probe.tag",
                                                "params": {"text": "cli"}}]})
    ticket = tickets.create({"subject": "Leak", "probe_category": "plumbing"}, actor=agent)
    listed = runner.invoke(args=["triggers", "list"])
    assert listed.exit_code == 0, listed.output
    assert f"{rule.id:>4} active" in listed.output and "Plumbing to the team" in listed.output
    assert "on=created,fields_changed" in listed.output and "runs(24h)=1" in listed.output
    tested = runner.invoke(args=["triggers", "test", "Plumbing to the team", ticket.number])
    assert tested.exit_code == 0, tested.output
    assert "Would fire: yes (event created #" in tested.output
    assert "[yes] probe_category is 'plumbing'" in tested.output
    assert "0. Tag: text='cli'" in tested.output
    missing = runner.invoke(args=["triggers", "test", "No such rule", ticket.number])
    assert missing.exit_code != 0 and "Rule not found" in missing.output
    runs = runner.invoke(args=["triggers", "runs", "--rule", str(rule.id)])
    assert runs.exit_code == 0 and f"ok          Plumbing to the team  {ticket.number}" \
        in runs.output
