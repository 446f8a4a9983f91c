"""SMS (T2, T3; issue 13 items 5-7): send an SMS from the ticket card with
templates and a live count of length and parts, or from a rule (``sms.send``);
every send goes through the outbox (after commit, retried, never twice) to a
gateway adapter — the development gateway, SMS.ru's HTTP API or any SMPP SMSC —
and delivery reports move each message's status. Every message is on the
ticket's timeline (staff only). The SMS icon beside phone numbers and the
trigger actions are offered only while a gateway is configured.

Everything goes through the kernel's hooks and services; see docs/sms.md."""

from __future__ import annotations

import os

from kernel import declarations as d
from kernel import hookimpl
from kernel.i18n import N_
from plugins.sms import models  # noqa: F401 - the tables must be known to Alembic

GATEWAY_CHOICES = [("", N_("None (SMS off)")), ("dev", N_("Development: keep messages here")),
                   ("smsru", N_("SMS.ru (HTTP API)")), ("smpp", N_("SMPP (any SMSC)"))]


@hookimpl
def hookdesk_describe_plugin():
    return d.PluginDescription(
        N_("SMS"),
        N_("Sends SMS from the ticket card and from rules, with templates, through SMS.ru, "
           "any SMPP centre or the development gateway."))


@hookimpl
def hookdesk_register_migrations():
    return os.path.join(os.path.dirname(__file__), "migrations", "versions")


@hookimpl
def hookdesk_register_translations():
    return os.path.join(os.path.dirname(__file__), "translations")


@hookimpl
def hookdesk_register_permissions():
    return [d.PermissionDecl("sms.send", N_("Send SMS to customers")),
            d.PermissionDecl("sms.manage", N_("Configure SMS: gateway, templates, opt-outs"))]


@hookimpl
def hookdesk_register_roles():
    return [d.RoleDecl("agent", N_("Agent"), ["sms.send"])]


@hookimpl
def hookdesk_register_settings():
    s = d.SettingDecl
    return [
        s("sms.gateway", N_("SMS gateway"), "", "choice",
          N_("Where SMS go. Until one is chosen and filled in, nothing offers to send SMS."),
          choices=GATEWAY_CHOICES[1:]),
        s("sms.sender", N_("Sender name"), "",
          help_text=N_("The sender name or number the gateway approved (up to 11 letters).")),
        s("sms.rate_limit", N_("SMS an hour to one number"), 5, "number",
          N_("More are refused until the hour passes; 0: no limit.")),
        s("sms.max_parts", N_("Most parts of one SMS"), 6, "number",
          N_("A longer text is refused.")),
        s("sms.smsru_api_id", N_("SMS.ru api_id"), ""),
        s("sms.smsru_url", N_("SMS.ru address"), "https://sms.ru"),
        s("sms.smsru_test", N_("SMS.ru test mode (nothing is really sent)"), False, "flag"),
        s("sms.callback_token", N_("Callback secret"), "",
          help_text=N_("Part of the delivery report address given to the provider.")),
        s("sms.smpp_host", N_("SMPP host"), ""),
        s("sms.smpp_port", N_("SMPP port"), 2775, "number"),
        s("sms.smpp_system_id", N_("SMPP system_id"), ""),
        s("sms.smpp_password", N_("SMPP password"), ""),
        s("sms.smpp_system_type", N_("SMPP system_type"), ""),
    ]


@hookimpl
def hookdesk_register_event_kinds():
    from plugins.sms import service

    return [d.EventKindDecl(service.EVENT_SENT, N_("SMS sent"), audience="staff"),
            d.EventKindDecl(service.EVENT_DELIVERED, N_("SMS delivered"), audience="staff"),
            d.EventKindDecl(service.EVENT_UNDELIVERED, N_("SMS not delivered"),
                            audience="staff")]


@hookimpl
def hookdesk_register_notification_channels():
    from plugins.sms import service

    return [d.NotificationChannelDecl(service.CHANNEL, N_("SMS"), service.deliver,
                                      available=service.configured)]


@hookimpl
def hookdesk_register_trigger_actions():
    from plugins.sms import service

    return [d.TriggerActionDecl(
        "sms.send", N_("Send an SMS (template or text)"), service.run_action, side_effect=True,
        available=service.configured, params=[
            d.FieldDecl("to", "choice", N_("To"), required=True,
                        choices=[("customer", N_("The customer's phone")),
                                 ("phone", N_("A number"))]),
            d.FieldDecl("phone", "phone", N_("Number when to is phone")),
            d.FieldDecl("template", "text", N_("Template name (in the customer's language)")),
            d.FieldDecl("text", "long_text", N_("Text when no template; placeholders like "
                                                "{{ticket.number}}")),
        ])]


@hookimpl
def hookdesk_register_jobs():
    from plugins.sms import service

    return [d.JobDecl("sms.poll", lambda: service.poll_smsru(), retries=0,
                      periodic="*/5 * * * *")]


@hookimpl
def hookdesk_ticket_card_panels(ticket, viewer):
    from plugins.sms import views

    return views.card_panels(ticket, viewer)


@hookimpl
def hookdesk_ticket_card_buttons(ticket, viewer):
    from plugins.sms import views

    return views.card_buttons(ticket, viewer)


@hookimpl
def hookdesk_phone_actions(phone, viewer, ticket):
    from plugins.sms import views

    return views.phone_actions(phone, viewer, ticket)


@hookimpl
def hookdesk_register_blueprints():
    from plugins.sms.admin import bp as admin_bp
    from plugins.sms.views import bp

    return [bp, admin_bp]


@hookimpl
def hookdesk_register_cli_commands():
    from plugins.sms.cli import group

    return [group]


@hookimpl
def hookdesk_load_demo_data(ctx):
    from plugins.sms.demo import load

    load(ctx)
