"""Every extension point of Hookdesk: the hook specifications.

Hooks are the kernel *asking* plugins for contributions and decisions; they
return values. (What already happened is announced by the signals in
``kernel.signals``.) Rules that hold for every hook here:

* Results never depend on the order plugins were loaded in. Each spec says how
  answers from several plugins combine: all collected, the strongest wins, any
  veto wins. No spec is ``firstresult``.
* A hook is never renamed and never gains a required argument. A replacement is
  added beside it and the old one is deprecated with ``warn_on_impl``.
* Implement with ``from kernel import hookimpl``; an implementation may accept
  any subset of a spec's arguments, by name. ``check_pending()`` runs at start-up,
  so a misspelt hook name stops the application with its name in the message.

All hooks exist since 0.1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from kernel import declarations as d
    from kernel.demo import DemoContext
    from kernel.models import (
        Customer,
        FieldDefinition,
        Status,
        Ticket,
        TicketEvent,
        TicketType,
        User,
    )

hookspec = pluggy.HookspecMarker("hookdesk")


# ---------------------------------------------------------------------------
# Declarations: what a plugin brings. Called at start-up and by ``hookdesk db
# upgrade`` (which writes ticket types, pipelines, fields, choice lists and roles
# into the database: inserted when missing, never overwriting an admin's edits).
# Answers from all plugins are collected; one key declared by two plugins stops
# start-up with both plugin names in the message.
# ---------------------------------------------------------------------------


@hookspec
def hookdesk_describe_plugin() -> d.PluginDescription:
    """How this plugin is named and described to people (X2), in both languages.

    Called: when the admin screens list plugins and group their settings.
    Receives: nothing. Returns: one ``PluginDescription`` whose ``title`` and
    ``summary`` are marked with ``N_`` and translated in the plugin's catalogue.
    Combine: each plugin describes itself; a plugin that does not implement it is
    shown by its entry-point name and the first paragraph of its docstring.
    Since 0.2.
    """


@hookspec
def hookdesk_register_ticket_types() -> list[d.TicketTypeDecl]:
    """Ticket types this plugin brings (K2).

    Called: at start-up and at sync. Receives: nothing.
    Returns: a list of ``TicketTypeDecl``; each names its pipeline by key.
    Combine: all collected; a duplicate key is a start-up error.
    """


@hookspec
def hookdesk_register_pipelines() -> list[d.PipelineDecl]:
    """Pipelines (ordered statuses and allowed transitions) this plugin brings (K3).

    Called: at start-up and at sync. Receives: nothing.
    Returns: a list of ``PipelineDecl``.
    Combine: all collected; a duplicate key is a start-up error.
    """


@hookspec
def hookdesk_register_fields() -> list[d.FieldDecl]:
    """Field definitions for ticket forms (K4).

    Called: at start-up and at sync. Receives: nothing.
    Returns: a list of ``FieldDecl``. The deployment may later override label,
    order, required, help text and visibility; those overrides survive re-sync.
    Combine: all collected; a duplicate key is a start-up error.
    """


@hookspec
def hookdesk_register_choice_lists() -> list[d.ChoiceListDecl]:
    """Dictionaries (categories, outcomes, queues) with their default items.

    Called: at sync. Receives: nothing. Returns: a list of ``ChoiceListDecl``.
    Combine: all collected; items an admin deleted or renamed are not restored
    (only missing lists are created, and missing items added once).
    """


@hookspec
def hookdesk_register_extensions() -> list[d.Extension]:
    """Additions to what another plugin (or the kernel) declared: statuses and
    transitions of its pipeline, fields of its ticket type, items of its dictionary.

    Called: at start-up and at sync. Receives: nothing.
    Returns: a list of ``PipelineExtension``, ``TicketTypeExtension`` and
    ``ChoiceListExtension``; what they add is keyed ``<plugin>_<name>``.
    Combine: all collected and applied in the order of (target, plugin name),
    so the result never depends on load order; a key added twice (or already declared) is a
    start-up error naming both plugins. An extension of a pipeline, type or list
    no enabled plugin declares is skipped with a warning (logged, and shown by
    ``hookdesk db upgrade``). ``hookdesk db upgrade`` writes each added status,
    transition and item once, so what an admin removed or renamed stays so.
    """


@hookspec
def hookdesk_register_permissions() -> list[d.PermissionDecl]:
    """Permissions this plugin checks, e.g. ``customers.view`` (K10).

    Called: at start-up. Receives: nothing. Returns: a list of ``PermissionDecl``.
    Combine: all collected; a duplicate key is a start-up error.
    """


@hookspec
def hookdesk_register_roles() -> list[d.RoleDecl]:
    """Roles this plugin proposes (created once at sync, then the admin's).

    Called: at sync. Receives: nothing. Returns: a list of ``RoleDecl``.
    Combine: all collected; for a key declared twice, the permission sets are united.
    """


@hookspec
def hookdesk_register_settings() -> list[d.SettingDecl]:
    """Live options of this plugin, keyed ``<plugin>.<name>``, with defaults.

    Called: at start-up. Receives: nothing. Returns: a list of ``SettingDecl``.
    Combine: all collected; a duplicate key is a start-up error.
    """


@hookspec
def hookdesk_register_migrations() -> str | None:
    """The folder of this plugin's Alembic revisions (its own branch).

    Called: by every ``hookdesk db`` command. Receives: nothing.
    Returns: an absolute path, or None for a plugin without tables. The branch
    label of the plugin's first revision must be the plugin's name.
    Combine: all collected.
    """


@hookspec
def hookdesk_register_translations() -> str | None:
    """The folder of this plugin's message catalogues (X2: Russian and English).

    Called: once while the app is built. Receives: nothing.
    Returns: an absolute path laid out as ``<folder>/<locale>/LC_MESSAGES/messages.mo``
    (compiled with ``pybabel compile``), or None for a plugin without its own words.
    Mark labels in declarations with ``kernel.i18n.N_`` and wrap template text in
    ``_()``. Combine: all folders are searched; a word the application's own
    catalogue translates keeps that translation, so translate only your own words.
    """


@hookspec
def hookdesk_register_blueprints() -> list[Any]:
    """Flask blueprints (pages, API endpoints) with their templates (K12).

    Called: once while the app is built. Receives: nothing.
    Returns: a list of ``flask.Blueprint``; name them after the plugin and keep
    templates under ``templates/<plugin>/``. Combine: all registered.
    """


@hookspec
def hookdesk_register_cli_commands() -> list[Any]:
    """Commands for the ``hookdesk`` command line.

    Called: once while the app is built. Receives: nothing.
    Returns: a list of ``click.Command`` (groups welcome), added to ``hookdesk``.
    Combine: all added; a name taken twice is a start-up error.
    """


@hookspec
def hookdesk_register_trigger_conditions() -> list[d.TriggerConditionDecl]:
    """Conditions rules may use (R2).

    Called: when the triggers plugin builds its catalogue. Receives: nothing.
    Returns: a list of ``TriggerConditionDecl``. Combine: all collected.
    """


@hookspec
def hookdesk_register_trigger_actions() -> list[d.TriggerActionDecl]:
    """Actions rules may run (R2).

    Called: when the triggers plugin builds its catalogue. Receives: nothing.
    Returns: a list of ``TriggerActionDecl``. Combine: all collected.
    """


@hookspec
def hookdesk_register_trigger_rules() -> list[d.TriggerRuleDecl]:
    """Rules this plugin ships ready to use (O8: the stage letter of an order).

    Called: by the triggers plugin in ``hookdesk_startup``, after the database is
    migrated and synced. Receives: nothing. Returns: a list of ``TriggerRuleDecl``.
    Combine: all collected; each rule is written once, when no rule of its name
    exists, and remembered (in ``triggers_meta``): a shipped rule an
    admin changed, switched off or deleted stays as the admin left it. A rule
    whose conditions or actions are unknown is skipped with a warning.
    """


@hookspec
def hookdesk_register_event_kinds() -> list[d.EventKindDecl]:
    """Event kinds this plugin records on tickets, so rules can react to them.

    Called: at start-up. Receives: nothing. Returns: a list of ``EventKindDecl``.
    Combine: all collected with the kernel's own kinds.
    """


@hookspec
def hookdesk_register_notification_channels() -> list[d.NotificationChannelDecl]:
    """Ways to reach a person (email, SMS, messenger).

    Called: at start-up. Receives: nothing.
    Returns: a list of ``NotificationChannelDecl``. Combine: all collected.
    """


@hookspec
def hookdesk_register_reports() -> list[d.ReportDecl]:
    """Reports, e.g. campaign effectiveness (A7).

    Called: at start-up. Receives: nothing. Returns: a list of ``ReportDecl``.
    Combine: all collected; a key declared twice is an error naming both plugins.
    Each report gets a page ``/reports/<key>`` (period, filters, table, chart),
    a CSV and ``GET /api/v1/reports/<key>``, all guarded by its ``permission``.
    ``build(params)`` gets ``from``/``to`` (dates), ``filters`` and ``actor`` and
    returns ``{"columns": [keys], "rows": [[...]], ...}`` from aggregate SQL.
    Optional, so older declarations keep working: ``description``, ``columns``
    (``ReportColumn``), ``filters`` (``ReportFilter``), ``chart`` (``ReportChart``)
    and ``period``.
    """


@hookspec
def hookdesk_register_reference_entities() -> list[d.ReferenceEntityDecl]:
    """Entities a ``reference`` field can point to (an apartment, an order).

    Called: at start-up. Receives: nothing.
    Returns: a list of ``ReferenceEntityDecl``. Combine: all collected.
    """


# ---------------------------------------------------------------------------
# Life cycle
# ---------------------------------------------------------------------------


@hookspec
def hookdesk_init_app(app: Flask) -> None:
    """Let a plugin set up what it needs on the application.

    Called: once, after the kernel's extensions and all blueprints are set up.
    Receives: the Flask ``app``. Returns: nothing. Combine: every plugin is called.
    """


@hookspec
def hookdesk_startup(app: Flask) -> None:
    """Run what declarations cannot say, once the database is migrated and synced.

    Called: once per process for each application, in an app context: before
    it handles its first request (``hookdesk run`` and every gunicorn worker),
    when ``hookdesk worker`` starts, at the end of ``hookdesk db upgrade`` (after
    the declarations are synced) and by the test fixture ``app``. Never on
    import and never by ``create_app``. Several processes may run it at the
    same time: keep it idempotent (read before you write). Receives: the Flask
    ``app``. Returns: nothing. Combine: every plugin is called, in the order of
    plugin names; an exception is raised to the caller, and the next request
    tries again.
    """


@hookspec
def hookdesk_load_demo_data(ctx: DemoContext) -> None:
    """Create this plugin's demo data (``hookdesk demo``).

    Called: once per plugin per database: a plugin whose demo data was loaded is
    not called again. Receives: ``ctx`` with the demo users and customers the
    kernel made. Runs inside one transaction per plugin. Returns: nothing.
    """


# ---------------------------------------------------------------------------
# Decisions about tickets. Called inside the service layer's transaction.
# ---------------------------------------------------------------------------


@hookspec
def hookdesk_classify_ticket(
    ticket_type: TicketType, values: dict[str, Any], customer: Customer | None, actor: User | None
) -> d.Classification | None:
    """Propose values (e.g. a category) for a ticket being created.

    Called: by ``tickets.create`` before validation. Receives: the type, the
    values given so far (do not change them), the customer and the actor.
    Returns: a ``Classification`` or None.
    Combine: the proposal with the highest ``confidence`` wins (ties: the plugin
    name that sorts first); its values fill only the keys the caller left empty.
    """


@hookspec
def hookdesk_validate_ticket(
    ticket_type: TicketType,
    values: dict[str, Any],
    ticket: Ticket | None,
    actor: User | None,
) -> list[tuple[str, str]] | None:
    """Refuse bad ticket data with the plugin's own rules (W3: warranty expired).

    Called: by ``tickets.create`` (``ticket`` is None) and ``tickets.update``,
    after the field schema accepted ``values``. Receives: the type, the
    validated values (for an update only the changed ones), the ticket, the actor.
    Returns: a list of ``(field_key, message)`` problems, or None.
    Combine: all problems collected; any problem refuses the whole change.
    """


@hookspec
def hookdesk_validate_transition(
    ticket: Ticket, from_status: Status, to_status: Status, actor: User | None
) -> str | None:
    """Veto a status change that the pipeline allows (e.g. "defects still open").

    Called: by ``tickets.transition`` after the pipeline check.
    Returns: a message saying why not, or None. Combine: any message refuses.
    """


@hookspec
def hookdesk_field_choices(
    field: FieldDefinition,
    ticket_type: TicketType | None,
    actor: User | None,
    customer: Customer | None,
    ticket: Ticket | None,
    purpose: str,
) -> list[tuple[str, str]] | None:
    """Offer or filter the choices of a choice or reference field (K12, W3).

    Called: when a form is built and when a value is validated.
    Receives: the field definition, the ticket type, the actor, the customer the
    ticket is for, the ticket (None while creating) and ``purpose``: ``"offer"``
    when a form or the API lists the choices, ``"check"`` when a value is
    validated. A plugin may accept more on ``"check"`` than it offers, to refuse
    those values in ``hookdesk_validate_ticket`` with its own message (W3).
    Returns: ``[(value, label), ...]`` allowed for this context, or None for "no
    opinion". Combine: the allowed set is the intersection of the base choices
    (the field's list) and every non-None answer; for a ``reference`` field with no
    base list, the union of answers is the base.
    """


@hookspec
def hookdesk_can_view_ticket(ticket: Ticket, user: User) -> bool | None:
    """Hide a ticket from an agent the kernel would let see it.

    Called: on every access check after the kernel's own rules (a customer sees
    only their own tickets; agents need ``tickets.view``).
    Returns: False to hide, None for no opinion. Combine: any False hides.
    """


@hookspec
def hookdesk_numbering_variables(ticket_type: TicketType, ticket: Ticket) -> dict[str, Any] | None:
    """Extra variables for numbering templates, e.g. ``{house}``.

    Called: when a new ticket is numbered. Returns: a dict or None.
    Combine: merged; one variable from two plugins is an error naming both.
    """


@hookspec
def hookdesk_event_recorded(event: TicketEvent, ticket: Ticket) -> None:
    """React to a history event *inside* its transaction (triggers, outbox).

    Called: after each event row is flushed, before commit. Implementations may
    call the services (they join the transaction) and write outbox rows; raising
    aborts the whole change. For work after commit, connect to a signal instead,
    or implement ``hookdesk_event_committed`` (letters, webhooks).
    Combine: every plugin is called.
    """


@hookspec
def hookdesk_event_committed(event: TicketEvent, ticket: Ticket, state: dict[str, Any]) -> None:
    """Do the work an event calls for *after* its change committed, in the worker:
    render letters, build webhook bodies (``kernel.event_work``).

    Called: by the job worker, once the outbox row ``event-<id>`` the change wrote
    is delivered — at least once per event: again after a failure (with backoff)
    or a worker's crash, so write only outbox rows with keys derived from the
    event (``outbox.put`` ignores a repeated key). Runs in one unit of work for
    all plugins: raising undoes every plugin's rows and the row is retried.
    Receives: the event, the ticket as it is now, and ``state``: the ticket's
    ``number``, ``type_id``, ``status_id``, ``subject``, ``customer_id``,
    ``assignee_id`` and ``version`` as they were at the event.
    Returns: nothing. Combine: every plugin is called.
    """


# ---------------------------------------------------------------------------
# Presentation: what the card and the navigation show.
# ---------------------------------------------------------------------------


@hookspec
def hookdesk_ticket_card_panels(ticket: Ticket, viewer: User) -> list[d.Panel] | None:
    """Blocks on the ticket card (defects with the plan, calls, documents).

    Called: when the card is rendered for ``viewer``. Returns: a list of ``Panel``.
    Combine: all collected, sorted by (order, key).
    """


@hookspec
def hookdesk_portal_home_panels(viewer: User) -> list[d.Panel] | None:
    """Blocks on the customer's home page in the portal (O1: the order request form).

    Called: when the signed-in customer ``viewer`` opens the portal's home page
    (``/portal/``). Returns: a list of ``Panel``, each rendered with ``viewer``
    and its ``context`` above the list of tickets, or None.
    Combine: all collected, sorted by (order, key).
    """


@hookspec
def hookdesk_ticket_form_sections(
    ticket_type: TicketType, viewer: User
) -> list[d.FormSection] | None:
    """Parts of the ticket creation form that a plugin owns (a list of defects).

    Called: when the portal's or the agents' creation form for ``ticket_type`` is
    shown or sent by ``viewer``. Returns: a list of ``FormSection`` (see there how
    its ``parse`` and ``save`` take part in the one transaction), or None.
    Combine: all collected, shown sorted by (order, key) after the fields.
    """


@hookspec
def hookdesk_ticket_form_prefill(ticket_type: TicketType, viewer: User) -> dict[str, Any] | None:
    """What a new ticket's form starts with, from what the account already knows
    (the customer's full name and phone), so nobody retypes it.

    Called: when the portal's creation form for ``ticket_type`` is first shown to
    ``viewer`` (not when it is sent back). Returns: ``{field key: value}``, or
    None. Keys that are not fields of the form are ignored.
    Combine: merged; a key two plugins answer differently is left empty (no
    guess that depends on plugin order). Since 0.1.
    """


@hookspec
def hookdesk_ticket_card_buttons(ticket: Ticket, viewer: User) -> list[d.Button] | None:
    """Action buttons on the ticket card (convert, send SMS).

    Called: when the card is rendered. Returns: a list of ``Button``.
    Combine: all collected, sorted by (order, key).
    """


@hookspec
def hookdesk_phone_actions(
    phone: str, viewer: User, ticket: Ticket | None
) -> list[d.PhoneAction] | None:
    """Icons next to a phone number (T3): call, send SMS.

    Called: wherever a phone is shown to an agent. Receives: the E.164 number.
    Returns: a list of ``PhoneAction`` — only when the plugin is configured.
    Combine: all collected, sorted by key.
    """


@hookspec
def hookdesk_page_snippets(viewer: User) -> list[d.PageSnippet] | None:
    """Markup added to the end of every page a signed-in person sees: a script of
    the plugin's own static files, a pop-up's container (an incoming call).

    Called: on each page render, for the signed-in ``viewer``. Returns: a list of
    ``PageSnippet``; the kernel renders those whose ``audience`` is the viewer's kind
    (agent or customer) and whose ``permission`` the viewer holds, before the
    page's own scripts. Pages allow scripts only from the site's own files (no
    inline ``<script>``). Combine: all collected, sorted by key.
    """


@hookspec
def hookdesk_navigation_items(viewer: User) -> list[d.NavItem] | None:
    """Menu entries for agents or customers.

    Called: on each page render. Returns: a list of ``NavItem``; the kernel drops
    those whose permission the viewer lacks. Combine: all collected, sorted.
    """


@hookspec
def hookdesk_register_ticket_filters() -> list[d.TicketFilterDecl]:
    """Filters of the ticket list over a plugin's own data (W5: defect category).

    Called: at start-up. Receives: nothing. Returns: a list of ``TicketFilterDecl``;
    the agents' table shows each as a select, and ``TicketFilter.extra`` (the
    API's ``filter=<key>:<value>``) applies it. Combine: all collected; a duplicate key is
    a start-up error.
    """


# ---------------------------------------------------------------------------
# Background jobs
# ---------------------------------------------------------------------------


@hookspec
def hookdesk_register_jobs() -> list[d.JobDecl]:
    """Background jobs this plugin runs on the job queue (deliveries, periodic scans).

    Called: once while the app is built. Receives: nothing.
    Returns: a list of ``JobDecl``; enqueue with ``kernel.jobs.enqueue(key, **kwargs)``,
    which waits for the current unit of work to commit.
    Combine: all collected; a duplicate key is a start-up error.
    """


@hookspec
def hookdesk_blob_references() -> list[str] | None:
    """Files a plugin keeps in the kernel's content-addressed store (floor plans).

    Called: by ``hookdesk attachments gc`` before it deletes stored files that
    nothing refers to. Receives: nothing. Returns: the sha256 digests this plugin
    still refers to (besides ticket attachments, which the kernel knows), or None.
    Combine: all collected; a file any plugin names is kept.
    """


# ---------------------------------------------------------------------------
# REST API
# ---------------------------------------------------------------------------


@hookspec
def hookdesk_register_api_blueprints() -> list[Any]:
    """REST endpoints under ``/api/v1`` that appear in the same OpenAPI document.

    Called: once while the app is built. Receives: nothing.
    Returns: a list of ``flask_smorest.Blueprint``; each ``url_prefix`` is placed
    under ``/api/v1`` (name them after the plugin, e.g. ``/warranty/houses``).
    Use ``web.api.auth.require_token`` and ``current_user`` for authentication.
    Combine: all registered.
    """
