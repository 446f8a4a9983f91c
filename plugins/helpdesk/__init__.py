"""General helpdesk: the "Request" ticket type, its support pipeline and the
usual intake fields (contract number, contact phone, campaign, comment)."""

from __future__ import annotations

from datetime import timedelta

from kernel import declarations as d
from kernel import hookimpl
from kernel.i18n import N_

PIPELINE = d.PipelineDecl(
    key="support",
    name=N_("Support"),
    statuses=[
        d.StatusDecl("new", N_("New"), "open", "#2563eb"),
        d.StatusDecl("in_progress", N_("In progress"), "open", "#d97706"),
        d.StatusDecl("waiting", N_("Waiting for customer"), "open", "#7c3aed"),
        d.StatusDecl("resolved", N_("Resolved"), "closed_success", "#16a34a"),
        d.StatusDecl("rejected", N_("Rejected"), "closed_failure", "#dc2626"),
    ],
    transitions=[
        ("new", "in_progress"), ("new", "rejected"), ("new", "resolved"),
        ("in_progress", "waiting"), ("in_progress", "resolved"), ("in_progress", "rejected"),
        ("waiting", "in_progress"), ("waiting", "resolved"), ("waiting", "rejected"),
        ("resolved", "in_progress"), ("rejected", "in_progress"),
    ],
)


@hookimpl
def hookdesk_describe_plugin():
    return d.PluginDescription(
        N_("Helpdesk"),
        N_("The “Request” ticket type with its support pipeline and the usual intake fields:"
           " contract number, contact phone, campaign and comment."))


@hookimpl
def hookdesk_register_pipelines():
    return [PIPELINE]


@hookimpl
def hookdesk_register_ticket_types():
    return [d.TicketTypeDecl("request", N_("Request"), "support", "new", "REQ-{year}-{seq:05d}",
                             default=True)]


@hookimpl
def hookdesk_register_fields():
    return [
        d.FieldDecl("contract_number", "text", N_("Contract number"), order=32, max_length=100,
                    shown_to_customer=True, editable_by_customer=True,
                    help_text=N_("As printed on your contract.")),
        d.FieldDecl("contact_name", "text", N_("Full name"), order=34, max_length=200,
                    shown_to_customer=True, editable_by_customer=True),
        d.FieldDecl("contact_phone", "phone", N_("Contact phone"), order=36, shown_in_list=False,
                    shown_to_customer=True, editable_by_customer=True),
        d.FieldDecl("campaign", "choice", N_("Campaign"), order=75, choice_list="campaigns",
                    help_text=N_("Where the customer heard of us; feeds the campaign report.")),
        d.FieldDecl("comment", "long_text", N_("Comment"), order=95, max_length=10_000),
    ]


@hookimpl
def hookdesk_ticket_form_prefill(ticket_type, viewer):
    """A customer's full name and phone from their customer record (else the account)."""
    if not viewer.is_customer:
        return None
    customer = viewer.customer
    phones = [p.raw or p.number for p in customer.phones] if customer is not None else []
    return {"contact_name": (customer.name if customer is not None else "") or viewer.name,
            "contact_phone": phones[0] if phones else None}


@hookimpl
def hookdesk_register_choice_lists():
    return [d.ChoiceListDecl("campaigns", N_("Campaigns"), [
        d.ChoiceDecl("website", N_("Website")),
        d.ChoiceDecl("search_ads", N_("Search ads")),
        d.ChoiceDecl("referral", N_("Recommendation")),
        d.ChoiceDecl("outdoor", N_("Outdoor advertising")),
    ])]


@hookimpl
def hookdesk_load_demo_data(ctx):
    from kernel.services import messages, tickets

    samples = [
        ("Не приходит счёт за ноябрь", "billing", "website", "new", False, None),
        ("Ошибка при входе в личный кабинет", "technical", "search_ads", "in_progress", True, -2),
        ("Как поменять тариф?", "general", "referral", "waiting", False, 5),
        ("Возврат оплаты", "billing", "outdoor", "resolved", False, None),
        ("Не работает уведомление по SMS", "technical", "website", "rejected", False, None),
    ]
    for n, (subject, queue, campaign, status, urgent, days) in enumerate(samples):
        customer = ctx.customers[n % len(ctx.customers)]
        values = {"subject": subject, "text": subject + ". Подробности в переписке.",
                  "queue": queue, "campaign": campaign, "urgent": urgent,
                  "customer": customer.id}
        if days is not None:
            values["deadline"] = (ctx.now + timedelta(days=days)).isoformat()
        ticket = tickets.create(values, actor=ctx.agent, type="request")
        if n == 0:
            messages.post(ticket, "Здравствуйте! Проверим и вернёмся с ответом сегодня.",
                          actor=ctx.agent)
        path = {"in_progress": ["in_progress"], "waiting": ["in_progress", "waiting"],
                "resolved": ["in_progress", "resolved"], "rejected": ["rejected"]}.get(status, [])
        for step in path:
            tickets.transition(ticket, step, actor=ctx.agent)


@hookimpl
def hookdesk_register_reports():
    from plugins.helpdesk import reports

    return [reports.declaration()]
