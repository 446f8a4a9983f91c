"""The REST API through the Flask test client: auth, permission boundaries,
errors, concurrency, files."""

import io

import pytest

from kernel.db import db
from kernel.models import Role
from kernel.services import tokens, users


def bearer(user, name="test"):
    _row, secret = tokens.create(user, name)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def agent_h(agent):
    return bearer(agent)


@pytest.fixture
def customer_h(customer_user):
    return bearer(customer_user)


@pytest.fixture
def other_customer():
    return users.create({"email": "other@test.example", "password": "other-pass-1",
                         "kind": "customer", "name": "Other"})


def create(client, headers, **values):
    values.setdefault("subject", "From the API")
    return client.post("/api/v1/tickets", headers=headers, json={"values": values})


def test_openapi_document_lists_core_resources(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    for path in ("/api/v1/tickets", "/api/v1/tickets/{ref}", "/api/v1/tickets/{ref}/transitions",
                 "/api/v1/tickets/{ref}/messages", "/api/v1/customers", "/api/v1/fields",
                 "/api/v1/pipelines", "/api/v1/ticket-types", "/api/v1/users"):
        assert path in doc["paths"], path
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert client.get("/api/v1/docs").status_code == 200
    assert client.get("/api/v1/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_no_token_is_401_with_problem_shape(client):
    response = client.get("/api/v1/tickets")
    assert response.status_code == 401
    assert response.content_type == "application/json"
    assert response.json["status"] == 401 and response.json["title"]
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_revoked_token_stops_working(client, agent):
    row, secret = tokens.create(agent, "ci")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).json["email"] == agent.email
    tokens.revoke(row.id, agent)
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    forged = {"Authorization": f"Bearer hd_{row.prefix}_not-the-secret"}
    assert client.get("/api/v1/me", headers=forged).status_code == 401


def test_create_get_update_transition_assign(client, agent_h, agent, admin):
    response = create(client, agent_h, queue="billing", contract_number="C-1")
    assert response.status_code == 201, response.json
    ticket = response.json
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"].endswith(ticket["number"])
    assert ticket["values"] == {"contract_number": "C-1"}
    assert "in_progress" in ticket["allowed_statuses"]
    by_number = client.get(f"/api/v1/tickets/{ticket['number']}", headers=agent_h)
    assert by_number.json["id"] == ticket["id"]
    patched = client.patch(f"/api/v1/tickets/{ticket['id']}",
                           headers={**agent_h, "If-Match": '"1"'},
                           json={"values": {"urgent": True}})
    assert patched.status_code == 200 and patched.json["urgent"] is True
    assert patched.headers["ETag"] == '"2"'
    moved = client.post(f"/api/v1/tickets/{ticket['id']}/transitions", headers=agent_h,
                        json={"status": "in_progress"})
    assert moved.json["status"]["key"] == "in_progress"
    assigned = client.post(f"/api/v1/tickets/{ticket['id']}/assign", headers=agent_h,
                           json={"assignee_id": admin.id})
    assert assigned.json["assignee_id"] == admin.id
    kinds = [e["kind"] for e in client.get(f"/api/v1/tickets/{ticket['id']}/history",
                                           headers=agent_h).json]
    assert kinds == ["created", "fields_changed", "status_changed", "assigned"]


def test_stale_if_match_is_refused(client, agent_h):
    ticket = create(client, agent_h).json
    first = client.patch(f"/api/v1/tickets/{ticket['id']}", headers={**agent_h, "If-Match": '"1"'},
                         json={"values": {"queue": "billing"}})
    assert first.status_code == 200
    second = client.patch(f"/api/v1/tickets/{ticket['id']}", headers={**agent_h, "If-Match": '"1"'},
                          json={"values": {"queue": "technical"}})
    assert second.status_code == 412
    stale_body = client.patch(f"/api/v1/tickets/{ticket['id']}", headers=agent_h,
                              json={"values": {"queue": "technical"}, "version": 1})
    assert stale_body.status_code == 409
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=agent_h).json["queue"] == "billing"


def test_a_message_conflicts_only_with_a_stale_if_match(client, agent_h):
    ticket = create(client, agent_h).json
    url = f"/api/v1/tickets/{ticket['id']}/messages"
    assert client.post(url, headers=agent_h, json={"body": "one"}).status_code == 201
    # A message is no edit of the ticket: its ETag stays, so If-Match still holds.
    assert client.post(url, headers={**agent_h, "If-Match": '"1"'},
                       json={"body": "two"}).status_code == 201
    client.patch(f"/api/v1/tickets/{ticket['id']}", headers=agent_h,
                 json={"values": {"queue": "billing"}})
    stale = client.post(url, headers={**agent_h, "If-Match": '"1"'}, json={"body": "three"})
    assert stale.status_code == 412
    bodies = [m["body"] for m in client.get(url, headers=agent_h).json]
    assert bodies == ["one", "two"]


def test_validation_errors_name_fields(client, agent_h):
    response = create(client, agent_h, queue="nope", bogus=1, deadline="yesterday")
    assert response.status_code == 422
    errors = response.json["errors"]
    assert set(errors) == {"values.queue", "values.bogus", "values.deadline"}
    missing = client.post("/api/v1/tickets", headers=agent_h, json={"values": {}})
    assert missing.json["errors"] == {"values.subject": ["This field is required."]}
    bad_type = client.post("/api/v1/tickets", headers=agent_h,
                           json={"type": "nope", "values": {"subject": "x"}})
    assert bad_type.status_code == 422 and "type" in bad_type.json["errors"]
    malformed = client.post("/api/v1/tickets", headers={**agent_h,
                            "Content-Type": "application/json"}, data="{not json")
    assert malformed.status_code in (400, 422)
    assert client.get("/api/v1/tickets?per_page=1000", headers=agent_h).status_code == 422


def test_forbidden_transition_is_409(client, agent_h):
    ticket = create(client, agent_h).json
    response = client.post(f"/api/v1/tickets/{ticket['id']}/transitions", headers=agent_h,
                           json={"status": "waiting"})
    assert response.status_code == 409
    assert "allowed next" in response.json["detail"]


def test_customer_sees_only_own_tickets(client, customer_h, other_customer, customer_user):
    mine = create(client, customer_h).json
    theirs_h = bearer(other_customer)
    theirs = create(client, theirs_h).json
    listed = client.get("/api/v1/tickets", headers=customer_h).json
    assert [t["id"] for t in listed["items"]] == [mine["id"]]
    base = f"/api/v1/tickets/{theirs['id']}"
    for path in (base, f"/api/v1/tickets/{theirs['number']}", f"{base}/messages",
                 f"{base}/history", f"{base}/attachments", f"{base}/links"):
        assert client.get(path, headers=customer_h).status_code == 404, path
    reply = client.post(f"/api/v1/tickets/{theirs['id']}/messages", headers=customer_h,
                        json={"body": "hi"})
    assert reply.status_code == 404
    assert client.get("/api/v1/customers", headers=customer_h).status_code == 403
    assert client.get(f"/api/v1/customers/{other_customer.customer_id}",
                      headers=customer_h).status_code == 404


def test_customer_cannot_see_internal_notes_or_agent_fields(client, agent_h, customer_h, agent,
                                                            customer_user):
    ticket = create(client, customer_h).json
    client.patch(f"/api/v1/tickets/{ticket['id']}", headers=agent_h,
                 json={"values": {"comment": "VIP, handle with care"}})
    client.post(f"/api/v1/tickets/{ticket['id']}/messages", headers=agent_h,
                json={"body": "secret note", "internal": True})
    client.post(f"/api/v1/tickets/{ticket['id']}/messages", headers=agent_h,
                json={"body": "public reply"})
    as_customer = client.get(f"/api/v1/tickets/{ticket['id']}", headers=customer_h).json
    assert "comment" not in as_customer["values"]
    thread = client.get(f"/api/v1/tickets/{ticket['id']}/messages", headers=customer_h).json
    assert [m["body"] for m in thread] == ["public reply"]
    note = client.post(f"/api/v1/tickets/{ticket['id']}/messages", headers=customer_h,
                       json={"body": "x", "internal": True})
    assert note.status_code == 422


def test_agent_without_can_see_customers(client, app):
    role = Role(key="limited", name="Limited", permissions=["tickets.view", "tickets.create"])
    db.session.add(role)
    db.session.commit()
    limited = users.create({"email": "limited@test.example", "password": "limited-pass",
                            "roles": ["limited"]})
    headers = bearer(limited)
    assert client.get("/api/v1/customers", headers=headers).status_code == 403
    assert client.get("/api/v1/customers?phone=+79123456789", headers=headers).status_code == 403
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200


def test_customers_lookup_by_phone(client, agent_h):
    made = client.post("/api/v1/customers", headers=agent_h,
                       json={"name": "Иван", "phones": ["8 (912) 000-11-22", "+7 495 123-45-67"]})
    assert made.status_code == 201
    assert made.json["phones"][0]["number"] == "+79120001122"
    found = client.get("/api/v1/customers", headers=agent_h,
                       query_string={"phone": "+7 912 000 11 22"}).json
    assert [c["id"] for c in found["items"]] == [made.json["id"]]
    bad = client.post("/api/v1/customers", headers=agent_h, json={"name": "X", "phones": ["12"]})
    assert bad.status_code == 422 and "phones.0" in bad.json["errors"]


@pytest.mark.app_config(HOOKDESK_MAX_ATTACHMENT_BYTES=1024)
def test_upload_download_and_limits(client, agent_h, customer_h, other_customer):
    ticket = create(client, customer_h).json
    uploaded = client.post(f"/api/v1/tickets/{ticket['id']}/attachments", headers=customer_h,
                           data={"file": (io.BytesIO(b"hello"), "note.txt")},
                           content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.json
    url = uploaded.json["url"]
    got = client.get(url, headers=customer_h)
    assert got.data == b"hello"
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(url, headers=bearer(other_customer)).status_code == 404
    big = client.post(f"/api/v1/tickets/{ticket['id']}/attachments", headers=customer_h,
                      data={"file": (io.BytesIO(b"x" * 2048), "big.bin")},
                      content_type="multipart/form-data")
    assert big.status_code == 413
    assert "file" in big.json["errors"]


def test_meta_endpoints(client, agent_h, customer_h):
    types = client.get("/api/v1/ticket-types", headers=agent_h).json
    assert [t["key"] for t in types][0] == "request" and types[0]["is_default"]
    assert all(not t["is_default"] for t in types[1:])
    pipelines = client.get("/api/v1/pipelines", headers=agent_h).json
    support = next(p for p in pipelines if p["key"] == "support")
    assert {"from": "new", "to": "in_progress"} in support["transitions"]
    fields = {f["key"]: f for f in client.get("/api/v1/fields?type=request", headers=agent_h).json}
    assert [c["value"] for c in fields["queue"]["choices"]] == ["general", "technical", "billing"]
    customer_fields = client.get("/api/v1/fields?type=request", headers=customer_h).json
    assert "comment" not in {f["key"] for f in customer_fields}
    assert client.get("/api/v1/users", headers=customer_h).status_code == 403
    assert client.get("/api/v1/users", headers=agent_h).status_code == 200


def test_tokens_endpoint(client, agent_h):
    made = client.post("/api/v1/tokens", headers=agent_h, json={"name": "crm"})
    assert made.status_code == 201 and made.json["token"].startswith("hd_")
    new_h = {"Authorization": f"Bearer {made.json['token']}"}
    assert client.get("/api/v1/me", headers=new_h).status_code == 200
    assert client.delete(f"/api/v1/tokens/{made.json['id']}", headers=agent_h).status_code == 200
    assert client.get("/api/v1/me", headers=new_h).status_code == 401
