"""What the orders plugin brings to rules (the triggers plugin): the condition
"the ticket is an order", the actions "create an order from this request" (O2)
and "e-mail the customer the order's new stage" (O8), and the shipped, enabled
rule that sends that letter on every stage change."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from kernel import declarations as d
from kernel import outbox, runtime
from kernel.errors import HookdeskError, ValidationFailed
from kernel.i18n import N_
from kernel.models import Ticket
from plugins.orders import scenarios

EMAIL = "email"
STAGE_RULE = N_("Orders: e-mail the customer the new stage")


class Skipped(HookdeskError):
    """Nothing to send (the customer has no e-mail)."""


def is_order(ticket: Ticket, event: Any = None, params: Mapping[str, Any] | None = None) -> bool:
    return ticket.type.key in scenarios.ORDER_TYPES


def is_request(ticket: Ticket, event: Any = None,
               params: Mapping[str, Any] | None = None) -> bool:
    return ticket.type.key == scenarios.REQUEST_TYPE


def trigger_conditions() -> list[d.TriggerConditionDecl]:
    return [
        d.TriggerConditionDecl("orders.is_order", N_("The ticket is an order"), is_order),
        d.TriggerConditionDecl("orders.is_request", N_("The ticket is an order request"),
                               is_request),
    ]


ORDER_TYPE = d.FieldDecl("order_type", "choice", N_("Order type"), required=True,
                         choices=[(s.key, s.name) for s in scenarios.SCENARIOS])


def convert_request(ticket: Ticket, event: Any, params: Mapping[str, Any],
                    context: Mapping[str, Any] | None = None) -> None:
    """Create an order of the chosen type from this request (O2, automatically)."""
    from plugins.orders import service

    if not service.is_request(ticket) or ticket.is_closed:
        return
    via = (context or {}).get("via") or "rule"
    service.convert(ticket, str(params.get("order_type") or ""), actor=None, via=via)


def _locale_of(ticket: Ticket) -> str:
    customer = ticket.customer
    accounts = customer.accounts if customer is not None else []
    return next((a.locale for a in accounts if a.locale), None) or str(
        runtime.config("HOOKDESK_DEFAULT_LOCALE", "ru") or "ru")


def _address_of(ticket: Ticket) -> str | None:
    customer = ticket.customer
    if customer is not None and customer.emails:
        return customer.emails[0].email
    if customer is not None:
        account = next((a.email for a in customer.accounts if a.is_active), None)
        if account:
            return account
    return ticket.value("orders_contact_email")


def order_url(ticket: Ticket) -> str:
    base = str(runtime.config("HOOKDESK_BASE_URL", "") or "").rstrip("/")
    return f"{base}/orders/my/{ticket.id}"


def stage_letter(ticket: Ticket, locale: str) -> tuple[str, str]:
    """(subject, body) of the stage letter, in ``locale``: names the stage, links to
    the order."""
    from flask_babel import gettext as _

    from web import i18n

    with i18n.use(locale):
        stage = i18n.translate_label(ticket.status.name)
        subject = _("Order %(number)s: %(stage)s", number=ticket.number, stage=stage)
        body = "\n\n".join([
            _("Hello!"),
            _("Your order %(number)s «%(subject)s» has moved to the stage: %(stage)s.",
              number=ticket.number, subject=ticket.subject, stage=stage),
            _("Follow the order, its documents and the conversation with the manager "
              "here: %(url)s", url=order_url(ticket)),
        ])
    return subject, body


def stage_email(ticket: Ticket, event: Any, params: Mapping[str, Any],
                context: Mapping[str, Any]) -> None:
    """E-mail the customer the order's new stage, in their language (O8)."""
    if not is_order(ticket):
        raise Skipped("Not an order.")
    if EMAIL not in runtime.host().registry.notification_channels:
        raise ValidationFailed({"channel": "No enabled plugin sends e-mail."})
    address = _address_of(ticket)
    if not address:
        raise Skipped("The order's customer has no e-mail.")
    locale = _locale_of(ticket)
    subject, body = stage_letter(ticket, locale)
    payload = {"subject": subject, "body": body, "locale": locale,
               "html": "<p>" + html.escape(body).replace("\n\n", "</p>\n<p>") + "</p>",
               "ticket_id": ticket.id, "rule": context.get("rule_name", "")}
    outbox.put(EMAIL, address, payload, key=context["idempotency_key"],
               ref=f"ticket:{ticket.id}")


def trigger_actions() -> list[d.TriggerActionDecl]:
    return [
        d.TriggerActionDecl("orders.convert_request", N_("Create an order from this request"),
                            convert_request, params=[ORDER_TYPE]),
        d.TriggerActionDecl("orders.stage_email",
                            N_("E-mail the customer the order's new stage"), stage_email,
                            side_effect=True),
    ]


def shipped_rules() -> list[d.TriggerRuleDecl]:
    return [d.TriggerRuleDecl(
        STAGE_RULE,
        description=N_("Shipped by the orders plugin: when an order moves to another stage, "
                       "the customer gets a letter in their language naming the stage, with a "
                       "link to the order."),
        events=[{"kind": "status_changed"}],
        conditions={"all": [{"condition": "orders.is_order", "params": {}}]},
        actions=[{"action": "orders.stage_email", "params": {}}],
    )]
