"""The kernel service functions the admin screens added: validated, written in
one unit of work, refused with a clear error and nothing written."""

from __future__ import annotations

import pytest

from kernel.db import db
from kernel.errors import NotFound, PermissionDenied, ValidationFailed
from kernel.models import Role
from kernel.services import fields, settings, tickets, users, workflow


def test_update_type_validates_every_key_and_writes_nothing_on_error(app, agent):
    with pytest.raises(PermissionDenied):
        workflow.update_type("request", {"name": "X"}, actor=agent)
    with pytest.raises(ValidationFailed) as caught:
        workflow.update_type("request", {"name": " ", "initial_status": "nope",
                                         "is_active": "yes", "pipeline": "x"})
    assert set(caught.value.errors) == {"name", "initial_status", "is_active", "pipeline"}
    db.session.expire_all()
    assert workflow.ticket_type("request").name == "Request"
    assert workflow.update_type("request", {"name": "Заявка", "initial_status": "waiting"}) == {
        "name": ["Request", "Заявка"], "initial_status": ["new", "waiting"]}
    assert tickets.create({"subject": "x"}, type="request").status.key == "waiting"
    assert workflow.update_type("request", {"name": "Заявка"}) == {}
    with pytest.raises(NotFound):
        workflow.update_type("nope", {})


def test_the_default_type_cannot_be_deactivated(app):
    assert settings.get("kernel.default_ticket_type") == "request"
    with pytest.raises(ValidationFailed, match="default ticket type"):
        workflow.update_type("request", {"is_active": False})
    assert workflow.ticket_type("request").is_active


def test_update_status_and_reorder(app):
    with pytest.raises(ValidationFailed) as caught:
        workflow.update_status("support", "new", {"group": "lost", "color": "red"})
    assert set(caught.value.errors) == {"group", "color"}
    workflow.update_status("support", "new", {"name": "Новая", "color": "#ABCDEF"})
    status = workflow.pipeline("support").status("new")
    assert (status.name, status.color) == ("Новая", "#abcdef")
    with pytest.raises(ValidationFailed):
        workflow.reorder_statuses("support", ["new", "waiting"])
    # Plugins' extensions may add statuses to the pipeline: they go first here.
    order = [s.key for s in workflow.pipeline("support").statuses if s.key not in (
        "rejected", "resolved", "waiting", "in_progress", "new")]
    order += ["rejected", "resolved", "waiting", "in_progress", "new"]
    workflow.reorder_statuses("support", order)
    db.session.expire_all()
    assert [s.key for s in workflow.pipeline("support").statuses] == order
    workflow.move_status("support", "new", -1)
    db.session.expire_all()
    assert [s.key for s in workflow.pipeline("support").statuses][-2:] == ["new", "in_progress"]


def test_preview_number_takes_no_number(app):
    first = workflow.preview_number("P-{seq:03d}", "request")
    assert first == workflow.preview_number("P-{seq:03d}", "request") == "P-001"
    workflow.set_number_template("request", "P-{seq:03d}")
    assert tickets.create({"subject": "x"}, type="request").number == "P-001"
    assert workflow.preview_number("P-{seq:03d}", "request") == "P-002"
    with pytest.raises(ValidationFailed) as caught:
        workflow.preview_number("P-{year}")
    assert "number_template" in caught.value.errors


def test_choice_lists_are_created_and_reordered(app, agent):
    with pytest.raises(PermissionDenied):
        fields.create_choice_list("defects", "Defects", actor=agent)
    with pytest.raises(ValidationFailed) as caught:
        fields.create_choice_list("Bad", "")
    assert set(caught.value.errors) == {"key", "name"}
    fields.create_choice_list("defects", "Дефекты")
    for value in ("walls", "windows", "doors"):
        fields.save_choice("defects", value, value.title())
    with pytest.raises(ValidationFailed):
        fields.reorder_choices("defects", ["walls", "walls", "doors"])
    fields.move_choice("defects", "doors", -1)
    db.session.expire_all()
    assert [i.value for i in sorted(fields.choice_list("defects").items,
                                    key=lambda i: i.order)] == ["walls", "doors", "windows"]
    assert [f.key for f in fields.fields_using("queues")] == ["queue"]


def test_update_agent_and_roles(app, admin, agent):
    with pytest.raises(PermissionDenied):
        users.update_agent(admin, {"roles": []}, actor=agent)
    with pytest.raises(ValidationFailed, match="Unknown role"):
        users.update_agent(agent, {"roles": ["ghost"]}, actor=admin)
    with pytest.raises(ValidationFailed, match="own right"):
        users.update_agent(admin, {"roles": ["agent"]}, actor=admin)
    assert users.update_agent(agent, {"roles": ["agent", "admin"], "name": "Смит"},
                              actor=admin) == {"name": ["Agent", "Смит"],
                                               "roles": [["agent"], ["admin", "agent"]]}

    with pytest.raises(ValidationFailed) as caught:
        users.save_role("Bad key", "", ["nope"], create=True, actor=admin)
    assert set(caught.value.errors) == {"key", "name", "permissions"}
    with pytest.raises(ValidationFailed, match="already exists"):
        users.save_role("agent", "Agent", [], create=True)
    role = users.save_role("viewer", "Viewer", ["tickets.view", "tickets.view"], create=True)
    assert role.permissions == ["tickets.view"] and not role.is_system
    with pytest.raises(NotFound):
        users.save_role("ghost", "Ghost", [])
    # The admin role keeps "*"; an admin cannot strip their own only source of admin.users.
    users.save_role("admin", "Admin", ["tickets.view"], actor=admin)
    assert "*" in db.session.scalar(db.select(Role).where(Role.key == "admin")).permissions
    users.save_role("staff", "Staff", ["admin.users"], create=True)
    lone = users.create({"email": "hr@test.example", "roles": ["staff"]})
    with pytest.raises(ValidationFailed, match="own right"):
        users.save_role("staff", "Staff", ["tickets.view"], actor=lone)
    users.set_active(lone, False)
    assert lone not in users.agents(active=True) and lone in users.agents()
