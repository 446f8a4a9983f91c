"""What an outcome does (S3): one service call, one transaction, with history.

``complete(contact, {"category", "outcome", ...})`` checks everything first
(nothing is written on a refusal), then in one unit of work:

* a converting outcome ("Customer booked"; the Spare-parts "reserve", "no
  reserve", "sale made") creates a Service request for the contact's customer,
  links it (``converted_to``) and closes the contact as converted; a reserve is
  recorded on the request;
* "Postpone the task" keeps the contact open with a follow-up time (the ticket's
  deadline, so the agents' table shows it late when missed);
* "Redirect" hands the contact to the agent the operator picks;
* "Refusal" closes the contact as failed;
* a category without outcomes closes the contact without conversion — for a
  Repeat request the refused Service request re-opens and continues, linked.

Pages, the API and trigger actions call this same function."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kernel import permissions
from kernel.db import db, get_by_id, utcnow
from kernel.errors import ValidationFailed
from kernel.i18n import N_
from kernel.models import Status, Ticket, User
from kernel.services import history, links, tickets
from kernel.services.uow import unit_of_work
from plugins.autoservice import CATEGORY_FIELD, CONTACT_TYPE, REQUEST_TYPE, categories, classify
from plugins.autoservice.models import ContactRecord

_COMPLETING: ContextVar[bool] = ContextVar("autoservice_completing", default=False)
CLOSING_STATUSES = ("converted", "closed", "failed")


@dataclass
class Result:
    contact: Ticket
    effect: str
    service_request: Ticket | None = None
    continued_request: Ticket | None = None


def validate_transition(ticket: Ticket, to_status: Status) -> str | None:
    """A contact closes only by recording its outcome (so the report and the
    service requests always agree with the contact's status)."""
    if (ticket.type.key == CONTACT_TYPE and to_status.key in CLOSING_STATUSES
            and not _COMPLETING.get()):
        return N_("A contact is closed by choosing its category and outcome.")
    return None


def _follow_up(raw: Any) -> datetime:
    if isinstance(raw, str) and raw.strip():
        try:
            raw = datetime.fromisoformat(raw.strip())
        except ValueError as exc:
            raise ValidationFailed({"follow_up_at": N_("Not a date and time.")}) from exc
    if not isinstance(raw, datetime):
        raise ValidationFailed({"follow_up_at": N_("Give the follow-up date and time.")})
    if raw.tzinfo is None:
        raw = raw.replace(tzinfo=classify.zone())
    value = raw.astimezone(UTC)
    if value <= utcnow():
        raise ValidationFailed({"follow_up_at": N_("The follow-up time must be in the future.")})
    return value


def _agent(raw: Any, ticket: Ticket) -> User:
    user = None
    if isinstance(raw, User):
        user = raw
    elif raw not in (None, ""):
        try:
            user = get_by_id(User, int(raw))
        except (TypeError, ValueError):
            user = None
    if user is None or not user.is_agent or not user.is_active:
        raise ValidationFailed({"assignee": N_("Choose an active agent to hand the contact to.")})
    if user.id == ticket.assignee_id:
        raise ValidationFailed({"assignee": N_("The contact is already with this agent.")})
    return user


def check(ticket: Ticket, data: dict[str, Any], actor: User | None):
    """Everything ``complete`` refuses, before it writes: returns the category,
    outcome (or None) and the parsed parameters."""
    permissions.require_view(actor, ticket)
    permissions.require(actor, "tickets.transition")
    if not isinstance(data, dict):
        raise ValidationFailed({"_schema": N_("Expected an object.")})
    if ticket.type.key != CONTACT_TYPE:
        raise ValidationFailed({"ticket": N_("Only a contact with a customer has an outcome.")})
    record = db.session.get(ContactRecord, ticket.id)
    if ticket.is_closed:
        if record is not None and record.service_request_id:
            raise ValidationFailed({"outcome": N_(
                "This contact is already converted into a service request.")})
        raise ValidationFailed({"outcome": N_("This contact is already closed.")})
    value = data.get("category") or ticket.value(CATEGORY_FIELD)
    if not value:
        raise ValidationFailed({"category": N_("Choose the contact's category.")})
    cat = categories.category(value) if isinstance(value, str) else None
    if cat is None:
        raise ValidationFailed({"category": N_("Unknown category.")})
    current = ticket.value(CATEGORY_FIELD)
    if value != current:
        problems = classify.validate(ticket.type, {CATEGORY_FIELD: value}, ticket)
        if problems:
            raise ValidationFailed({CATEGORY_FIELD if k != CATEGORY_FIELD else "category": m
                                    for k, m in problems})
    offered = categories.outcomes(cat.value)
    wanted = data.get("outcome") or None
    chosen = None
    if offered:
        if wanted is None:
            raise ValidationFailed({"outcome": N_("Choose an outcome of this category.")})
        chosen = next((o for o in offered if o.value == wanted), None)
        if chosen is None:
            raise ValidationFailed({"outcome": N_("This outcome does not belong to the "
                                                  "category.")})
        if not chosen.visible:
            raise ValidationFailed({"outcome": N_("This outcome is hidden from the list.")})
    elif wanted is not None:
        raise ValidationFailed({"outcome": N_("This outcome does not belong to the category.")})
    effect = chosen.effect if chosen else "close"
    params: dict[str, Any] = {}
    if effect in categories.CONVERTING:
        if ticket.customer_id is None:
            raise ValidationFailed({"customer": N_("Identify the customer before converting "
                                                   "the contact.")})
        if record is not None and record.service_request_id:
            raise ValidationFailed({"outcome": N_(
                "This contact is already converted into a service request.")})
        note = data.get("reserve_note") or ""
        if not isinstance(note, str) or len(note) > 500:
            raise ValidationFailed({"reserve_note": N_("At most 500 characters.")})
        params["reserve_note"] = note.strip()
    elif effect == "postpone":
        params["follow_up_at"] = _follow_up(data.get("follow_up_at"))
    elif effect == "redirect":
        params["assignee"] = _agent(data.get("assignee"), ticket)
    comment = data.get("comment") or ""
    if not isinstance(comment, str) or len(comment) > 2000:
        raise ValidationFailed({"comment": N_("At most 2000 characters.")})
    params["comment"] = comment.strip()
    return cat, chosen, effect, params


def complete(ticket: Ticket, data: dict[str, Any], actor: User | None = None,
             via: str | None = None) -> Result:
    """Record the contact's category and outcome and do what the outcome does."""
    cat, chosen, effect, params = check(ticket, data, actor)
    token = _COMPLETING.set(True)
    try:
        with unit_of_work():
            result = _apply(ticket, cat, chosen, effect, params, actor, via)
    finally:
        _COMPLETING.reset(token)
    return result


def _apply(ticket, cat, chosen, effect, params, actor, via) -> Result:
    record = classify.record_of(ticket)
    if ticket.value(CATEGORY_FIELD) != cat.value:
        tickets.update(ticket, {CATEGORY_FIELD: cat.value}, actor=actor, via=via)
    result = Result(ticket, effect)
    comment = params.get("comment") or None
    data: dict[str, Any] = {"category": cat.value, "outcome": chosen.value if chosen else None,
                            "effect": effect}
    if effect in categories.CONVERTING:
        request = _convert(ticket, cat, effect, params, actor, via)
        result.service_request = request
        record.service_request_id = request.id
        data["service_request"] = request.number
        tickets.transition(ticket, "converted", actor=actor, via=via, comment=comment)
    elif effect == "postpone":
        tickets.update(ticket, {"deadline": params["follow_up_at"]}, actor=actor, via=via)
        if ticket.status.key != "postponed":
            tickets.transition(ticket, "postponed", actor=actor, via=via, comment=comment)
        data["follow_up_at"] = params["follow_up_at"]
    elif effect == "redirect":
        data["from"] = ticket.assignee_id
        tickets.assign(ticket, params["assignee"], actor=actor, via=via)
        data["to"] = params["assignee"].id
    elif effect == "refuse":
        tickets.transition(ticket, "failed", actor=actor, via=via, comment=comment)
    else:
        continued = _continue_refused(ticket, cat, record, actor, via)
        if continued is not None:
            result.continued_request = continued
            record.continued_request_id = continued.id
            data["continued_request"] = continued.number
        tickets.transition(ticket, "closed", actor=actor, via=via, comment=comment)
    record.category = cat.value
    record.outcome = chosen.value if chosen else None
    record.outcome_at = utcnow()
    db.session.flush()
    history.record(ticket, "autoservice.outcome", data, actor=actor, via=via)
    return result


def _convert(ticket, cat, effect, params, actor, via) -> Ticket:
    kind = "parts" if effect in ("convert_reserve", "convert_no_reserve", "convert_sale") \
        else "repair"
    values: dict[str, Any] = {
        "customer": ticket.customer_id,
        "subject": ticket.subject or (ticket.customer.name if ticket.customer else ""),
        "text": ticket.text or "",
        "request_kind": kind,
        "parts_reserve": effect == "convert_reserve",
    }
    if params.get("reserve_note"):
        values["reserve_note"] = params["reserve_note"]
    if ticket.assignee_id:
        values["assignee"] = ticket.assignee_id
    request = tickets.create(values, actor=actor, type=REQUEST_TYPE, via=via)
    links.link(ticket, request, "converted_to", actor=actor, via=via)
    if effect != "convert_sale":
        tickets.transition(request, "booked", actor=actor, via=via)
    return request


def _continue_refused(ticket, cat, record, actor, via) -> Ticket | None:
    """A Repeat request: the refused service request this contact continues."""
    if cat.rule != "repeat" or ticket.customer_id is None:
        return None
    request = None
    if record.rule == "repeat" and (record.reason or {}).get("ticket_id"):
        request = get_by_id(Ticket, record.reason["ticket_id"])
        if request is not None and request.status.group != "closed_failure":
            request = None
    if request is None:
        found = classify.refused_request(ticket.customer_id, utcnow())
        request = found[0] if found else None
    if request is None:
        return None
    tickets.transition(request, "new", actor=actor, via=via,
                       comment=f"{ticket.number}")
    links.link(ticket, request, "continues", actor=actor, via=via)
    history.record(request, "autoservice.request_continued", {"contact": ticket.number,
                                                              "contact_id": ticket.id},
                   actor=actor, via=via)
    return request


def record_for(ticket: Ticket) -> ContactRecord | None:
    return db.session.get(ContactRecord, ticket.id)
