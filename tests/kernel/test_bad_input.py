"""X4: bad input is refused with an error naming the field and the problem, and
a refusal writes nothing — no row in any table, no file in the attachments folder,
no number taken from a counter."""

from datetime import UTC, datetime

import pytest

from kernel.errors import PermissionDenied, TooLarge, TransitionRefused, ValidationFailed
from kernel.models import Role, Ticket
from kernel.services import attachments, customers, fields, messages, tickets, users, workflow
from kernel.services.uow import unit_of_work

YEAR = datetime.now(UTC).year


def refused(exc_info, field: str, *words: str, case=None) -> str:
    """The error names ``field`` and says what is wrong (each of ``words``)."""
    errors = exc_info.value.errors
    assert field in errors, f"{case!r}: {field!r} not named in {errors}"
    text = " ".join(errors[field])
    for word in words:
        assert word.lower() in text.lower(), f"{case!r}: {word!r} not in {text!r}"
    assert field in str(exc_info.value)  # the summary names it too
    return text


def each_refused(nothing_written, cases, call, error=ValidationFailed):
    """Run ``call(input)`` for each ``(input, field, words)``: every one is refused,
    names its field and problem, and writes nothing. One app for all the cases
    keeps the suite fast; the failing case is named in the assertion."""
    for given, field, words in cases:
        with nothing_written(), pytest.raises(error) as failed:
            call(given)
        refused(failed, field, *words, case=given)


# -- tickets.create -----------------------------------------------------------


CREATE_CASES = [
    ({"subject": "x", "colour": "red"}, "colour", ["unknown field"]),
    ({"subject": "x", "urgent": "maybe"}, "urgent", ["boolean"]),
    ({"subject": "x", "deadline": "next week"}, "deadline", ["datetime"]),
    ({"subject": 42}, "subject", ["string"]),
    ({"subject": "x", "priority": "whenever"}, "priority", ["'whenever'", "allowed"]),
    ({"subject": "x", "queue": "nonsense"}, "queue", ["'nonsense'", "allowed"]),
    ({"subject": "x", "contact_phone": "12"}, "contact_phone", ["'12'", "phone"]),
    ({"subject": "x", "customer": 99999}, "customer", ["#99999", "does not exist"]),
    ({"subject": "x", "customer": "abc"}, "customer", ["integer"]),
    ({"subject": "x", "assignee": 99999}, "assignee", ["#99999"]),
    ({"subject": "x" * 301}, "subject", ["300"]),
    ({}, "subject", ["required"]),
    ({"subject": ""}, "subject", ["required"]),
    ({"subject": "   "}, "subject", ["required"]),
    ({"subject": None}, "subject", ["required"]),
]


def test_create_refuses_bad_values(app, agent, nothing_written):
    each_refused(nothing_written, CREATE_CASES,
                 lambda values: tickets.create(values, actor=agent))


def test_create_reports_every_bad_field_at_once(app, agent, nothing_written):
    with nothing_written(), pytest.raises(ValidationFailed) as failed:
        tickets.create({"colour": "red", "urgent": "maybe", "priority": "x"}, actor=agent)
    assert set(failed.value.errors) == {"colour", "urgent", "priority", "subject"}


def test_create_refuses_unknown_type(app, agent, nothing_written):
    with nothing_written(), pytest.raises(ValidationFailed) as failed:
        tickets.create({"subject": "x"}, actor=agent, type="spaceship")
    refused(failed, "type", "unknown", "spaceship")


def test_create_refuses_an_assignee_who_is_a_customer(app, agent, customer_user,
                                                      nothing_written):
    with nothing_written(), pytest.raises(ValidationFailed) as failed:
        tickets.create({"subject": "x", "assignee": customer_user.id}, actor=agent)
    refused(failed, "assignee", "agent")


def test_create_refuses_values_that_are_not_an_object(app, agent, nothing_written):
    with nothing_written(), pytest.raises(ValidationFailed) as failed:
        tickets.create(["subject", "x"], actor=agent)
    assert failed.value.errors


def test_a_refused_creation_takes_no_number(app, agent, nothing_written):
    first = tickets.create({"subject": "one"}, actor=agent)
    with nothing_written():
        for bad in ({"subject": ""}, {"subject": "x", "urgent": "maybe"}, {"colour": 1}):
            with pytest.raises(ValidationFailed):
                tickets.create(bad, actor=agent)
    second = tickets.create({"subject": "two"}, actor=agent)
    assert (first.number, second.number) == (f"REQ-{YEAR}-00001", f"REQ-{YEAR}-00002")


def test_a_creation_rolled_back_after_numbering_gives_its_number_back(app, agent,
                                                                       nothing_written):
    with nothing_written(), pytest.raises(RuntimeError), unit_of_work():
        taken = tickets.create({"subject": "doomed"}, actor=agent)
        assert taken.number == f"REQ-{YEAR}-00001"
        raise RuntimeError("something later in the same change failed")
    assert tickets.create({"subject": "kept"}, actor=agent).number == f"REQ-{YEAR}-00001"


@pytest.mark.app_config(HOOKDESK_MAX_ATTACHMENT_BYTES=16)
def test_create_with_an_oversize_file_writes_nothing(app, agent, nothing_written,
                                                     make_upload):
    with nothing_written(), pytest.raises(TooLarge) as failed:
        tickets.create({"subject": "with file"}, actor=agent,
                       files=[make_upload(b"x" * 17, "plan.pdf")])
    refused(failed, "file", "plan.pdf", "16 bytes")
    assert tickets.create({"subject": "next"}, actor=agent).number == f"REQ-{YEAR}-00001"


def test_customer_without_permission_creates_nothing(app, nothing_written):
    role_less = users.create({"email": "nobody@test.example", "password": "nobody-pass-1",
                              "name": "Nobody"})
    with nothing_written(), pytest.raises(PermissionDenied):
        tickets.create({"subject": "x"}, actor=role_less)


# -- tickets.update / transition / assign -------------------------------------


UPDATE_CASES = [
    ({"colour": "red"}, "colour", ["unknown field"]),
    ({"urgent": "maybe"}, "urgent", ["boolean"]),
    ({"deadline": "yesterday-ish"}, "deadline", ["datetime"]),
    ({"priority": "whenever"}, "priority", ["allowed"]),
    ({"subject": ""}, "subject", ["required"]),
    ({"subject": None}, "subject", ["required"]),
    ({"subject": "   "}, "subject", ["required"]),
    ({"assignee": 99999}, "assignee", ["#99999"]),
]


def test_update_refuses_bad_values(app, agent, make_ticket, nothing_written):
    ticket = make_ticket(actor=agent, subject="Keep me", queue="billing")
    each_refused(nothing_written, UPDATE_CASES,
                 lambda values: tickets.update(ticket, values, actor=agent))
    assert (ticket.subject, ticket.queue, ticket.version) == ("Keep me", "billing", 1)


def test_update_may_clear_optional_fields(app, agent, make_ticket):
    ticket = make_ticket(actor=agent, text="Long story", queue="billing", location="Room 4",
                         contract_number="C-1")
    changes = tickets.update(ticket, {"text": None, "queue": None, "location": "",
                                      "contract_number": None, "priority": None}, actor=agent)
    assert set(changes) == {"text", "queue", "location", "contract_number"}
    assert (ticket.text, ticket.queue, ticket.priority) == ("", None, "normal")
    assert ticket.location == ""
    assert "contract_number" not in ticket.values


def test_update_of_nothing_bad_keeps_the_valid_part_out_too(app, agent, make_ticket,
                                                           nothing_written):
    """One bad field refuses the whole change: the good field is not applied either."""
    ticket = make_ticket(actor=agent, queue="general")
    with nothing_written(), pytest.raises(ValidationFailed) as failed:
        tickets.update(ticket, {"queue": "billing", "urgent": "maybe"}, actor=agent)
    assert set(failed.value.errors) == {"urgent"}
    assert ticket.queue == "general"


def test_forbidden_transition_is_refused_with_both_statuses(app, agent, make_ticket,
                                                            nothing_written):
    ticket = make_ticket(actor=agent)
    with nothing_written(), pytest.raises(TransitionRefused) as failed:
        tickets.transition(ticket, "waiting", actor=agent)
    assert (failed.value.from_status, failed.value.to_status) == ("new", "waiting")
    assert "'new' to 'waiting' is not allowed" in failed.value.message
    assert ticket.status.key == "new"


def test_transition_to_the_current_status_is_refused(app, agent, make_ticket, nothing_written):
    ticket = make_ticket(actor=agent)
    with nothing_written(), pytest.raises(TransitionRefused) as failed:
        tickets.transition(ticket, "new", actor=agent)
    assert "already" in failed.value.message


def test_transition_to_an_unknown_status_names_the_known_ones(app, agent, make_ticket,
                                                              nothing_written):
    ticket = make_ticket(actor=agent)
    with nothing_written(), pytest.raises(ValidationFailed) as failed:
        tickets.transition(ticket, "teleported", actor=agent)
    refused(failed, "status", "'teleported'", "in_progress", "resolved")


def test_assign_refuses_anyone_but_an_active_agent(app, admin, agent, customer_user,
                                                   make_ticket, nothing_written):
    ticket = make_ticket(actor=admin)
    cases = [(customer_user, "assignee", ["agent"]), (99999, "assignee", ["agent"])]
    each_refused(nothing_written, cases, lambda who: tickets.assign(ticket, who, actor=admin))
    with unit_of_work():
        agent.is_active = False
    each_refused(nothing_written, [(agent, "assignee", ["active agent"])],
                 lambda who: tickets.assign(ticket, who, actor=admin))
    assert ticket.assignee_id == admin.id


# -- messages.post and attachments.attach -----------------------------------------


def test_post_refuses_bad_bodies(app, agent, make_ticket, nothing_written):
    ticket = make_ticket(actor=agent)
    cases = [("", "body", ["write a message"]), ("   \n ", "body", ["write a message"]),
             (None, "body", ["text"]), (42, "body", ["text"]),
             ("x" * 100_001, "body", ["100000"])]
    each_refused(nothing_written, cases, lambda body: messages.post(ticket, body, actor=agent))


def test_customer_cannot_post_internal_notes(app, customer_user, nothing_written):
    ticket = tickets.create({"subject": "Mine"}, actor=customer_user)
    with nothing_written(), pytest.raises(ValidationFailed) as failed:
        messages.post(ticket, "psst", actor=customer_user, internal=True)
    refused(failed, "internal", "customers")


@pytest.mark.app_config(HOOKDESK_MAX_ATTACHMENT_BYTES=1024)
def test_post_with_an_oversize_file_writes_no_message(app, agent, make_ticket,
                                                      nothing_written, make_upload):
    ticket = make_ticket(actor=agent)
    with nothing_written(), pytest.raises(TooLarge) as failed:
        messages.post(ticket, "see the drawing", actor=agent,
                      files=[make_upload(b"x" * 1025, "drawing.dwg")])
    refused(failed, "file", "drawing.dwg", "1 KB")
    assert messages.thread(ticket, agent) == []


@pytest.mark.app_config(HOOKDESK_MAX_ATTACHMENT_BYTES=100)
def test_attach_refuses_oversize_and_empty_files(app, agent, make_ticket, nothing_written,
                                                 make_upload):
    ticket = make_ticket(actor=agent)
    cases = [(101, "file", ["photo.jpg", "larger", "100 bytes"]),
             (0, "file", ["photo.jpg", "empty"])]
    each_refused(nothing_written, cases, lambda size: attachments.attach(
        ticket, make_upload(b"a" * size, "photo.jpg"), actor=agent))
    assert attachments.for_ticket(ticket, agent) == []


@pytest.mark.app_config(HOOKDESK_MAX_ATTACHMENT_BYTES=100)
def test_a_file_exactly_at_the_limit_is_accepted(app, agent, make_ticket, make_upload):
    ticket = make_ticket(actor=agent)
    stored = attachments.attach(ticket, make_upload(b"a" * 100, "photo.jpg"), actor=agent)
    assert stored.size == 100


# -- customers, users, fields, workflow ------------------------------------------


def test_customer_with_a_bad_phone_names_its_position(app, nothing_written):
    with nothing_written(), pytest.raises(ValidationFailed) as failed:
        customers.create({"name": "Ivan", "phones": ["+7 912 345-67-89", "12", "not a phone"]})
    assert set(failed.value.errors) == {"phones.1", "phones.2"}
    refused(failed, "phones.1", "'12'")
    refused(failed, "phones.2", "'not a phone'")


def test_customer_refusals_name_the_field(app, nothing_written):
    cases = [({"phones": []}, "name", ["required"]), ({"name": "  "}, "name", ["required"]),
             ({"name": "A", "emails": ["nope"]}, "emails.0", ["email"]),
             ({"name": "A", "shoe_size": 44}, "shoe_size", ["unknown"]),
             ({"name": "A" * 201}, "name", ["200"])]
    each_refused(nothing_written, cases, customers.create)


def test_customer_update_with_a_bad_phone_keeps_the_old_phones(app, nothing_written):
    customer = customers.create({"name": "Ivan", "phones": ["8 912 345 67 89"]})
    with nothing_written(), pytest.raises(ValidationFailed) as failed:
        customers.update(customer, {"name": "Ivan Petrov", "phones": ["8 912 345 67 89", "1"]})
    refused(failed, "phones.1", "'1'")
    assert customer.name == "Ivan"
    assert [p.number for p in customer.phones] == ["+79123456789"]


def test_user_with_a_taken_email_is_refused(app, agent, nothing_written):
    cases = [(email, "email", ["already exists"])
             for email in ("agent@test.example", "AGENT@Test.Example")]
    each_refused(nothing_written, cases, lambda email: users.create(
        {"email": email, "password": "another-pass-1", "roles": ["agent"]}))


USER_CASES = [
    ({"email": "not-an-email"}, "email", ["email"]),
    ({"email": "a@test.example", "password": "short"}, "password", ["8"]),
    ({"email": "a@test.example", "roles": ["wizard"]}, "roles", ["'wizard'"]),
    ({"email": "a@test.example", "kind": "robot"}, "kind", ["agent", "customer"]),
    ({"email": "a@test.example", "kind": "customer", "roles": ["admin"]}, "roles",
     ["no roles"]),
    ({"email": "a@test.example", "customer_id": 99999}, "customer_id", ["not found"]),
    ({"email": "a@test.example", "locale": "xx"}, "locale", ["ru", "en"]),
]


def test_user_refusals_name_the_field(app, nothing_written):
    each_refused(nothing_written, USER_CASES, users.create)


CUSTOM_FIELD_CASES = [
    ({"key": "floor", "type": "colour", "label": "Floor"}, "type", ["one of"]),
    ({"key": "Floor!", "type": "number", "label": "Floor"}, "key", ["a-z"]),
    ({"key": "floor", "type": "number"}, "label", ["required"]),
    ({"key": "subject", "type": "text", "label": "Again"}, "key", ["already exists"]),
    ({"key": "contract_number", "type": "text", "label": "Again"}, "key", ["already exists"]),
    ({"key": "mood", "type": "choice", "label": "Mood"}, "choices", ["choices"]),
    ({"key": "mood", "type": "choice", "label": "Mood", "choice_list": "moods"},
     "choice_list", ["'moods'"]),
    ({"key": "house", "type": "reference", "label": "House"}, "reference", ["reference"]),
    ({"key": "house", "type": "reference", "label": "House", "reference": "castle"},
     "reference", ["'castle'"]),
    ({"key": "floor", "type": "number", "label": "Floor", "plugin": "me"}, "plugin",
     ["unknown"]),
]


def test_custom_field_refusals_name_the_field(app, nothing_written):
    each_refused(nothing_written, CUSTOM_FIELD_CASES, fields.create_custom)


TEMPLATE_CASES = [
    ("W-{year}", "number_template", ["{seq}"]),
    ("W-{seq}-{seq}", "number_template", ["exactly once"]),
    ("W-{yaer}-{seq}", "number_template", ["{yaer}", "allowed"]),
    ("W-{year-{seq}", "number_template", ["malformed"]),
    ("W-{}-{seq}", "number_template", ["unknown variable"]),
    ("W-{seq:g}", "number_template", ["whole number"]),
    ("W-{seq:.2}", "number_template", ["precision"]),
    ("W-{seq:{year}}", "number_template", ["cannot contain"]),
    ("W-{type:d}-{seq}", "number_template", ["W-{type:d}-{seq}"]),
    ("", "number_template", ["1 to 100"]),
    ("W" * 101 + "{seq}", "number_template", ["1 to 100"]),
    ("W" * 60 + "{seq}", "number_template", ["longer than 64"]),
    ("{type}-{type}-{type}-{seq:020d}", "number_template", ["longer than 64"]),
]


def test_ticket_type_with_a_bad_numbering_template_is_refused(app, nothing_written):
    each_refused(nothing_written, TEMPLATE_CASES, lambda template: workflow.create_type(
        "warranty", "Warranty", "support", number_template=template))
    each_refused(nothing_written, TEMPLATE_CASES,
                 lambda template: workflow.set_number_template("request", template))


def test_ticket_type_refusals_name_the_field(app, nothing_written):
    with nothing_written():
        with pytest.raises(ValidationFailed) as failed:
            workflow.create_type("request", "Again", "support")
        refused(failed, "key", "already exists")
        with pytest.raises(ValidationFailed) as failed:
            workflow.create_type("claim", "Claim", "nowhere")
        refused(failed, "pipeline", "'nowhere'")
        with pytest.raises(ValidationFailed) as failed:
            workflow.create_type("claim", "Claim", "support", initial_status="limbo")
        refused(failed, "initial_status", "'limbo'")
        with pytest.raises(ValidationFailed) as failed:
            workflow.create_type("Claim!", "Claim", "support")
        refused(failed, "key", "lower-case")


def test_a_role_without_admin_rights_changes_no_settings(app, nothing_written):
    from kernel.db import db

    with unit_of_work():
        db.session.add(Role(key="clerk", name="Clerk", permissions=["tickets.view"]))
    clerk = users.create({"email": "clerk@test.example", "password": "clerk-pass-1",
                          "roles": ["clerk"]})
    with nothing_written():
        with pytest.raises(PermissionDenied):
            fields.create_custom({"key": "floor", "type": "number", "label": "Floor"},
                                 actor=clerk)
        with pytest.raises(PermissionDenied):
            workflow.create_type("claim", "Claim", "support", actor=clerk)
        with pytest.raises(PermissionDenied):
            users.create({"email": "x@test.example"}, actor=clerk)
    assert db.session.scalar(db.select(db.func.count()).select_from(Ticket)) == 0


def test_lookups_with_a_nul_byte_or_overlong_text_are_plain_not_found(app, agent,
                                                                      nothing_written):
    """Outside input may hold a NUL byte, which PostgreSQL refuses even in a WHERE
    clause: a lookup must still answer "unknown" / "not found", not a server error."""
    from kernel.errors import NotFound

    with nothing_written():
        for key in ("req\x00uest", "\x00", "r" * 65):
            with pytest.raises(ValidationFailed) as failed:
                tickets.create({"subject": "x"}, actor=agent, type=key)
            refused(failed, "type", "unknown", case=key)
            with pytest.raises(NotFound):
                tickets.get(key, agent)
            with pytest.raises(NotFound):
                fields.definition(key)
            with pytest.raises(NotFound):
                workflow.pipeline(key)
            assert users.by_email(key) is None
            assert users.authenticate(key, "x") is None
            with pytest.raises(ValidationFailed):
                customers.find_by_phone(key, agent)


def test_ticket_lists_filtered_by_a_nul_byte_are_empty_not_an_error(app, agent, make_ticket):
    from kernel.services.queries import TicketFilter, list_tickets

    make_ticket(actor=agent, subject="Printer", queue="technical")
    assert list_tickets(agent, TicketFilter(search="Print")).total == 1
    for flt in (TicketFilter(search="Pr\x00"), TicketFilter(queue="\x00"),
                TicketFilter(types=["request", "\x00"]), TicketFilter(statuses=["n\x00ew"]),
                TicketFilter(values={"contract_number": "\x00"}),
                TicketFilter(values={"\x00": "x"})):
        page = list_tickets(agent, flt)
        assert (page.total, page.items) == (0, []), flt
