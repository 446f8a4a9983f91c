"""A ``file`` field filled when the ticket is created (``tickets.create(...,
field_files=...)``): a required one is satisfied by its upload, the field points
at the attached file, and any refusal writes nothing."""

from __future__ import annotations

import io

import pytest

from kernel.db import db
from kernel.errors import TooLarge, ValidationFailed
from kernel.models import Attachment, Ticket
from kernel.services import fields, tickets


def upload(name="plan.png", data=b"\x89PNG\r\n\x1a\n plan"):
    stream = io.BytesIO(data)
    stream.filename = name
    return stream


def counts():
    return (db.session.scalar(db.select(db.func.count()).select_from(Ticket)),
            db.session.scalar(db.select(db.func.count()).select_from(Attachment)))


@pytest.fixture
def plan_field(app):
    fields.create_custom({"key": "floor_plan", "type": "file", "label": "Floor plan",
                          "required": True, "editable_by_customer": True,
                          "shown_to_customer": True})


@pytest.mark.plugins("helpdesk")
def test_a_required_file_field_is_filled_on_creation(plan_field, agent):
    with pytest.raises(ValidationFailed) as refused:
        tickets.create({"subject": "No plan"}, actor=agent)
    assert list(refused.value.errors) == ["floor_plan"]
    ticket = tickets.create({"subject": "With plan"}, actor=agent,
                            field_files={"floor_plan": upload()})
    attachment = db.session.get(Attachment, ticket.value("floor_plan"))
    assert attachment.filename == "plan.png" and attachment.ticket_id == ticket.id


@pytest.mark.plugins("helpdesk")
def test_bad_file_fields_are_refused_by_name_and_nothing_is_written(plan_field, agent, app):
    before = counts()
    with pytest.raises(ValidationFailed) as refused:
        tickets.create({"subject": "x"}, actor=agent,
                       field_files={"floor_plan": upload(), "subject": upload()})
    assert list(refused.value.errors) == ["subject"]
    with pytest.raises(ValidationFailed) as refused:
        tickets.create({"subject": "x", "floor_plan": 1}, actor=agent,
                       field_files={"floor_plan": upload()})
    assert list(refused.value.errors) == ["floor_plan"]
    app.config["HOOKDESK_MAX_ATTACHMENT_BYTES"] = 10
    with pytest.raises(TooLarge) as refused:
        tickets.create({"subject": "x"}, actor=agent, field_files={"floor_plan": upload()})
    assert list(refused.value.errors) == ["floor_plan"]
    assert counts() == before
