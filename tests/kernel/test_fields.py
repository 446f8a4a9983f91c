"""K4 / P7: field definitions — the deployment's overrides (which survive a re-sync),
custom fields added at run time, choices, required fields and what customers may
fill in and see."""

import pytest

from kernel import fieldset
from kernel.db import db
from kernel.errors import NotFound, ValidationFailed
from kernel.models import FieldDefinition, Ticket
from kernel.services import fields, tickets, workflow
from kernel.services.uow import unit_of_work
from kernel.sync import sync


def form(audience="agent", type_key="request"):
    return {f.key: f for f in fieldset.for_type(tickets.ticket_type(type_key), audience)}


def resync(app):
    sync(app.extensions["hookdesk"])
    db.session.expire_all()


def reload(ticket):
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


# -- overrides of declared fields ----------------------------------------------------


def test_overrides_change_label_order_required_and_visibility(app, agent, customer_user):
    before = form()["contract_number"]
    assert (before.required, before.shown_to_customer, before.editable_by_customer) == \
        (False, True, True)
    fields.override("contract_number", {
        "label": "Договор №", "help_text": "Как в договоре", "order": 1, "required": True,
        "shown_in_list": True, "shown_to_customer": False, "editable_by_customer": False,
    })
    after = form()["contract_number"]
    assert (after.label, after.help_text, after.order, after.required, after.shown_in_list) == \
        ("Договор №", "Как в договоре", 1, True, True)
    assert list(form())[0] == "contract_number"  # first in the form now
    assert "contract_number" not in form("customer")
    assert "contract_number" not in form("customer_view")
    with pytest.raises(ValidationFailed) as failed:
        tickets.create({"subject": "No contract"}, actor=agent)
    assert failed.value.errors == {"contract_number": ["This field is required."]}
    with pytest.raises(ValidationFailed) as failed:
        tickets.create({"subject": "x", "contract_number": "C-1"}, actor=customer_user)
    assert "cannot" in failed.value.errors["contract_number"][0]
    # Customers are not asked for a field they do not fill in, required or not.
    assert tickets.create({"subject": "From the portal"}, actor=customer_user).values == {}


def test_overrides_survive_a_resync_that_refreshes_the_plugin_defaults(app, agent):
    fields.override("contract_number", {"label": "Договор №", "required": True})
    fields.override("subject", {"label": "Тема", "order": 500})
    row = fields.definition("contract_number")
    with unit_of_work():  # as if an older version of the plugin had declared these
        row.label, row.help_text, row.max_length = "Old label", "Old help", 5
    resync(app)
    row = fields.definition("contract_number")
    assert (row.label, row.help_text, row.max_length) == \
        ("Contract number", "As printed on your contract.", 100)
    assert row.overrides == {"label": "Договор №", "required": True}
    current = form()
    assert (current["contract_number"].label, current["contract_number"].required) == \
        ("Договор №", True)
    assert (current["subject"].label, current["subject"].order) == ("Тема", 500)
    assert list(current)[-1] == "subject"
    resync(app)  # twice changes nothing
    assert form()["contract_number"].label == "Договор №"
    fields.reset_overrides("contract_number")
    assert form()["contract_number"].label == "Contract number"
    assert tickets.create({"subject": "x"}, actor=agent)  # not required any more


def test_a_system_field_made_optional_may_be_left_and_cleared(app, agent, make_ticket):
    fields.override("subject", {"required": False})
    bare = tickets.create({"text": "only a text"}, actor=agent)
    assert bare.subject == ""
    ticket = make_ticket(actor=agent, subject="Has one")
    assert tickets.update(ticket, {"subject": None}, actor=agent) == {"subject": ["Has one", ""]}
    assert reload(ticket).subject == ""


def test_overrides_refuse_what_cannot_be_overridden(app):
    with pytest.raises(ValidationFailed) as failed:
        fields.override("contract_number", {"type": "number", "label": "X"})
    assert set(failed.value.errors) == {"type"}
    with pytest.raises(ValidationFailed) as failed:
        fields.override("contract_number", {"label": "", "order": "first"})
    assert set(failed.value.errors) == {"label", "order"}
    with pytest.raises(NotFound):
        fields.override("shoe_size", {"label": "Shoe size"})
    assert fields.definition("contract_number").overrides == {}


# -- custom fields -------------------------------------------------------------------

CUSTOM = [
    {"key": "floor", "type": "number", "label": "Floor"},
    {"key": "visit_date", "type": "date", "label": "Visit"},
    {"key": "pets", "type": "flag", "label": "Pets at home"},
    {"key": "mood", "type": "choice", "label": "Mood",
     "choices": [["calm", "Calm"], ["angry", "Angry"]]},
    {"key": "topics", "type": "multi_choice", "label": "Topics", "choice_list": "queues"},
    {"key": "backup_phone", "type": "phone", "label": "Backup phone"},
    {"key": "backup_email", "type": "email", "label": "Backup e-mail"},
    {"key": "parent_ticket", "type": "reference", "label": "Parent", "reference": "ticket"},
    {"key": "notes", "type": "long_text", "label": "Notes", "max_length": 10},
]


@pytest.fixture
def custom_fields(app):
    for data in CUSTOM:
        fields.create_custom(data)


def test_custom_fields_are_validated_and_stored_in_values(app, agent, make_ticket,
                                                         custom_fields):
    parent = make_ticket(actor=agent)
    ticket = tickets.create({
        "subject": "With extras", "floor": "3", "visit_date": "2030-05-01", "pets": "да",
        "mood": "calm", "topics": ["billing", "technical"], "backup_phone": "8 912 345-67-89",
        "backup_email": "Ivan@Example.com", "parent_ticket": parent.id, "notes": " short ",
    }, actor=agent)
    assert reload(ticket).values == {
        "floor": 3, "visit_date": "2030-05-01", "pets": True, "mood": "calm",
        "topics": ["billing", "technical"], "backup_phone": "+79123456789",
        "backup_email": "Ivan@Example.com", "parent_ticket": parent.id, "notes": "short",
    }
    assert ticket.value("visit_date") == "2030-05-01" and ticket.value("subject") == "With extras"
    changes = tickets.update(ticket, {"floor": 4.5, "mood": None}, actor=agent)
    assert changes == {"floor": [3, 4.5], "mood": ["calm", None]}
    assert "mood" not in reload(ticket).values


def test_custom_field_values_of_the_wrong_kind_are_refused(app, agent, custom_fields):
    bad = {"floor": "third", "visit_date": "01/05/2030", "pets": "perhaps", "mood": "sad",
           "topics": ["billing", "astrology"], "backup_phone": "12345",
           "backup_email": "not-an-email", "parent_ticket": 99999, "notes": "far too long"}
    with pytest.raises(ValidationFailed) as failed:
        tickets.create({"subject": "Bad extras", **bad}, actor=agent)
    errors = failed.value.errors
    assert set(errors) == set(bad)
    assert "'sad' is not an allowed choice" in errors["mood"][0]
    assert "'astrology'" in errors["topics"][0] and "'billing'" not in errors["topics"][0]
    assert "#99999 does not exist" in errors["parent_ticket"][0]
    assert db.session.scalar(db.select(db.func.count()).select_from(Ticket)) == 0


def test_a_required_custom_field_is_enforced_on_create_and_update(app, agent):
    fields.create_custom({"key": "flat_number", "type": "text", "label": "Flat number",
                          "required": True})
    with pytest.raises(ValidationFailed) as failed:
        tickets.create({"subject": "x"}, actor=agent)
    assert failed.value.errors == {"flat_number": ["This field is required."]}
    ticket = tickets.create({"subject": "x", "flat_number": "12"}, actor=agent)
    for emptied in ("", None, "  "):
        with pytest.raises(ValidationFailed) as failed:
            tickets.update(ticket, {"flat_number": emptied}, actor=agent)
        assert failed.value.errors == {"flat_number": ["This field is required."]}
    assert tickets.update(ticket, {"subject": "y"}, actor=agent)  # leaving it out is fine
    assert reload(ticket).values == {"flat_number": "12"}


def test_a_custom_field_for_one_type_is_unknown_to_the_others(app, agent):
    workflow.create_type("repair", "Repair", "support", number_template="W-{seq}")
    fields.create_custom({"key": "flat_number", "type": "text", "label": "Flat number",
                          "ticket_types": ["repair"]})
    assert "flat_number" in form(type_key="repair") and "flat_number" not in form()
    with pytest.raises(ValidationFailed) as failed:
        tickets.create({"subject": "x", "flat_number": "12"}, actor=agent)
    assert "Unknown field for type 'request'" in failed.value.errors["flat_number"][0]
    claim = tickets.create({"subject": "x", "flat_number": "12"}, actor=agent, type="repair")
    assert claim.values == {"flat_number": "12"}


def test_a_deactivated_custom_field_leaves_the_form_but_keeps_its_values(app, agent):
    fields.create_custom({"key": "floor", "type": "number", "label": "Floor"})
    ticket = tickets.create({"subject": "x", "floor": 2}, actor=agent)
    fields.deactivate("floor")
    assert "floor" not in form()
    with pytest.raises(ValidationFailed):
        tickets.create({"subject": "y", "floor": 3}, actor=agent)
    assert reload(ticket).values == {"floor": 2}
    with pytest.raises(ValidationFailed):
        fields.deactivate("contract_number")  # declared fields are hidden with overrides


def test_custom_field_overrides_apply_directly(app, agent):
    fields.create_custom({"key": "floor", "type": "number", "label": "Floor"})
    fields.override("floor", {"label": "Этаж", "required": True})
    assert (form()["floor"].label, form()["floor"].required) == ("Этаж", True)
    resync(app)
    assert (form()["floor"].label, form()["floor"].required) == ("Этаж", True)
    with pytest.raises(ValidationFailed) as failed:
        tickets.create({"subject": "x"}, actor=agent)
    assert set(failed.value.errors) == {"floor"}


# -- choices --------------------------------------------------------------------------


def test_hidden_choice_items_are_refused_for_new_values(app, agent, make_ticket):
    old = make_ticket(actor=agent, queue="technical")
    fields.save_choice("queues", "technical", "Technical problem", visible=False)
    fields.save_choice("queues", "warranty", "Warranty", group="After sale")
    allowed = [v for v, _label in fieldset.base_choices(form()["queue"])]
    assert "technical" not in allowed and "warranty" in allowed
    with pytest.raises(ValidationFailed) as failed:
        tickets.create({"subject": "x", "queue": "technical"}, actor=agent)
    assert "'technical' is not an allowed choice" in failed.value.errors["queue"][0]
    assert tickets.create({"subject": "x", "queue": "warranty"}, actor=agent).queue == "warranty"
    assert reload(old).queue == "technical"  # what was chosen before stays
    assert tickets.update(old, {"subject": "Still editable"}, actor=agent)  # and does not block
    fields.save_choice("queues", "technical", "Technical problem", visible=True)
    assert tickets.create({"subject": "x", "queue": "technical"}, actor=agent)


def test_renaming_a_choice_keeps_its_value(app, agent):
    fields.save_choice("campaigns", "website", "Наш сайт")
    labels = dict(fieldset.base_choices(form()["campaign"]))
    assert labels["website"] == "Наш сайт"
    assert tickets.create({"subject": "x", "campaign": "website"}, actor=agent).values == \
        {"campaign": "website"}


def test_choice_values_must_be_strings_from_the_list(app, agent):
    for value in ("Billing and documents", ["billing"], 1, "BILLING"):
        with pytest.raises(ValidationFailed) as failed:
            tickets.create({"subject": "x", "queue": value}, actor=agent)
        assert set(failed.value.errors) == {"queue"}


# -- customers' view of the form (P3, P5, P7) ----------------------------------------------


def test_customers_fill_and_see_only_what_the_admin_chose(app, agent, customer_user):
    fields.create_custom({"key": "floor", "type": "number", "label": "Floor"})
    fields.create_custom({"key": "risk", "type": "number", "label": "Risk score"})
    assert "floor" not in form("customer") and "floor" not in form("customer_view")
    with pytest.raises(ValidationFailed) as failed:
        tickets.create({"subject": "x", "floor": 2, "risk": 9}, actor=customer_user)
    assert set(failed.value.errors) == {"floor", "risk"}
    assert all("Customers cannot" in m for msgs in failed.value.errors.values() for m in msgs)
    fields.override("floor", {"editable_by_customer": True, "shown_to_customer": True})
    assert "floor" in form("customer") and "floor" in form("customer_view")
    ticket = tickets.create({"subject": "x", "floor": 2}, actor=customer_user)
    assert ticket.values == {"floor": 2}
    tickets.update(ticket, {"risk": 9}, actor=agent)  # agents fill what customers cannot
    with pytest.raises(ValidationFailed) as failed:
        tickets.update(ticket, {"risk": 1}, actor=customer_user)
    assert set(failed.value.errors) == {"risk"}
    assert reload(ticket).values == {"floor": 2, "risk": 9}
    assert {"subject", "text", "queue", "contract_number"} <= set(form("customer"))
    assert not {"assignee", "customer", "urgent", "risk"} & set(form("customer"))


def test_a_custom_field_row_is_plain_data(app):
    row = fields.create_custom({"key": "floor", "type": "number", "label": "Floor",
                                "order": 15, "shown_in_list": True})
    stored = db.session.scalar(db.select(FieldDefinition).where(FieldDefinition.key == "floor"))
    assert stored is row and stored.is_custom and stored.storage == "values"
    assert (stored.order, stored.shown_in_list, stored.overrides) == (15, True, {})
