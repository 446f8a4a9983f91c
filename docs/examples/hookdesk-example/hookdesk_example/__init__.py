"""Satisfaction ratings: the ticket's customer rates how it was handled (1-5 stars
and a comment); agents see the ratings and the average.

An example third-party Hookdesk plugin: a package of its own, found through the
entry point ``example = "hookdesk_example"`` in the group ``hookdesk.plugins``
and enabled with ``HOOKDESK_PLUGINS=helpdesk,example``. Every hook below is
described in ``docs/plugins.md``.
"""

from __future__ import annotations

import os

# Importing the models puts ``example_ratings`` in the shared metadata, so
# ``hookdesk db revision --plugin example`` can compare it with the migrations.
from hookdesk_example import (
    models,  # noqa: F401
    ratings,
)
from kernel import declarations as d
from kernel import hookimpl
from kernel.i18n import N_

PLUGIN = "example"
LOW_SCORE = 2


# -- declarations -------------------------------------------------------------


@hookimpl
def hookdesk_register_permissions():
    return [
        d.PermissionDecl(ratings.VIEW_PERMISSION, N_("See satisfaction ratings"),
                         N_("The list of ratings, the average, and the rating on ticket cards.")),
    ]


@hookimpl
def hookdesk_register_roles():
    # A role declared by several plugins gets the union of their permissions:
    # this adds ours to the kernel's "agent" role when the role is first created.
    return [d.RoleDecl("agent", N_("Agent"), [ratings.VIEW_PERMISSION])]


@hookimpl
def hookdesk_register_settings():
    return [
        d.SettingDecl("example.low_score", N_("Low rating"), LOW_SCORE, "number",
                      N_("Ratings at or below this score are flagged for a follow-up.")),
        d.SettingDecl("example.ask_on_close", N_("Ask for a rating when a ticket closes"), False,
                      "flag", N_("Posts a message with the rating link to the customer.")),
    ]


@hookimpl
def hookdesk_register_extensions():
    # Added to what the helpdesk plugin declares, whatever order plugins load in;
    # `hookdesk db upgrade` writes them once (an admin's later edits stay) and
    # skips them with a warning when the helpdesk plugin is not enabled.
    return [
        # A resolved request waits here for the customer's rating (ratings.rate
        # moves it on to "resolved").
        d.PipelineExtension("support", [
            d.StatusDecl(ratings.AWAITING, N_("Awaiting rating"), "closed_success", "#0d9488"),
        ], transitions=[("resolved", ratings.AWAITING), (ratings.AWAITING, "resolved"),
                        (ratings.AWAITING, "in_progress")]),
        # A field on the form of the helpdesk's "request" type only.
        d.TicketTypeExtension("request", [
            d.FieldDecl("example_no_survey", "flag", N_("Do not ask me to rate this ticket"),
                        help_text=N_("We will not send a satisfaction survey for this ticket."),
                        order=190, shown_to_customer=True, editable_by_customer=True),
        ]),
    ]


@hookimpl
def hookdesk_register_event_kinds():
    return [d.EventKindDecl(ratings.EVENT_KIND, N_("Customer rated the service"))]


@hookimpl
def hookdesk_register_migrations():
    return os.path.join(os.path.dirname(__file__), "migrations", "versions")


@hookimpl
def hookdesk_register_translations():
    # translations/ru/LC_MESSAGES/messages.po, compiled to messages.mo beside it.
    return os.path.join(os.path.dirname(__file__), "translations")


@hookimpl
def hookdesk_register_blueprints():
    from hookdesk_example.views import bp

    return [bp]


@hookimpl
def hookdesk_register_cli_commands():
    from hookdesk_example.cli import report_command

    return [report_command]


@hookimpl
def hookdesk_register_reports():
    def build(params=None):
        days = (params or {}).get("days")
        data = ratings.summary(int(days) if days else None)
        return {
            "columns": ["score", "ratings"],
            "rows": [[score, count] for score, count in sorted(data["by_score"].items())],
            "total": data["count"],
            "average": data["average"],
        }

    return [d.ReportDecl("example.satisfaction", N_("Customer satisfaction"), build,
                         permission=ratings.VIEW_PERMISSION)]


# -- triggers -------------------------------------------------------------------


def _low_score(params) -> int:
    from kernel.services import settings

    value = (params or {}).get("threshold")
    return int(value if value not in (None, "") else settings.get("example.low_score", LOW_SCORE))


def _say(locale: str | None, text: str, **variables) -> str:
    """``text`` in ``locale``: a message is stored once, in its reader's language."""
    from flask_babel import force_locale, gettext

    from kernel import runtime

    with force_locale(locale or runtime.config("HOOKDESK_DEFAULT_LOCALE", "en")):
        return gettext(text, **variables)


def _customer_locale(ticket) -> str | None:
    accounts = ticket.customer.accounts if ticket.customer is not None else []
    return next((account.locale for account in accounts if account.locale), None)


def rating_below(ticket, event, params) -> bool:
    """Condition: the ticket's rating is at or below the threshold."""
    rating = ratings.rating_of(ticket)
    return rating is not None and rating.score <= _low_score(params)


def flag_low_rating(ticket, event, params, context=None) -> None:
    """Action: put an internal note on a ticket whose rating is low, so a manager
    follows up. Does nothing for an unrated or well-rated ticket."""
    from kernel.services import messages

    rating = ratings.rating_of(ticket)
    if rating is None or rating.score > _low_score(params):
        return
    body = _say(None, N_("Low satisfaction rating: %(score)s/5."), score=rating.score)
    if rating.comment:
        body += " " + _say(None, N_("The customer wrote: “%(comment)s”."),
                           comment=rating.comment)
    body += " " + _say(None, N_("Please call the customer back."))
    messages.post(ticket, body, actor=None, internal=True, via="example")


def ask_for_rating(ticket, event, params, context=None) -> None:
    """Action: ask the customer (in the thread) to rate the ticket, unless they
    opted out with the ``example_no_survey`` field or already rated it. A resolved
    ticket moves on to "Awaiting rating", the status the plugin adds."""
    from kernel import runtime
    from kernel.services import messages

    if ticket.customer_id is None or ticket.value("example_no_survey"):
        return
    if ratings.rating_of(ticket) is not None or ticket.status.key == ratings.AWAITING:
        return  # rated already, or asked already
    # Rules may run outside a request (a job queue), so no url_for(): the base URL.
    base = str(runtime.config("HOOKDESK_BASE_URL", "")).rstrip("/")
    link = f"{base}/example/tickets/{ticket.id}/rate"
    body = _say(_customer_locale(ticket),
                N_("How did we do? Please rate this ticket: %(link)s"), link=link)
    messages.post(ticket, body, actor=None, via="example")
    ratings.move(ticket, "resolved", ratings.AWAITING)  # the status the example adds


THRESHOLD = d.FieldDecl("threshold", "number", N_("Highest score that counts as low"),
                        help_text=N_("Empty: the setting “Low rating”."))


@hookimpl
def hookdesk_register_trigger_conditions():
    return [d.TriggerConditionDecl("example.rating_below", N_("Rating is low"), rating_below,
                                   params=[THRESHOLD])]


@hookimpl
def hookdesk_register_trigger_actions():
    return [
        d.TriggerActionDecl("example.flag_low_rating", N_("Flag a low rating with a note"),
                            flag_low_rating, params=[THRESHOLD]),
        d.TriggerActionDecl("example.ask_for_rating", N_("Ask the customer for a rating"),
                            ask_for_rating),
    ]


# -- signals: what already happened ---------------------------------------------------


def on_status_changed(sender, app, ticket, from_status, to_status, **kwargs):
    """After a ticket closed (committed), ask its customer for a rating — when the
    deployment turned the setting ``example.ask_on_close`` on."""
    if not app.extensions["hookdesk"].is_enabled(PLUGIN) or not ticket.is_closed:
        return  # signals are process-wide: another app in this process may not enable us
    from kernel.services import settings

    if settings.get("example.ask_on_close"):
        ask_for_rating(ticket, None, {})


@hookimpl
def hookdesk_init_app(app):
    from kernel import signals

    # weak=False: blinker would otherwise drop a receiver nobody else references.
    # Connecting the same function again (another app in the process) is a no-op.
    signals.ticket_status_changed.connect(on_status_changed, weak=False)


# -- presentation -----------------------------------------------------------------


@hookimpl
def hookdesk_ticket_card_panels(ticket, viewer):
    from kernel import permissions

    can_rate = ratings.can_rate(viewer, ticket)
    if not can_rate and not permissions.has(viewer, ratings.VIEW_PERMISSION):
        return None
    rating = ratings.rating_of(ticket)
    form = {"score": str(rating.score) if rating else "", "comment": ""}
    if rating:
        form["comment"] = rating.comment
    return [d.Panel(
        key="example.rating",
        title=N_("Satisfaction"),
        template="example/panel.html",
        context={"ticket": ticket, "rating": rating, "can_rate": can_rate, "form": form,
                 "errors": {}, "scores": [5, 4, 3, 2, 1]},
        order=500,
        placement="side",
    )]


@hookimpl
def hookdesk_navigation_items(viewer):
    return [d.NavItem("example.ratings", N_("Ratings"), "/example/ratings", audience="agent",
                      permission=ratings.VIEW_PERMISSION, order=500)]


# -- demo data --------------------------------------------------------------------


@hookimpl
def hookdesk_load_demo_data(ctx):
    """One rated ticket of the demo customer (made here if the customer has none)."""
    from kernel.db import db
    from kernel.errors import ValidationFailed
    from kernel.models import Ticket
    from kernel.services import tickets

    customer = ctx.customer_user.customer
    if customer is None:
        return
    ticket = db.session.scalar(
        db.select(Ticket).where(Ticket.customer_id == customer.id).order_by(Ticket.id)
    )
    if ticket is None:
        try:
            ticket = tickets.create(
                {"subject": "Спасибо за быструю помощь", "customer": customer.id},
                actor=ctx.agent,
            )
        except ValidationFailed:  # no ticket type is enabled: nothing to rate
            return
    ratings.rate(ticket, 5, "Всё решили за один день, спасибо!", actor=ctx.customer_user,
                 via="demo")
