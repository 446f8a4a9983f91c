"""Request and response schemas of the API (they also write the OpenAPI document)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from web.params import page_field, per_page_field

ANY_VALUE = fields.Raw(allow_none=True)


class StatusOut(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    group = fields.String(required=True, validate=validate.OneOf(
        ["open", "closed_success", "closed_failure"]))


class TicketOut(Schema):
    """A ticket as the token's user may see it: attributes that are fields
    (``subject`` ... ``assignee_id``) are left out when that field is hidden from
    the viewer (for customers: every field not shown to customers)."""

    id = fields.Integer(required=True)
    number = fields.String(required=True)
    type = fields.String(required=True)
    status = fields.Nested(StatusOut, required=True)
    subject = fields.String()
    text = fields.String()
    priority = fields.String()
    queue = fields.String(allow_none=True)
    urgent = fields.Boolean()
    deadline = fields.DateTime(allow_none=True)
    location = fields.String(allow_none=True)
    customer_id = fields.Integer(allow_none=True)
    assignee_id = fields.Integer(allow_none=True)
    author_id = fields.Integer(allow_none=True, metadata={"description": "Agents only."})
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    closed_at = fields.DateTime(allow_none=True)
    values = fields.Dict(keys=fields.String(), values=ANY_VALUE, required=True)
    version = fields.Integer(required=True)
    allowed_statuses = fields.List(fields.String(), required=True,
                                   metadata={"description": "Statuses a transition may go to."})


class PageMeta(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)


class TicketPage(PageMeta):
    items = fields.List(fields.Nested(TicketOut), required=True)
    total_exact = fields.Boolean(
        required=True, metadata={"description": (
            "false when more tickets match than were counted: the count stops 1,000 "
            "tickets past the page, and ``total``/``pages`` are then lower bounds.")})


class TicketQuery(Schema):
    state = fields.String(load_default="all", validate=validate.OneOf(["all", "open", "closed"]))
    type = fields.List(fields.String(validate=validate.Length(max=64)), load_default=list)
    status = fields.List(fields.String(validate=validate.Length(max=64)), load_default=list)
    assignee_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    customer_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    queue = fields.String(validate=validate.Length(max=64))
    urgent = fields.Boolean()
    overdue = fields.Boolean()
    q = fields.String(validate=validate.Length(max=200),
                      metadata={"description": (
                          "Full-text search of subjects, text fields and messages "
                          "(Russian and English word forms; \"a phrase\"; prefix*), "
                          "or a ticket number, or a date (YYYY-MM-DD). Customers match "
                          "only what they may read.")})
    created_from = fields.Date()
    created_to = fields.Date()
    filter = fields.List(
        fields.String(validate=validate.Length(max=200)), load_default=list,
        metadata={"description": "Filters plugins declare, as key:value (e.g. "
                                 "warranty.defect_category:plumbing); see GET /ticket-filters."})
    sort = fields.String(load_default="-created_at", validate=validate.Length(max=40),
                         metadata={"description": "A column, '-' in front for descending."})
    page = page_field()
    per_page = per_page_field()


class TicketCreate(Schema):
    type = fields.String(validate=validate.Length(min=1, max=64),
                         metadata={"description": "Ticket type key; the default type if left out."})
    values = fields.Dict(keys=fields.String(), values=ANY_VALUE, load_default=dict,
                         metadata={"description": "Field values by key, see GET /fields."})


class TicketUpdate(Schema):
    values = fields.Dict(keys=fields.String(), values=ANY_VALUE, required=True)
    version = fields.Integer(metadata={"description": "The version you read (or send If-Match)."})


class TransitionIn(Schema):
    status = fields.String(required=True, validate=validate.Length(min=1, max=64))
    comment = fields.String(validate=validate.Length(max=2000))
    comment_visible_to_customer = fields.Boolean(load_default=False, metadata={
        "description": "Show the comment to the customer (card, API, letters); "
                       "by default it is the agents' working note."})
    version = fields.Integer()


class AssignIn(Schema):
    assignee_id = fields.Integer(required=True, allow_none=True,
                                 validate=validate.Range(min=1, max=2**31 - 1))
    version = fields.Integer()


class EventOut(Schema):
    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    kind = fields.String(required=True)
    actor_id = fields.Integer(allow_none=True)
    via = fields.String(allow_none=True)
    data = fields.Dict(required=True)
    shown = fields.List(fields.Dict(), metadata={
        "description": "What the event changed, as a person reads it in the token user's "
                       "language: [{field, label, old, new}] for field changes and the "
                       "assignee (old and new formatted per field type); empty otherwise."})


class AttachmentOut(Schema):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    message_id = fields.Integer(allow_none=True)
    internal = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    url = fields.String(required=True)


class MessageOut(Schema):
    id = fields.Integer(required=True)
    author_id = fields.Integer(allow_none=True)
    author_kind = fields.String(required=True)
    body = fields.String(required=True)
    internal = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    attachments = fields.List(fields.Nested(AttachmentOut), required=True)


class MessageIn(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=100_000))
    internal = fields.Boolean(load_default=False)


class UploadIn(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class UploadForm(Schema):
    internal = fields.Boolean(load_default=False)


class LinkIn(Schema):
    target = fields.String(required=True, validate=validate.Length(min=1, max=64),
                           metadata={"description": "Id or number of the other ticket."})
    kind = fields.String(load_default="related", validate=validate.Length(max=32))


class LinkOut(Schema):
    id = fields.Integer(required=True)
    source_id = fields.Integer(required=True)
    target_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class PhoneOut(Schema):
    number = fields.String(required=True)
    raw = fields.String(required=True)


class CustomerOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    contract_number = fields.String(allow_none=True)
    note = fields.String(required=True)
    phones = fields.List(fields.Nested(PhoneOut), required=True)
    emails = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)


class CustomerPage(PageMeta):
    items = fields.List(fields.Nested(CustomerOut), required=True)


class CustomerQuery(Schema):
    phone = fields.String(validate=validate.Length(max=64),
                          metadata={"description": "Exact match after normalization."})
    q = fields.String(validate=validate.Length(max=200))
    page = page_field()
    per_page = per_page_field()


class CustomerIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    contract_number = fields.String(allow_none=True, validate=validate.Length(max=100))
    note = fields.String(validate=validate.Length(max=2000))
    phones = fields.List(fields.String(validate=validate.Length(max=64)))
    emails = fields.List(fields.String(validate=validate.Length(max=254)))


class CustomerPatch(CustomerIn):
    name = fields.String(validate=validate.Length(min=1, max=200))


class TicketTypeOut(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    pipeline = fields.String(required=True)
    initial_status = fields.String(allow_none=True)
    number_template = fields.String(required=True)
    customer_can_create = fields.Boolean(required=True)
    is_default = fields.Boolean(required=True)


class TransitionOut(Schema):
    from_status = fields.String(required=True, data_key="from")
    to_status = fields.String(required=True, data_key="to")


class PipelineOut(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    statuses = fields.List(fields.Nested(StatusOut), required=True)
    transitions = fields.List(fields.Nested(TransitionOut), required=True)


class ChoiceOut(Schema):
    value = fields.String(required=True)
    label = fields.String(required=True)


class TicketFilterOut(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    ticket_types = fields.List(fields.String(), required=True)
    choices = fields.List(fields.Nested(ChoiceOut), required=True)


class FieldOut(Schema):
    key = fields.String(required=True)
    type = fields.String(required=True)
    label = fields.String(required=True)
    help_text = fields.String(required=True)
    required = fields.Boolean(required=True)
    order = fields.Integer(required=True)
    shown_in_list = fields.Boolean(required=True)
    shown_on_card = fields.Boolean(required=True)
    shown_to_customer = fields.Boolean(required=True)
    editable_by_customer = fields.Boolean(required=True)
    ticket_types = fields.List(fields.String(), required=True)
    reference = fields.String(allow_none=True)
    choices = fields.List(fields.Nested(ChoiceOut), allow_none=True)
    custom = fields.Boolean(required=True)


class FieldQuery(Schema):
    type = fields.String(validate=validate.Length(max=64))


class UserOut(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    is_active = fields.Boolean(required=True)
    roles = fields.List(fields.String(), required=True)
    customer_id = fields.Integer(allow_none=True)
    locale = fields.String(required=True)
    timezone = fields.String(required=True)


class TokenOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class TokenCreated(TokenOut):
    token = fields.String(required=True, metadata={"description": "Shown only once."})


class TokenIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
