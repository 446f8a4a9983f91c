"""What plugins return from ``hookdesk_register_*`` hooks.

Plugins declare; the kernel registers (Datasette ``register_routes``, CKAN
``IBlueprint``). Every declaration is a frozen dataclass so the kernel can merge
answers from several plugins without one plugin mutating another's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StatusDecl:
    key: str
    name: str
    group: str = "open"  # open | closed_success | closed_failure
    color: str = ""


@dataclass(frozen=True)
class PipelineDecl:
    """Ordered statuses and the allowed (from, to) transitions between their keys.

    ``transitions`` may be ``"any"`` to allow every move between distinct statuses.
    """

    key: str
    name: str
    statuses: Sequence[StatusDecl]
    transitions: Sequence[tuple[str, str]] | str = "any"


@dataclass(frozen=True)
class TicketTypeDecl:
    key: str
    name: str
    pipeline: str
    initial_status: str | None = None  # default: the pipeline's first status
    number_template: str = "{seq}"
    customer_can_create: bool = True
    order: int = 0
    default: bool = False  # proposed as the deployment's default type


@dataclass(frozen=True)
class FieldDecl:
    """A field definition (K4) a plugin contributes. ``ticket_types`` empty: all types."""

    key: str
    type: str
    label: str
    required: bool = False
    help_text: str = ""
    order: int = 100
    shown_in_list: bool = False
    shown_on_card: bool = True
    shown_to_customer: bool = False
    editable_by_customer: bool = False
    ticket_types: Sequence[str] = ()
    choice_list: str | None = None
    choices: Sequence[tuple[str, str]] = ()
    reference: str | None = None
    max_length: int | None = None
    storage: str = "values"


@dataclass(frozen=True)
class ChoiceDecl:
    value: str
    label: str
    group: str = ""
    parent: str | None = None
    visible: bool = True
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChoiceListDecl:
    """A dictionary with its default items; an admin may edit it later."""

    key: str
    name: str
    items: Sequence[ChoiceDecl] = ()


@dataclass(frozen=True)
class PipelineExtension:
    """Statuses and transitions a plugin adds to a pipeline another plugin (or the
    kernel) declares (``hookdesk_register_extensions``).

    ``statuses`` are keyed ``<plugin>_<name>`` and go after the pipeline's own;
    ``transitions`` are (from, to) pairs between any statuses of the pipeline,
    its own or added. Each status and transition is written once: one an admin
    removed is not restored."""

    pipeline: str
    statuses: Sequence[StatusDecl] = ()
    transitions: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class TicketTypeExtension:
    """Fields a plugin adds to the form of a ticket type another plugin declares.

    Each ``FieldDecl`` is keyed ``<plugin>_<name>`` and is synced like a declared
    field (the deployment's overrides kept), shown on the extended types only
    (its own ``ticket_types`` are ignored)."""

    ticket_type: str
    fields: Sequence[FieldDecl] = ()


@dataclass(frozen=True)
class ChoiceListExtension:
    """Items a plugin adds to a dictionary another plugin declares. Values are
    ``<plugin>_<name>``; each item is added once, after the list's own, so one an
    admin deleted or renamed stays as the admin left it."""

    choice_list: str
    items: Sequence[ChoiceDecl] = ()


Extension = PipelineExtension | TicketTypeExtension | ChoiceListExtension


@dataclass(frozen=True)
class PermissionDecl:
    key: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class RoleDecl:
    """A role a plugin proposes; created once by sync, then owned by the admin."""

    key: str
    name: str
    permissions: Sequence[str] = ()


@dataclass(frozen=True)
class PluginDescription:
    """A plugin's name and one or two sentences on what it does, for people:
    both marked with ``N_`` so they are read in the viewer's language."""

    title: str
    summary: str = ""


@dataclass(frozen=True)
class SettingDecl:
    """A live option: ``key`` is namespaced ``<plugin>.<name>``."""

    key: str
    label: str
    default: Any = None
    type: str = "text"  # text | number | flag | choice
    help_text: str = ""
    choices: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class Panel:
    """A block on the ticket card. ``template`` is rendered with ``context``."""

    key: str
    title: str
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    order: int = 100
    placement: str = "main"  # main | side
    # Who may see it: "staff" (agents only) or "customer" (the ticket's customer too).
    # The kernel's visibility policy drops a staff panel from a customer's card.
    audience: str = "customer"


@dataclass(frozen=True)
class FormSection:
    """A part of the ticket creation form that a plugin owns (W4: the defects).

    ``template`` is rendered inside the form with ``section``, ``errors`` (this
    section's messages by sub-key), ``ticket_type``, ``viewer`` and ``context``.
    When the form is sent, ``parse(form, files)`` (werkzeug MultiDicts) returns the
    section's payload or raises ``ValidationFailed`` with keys ``"<key>.<sub-key>"``;
    after ``tickets.create`` succeeded, ``save(ticket, payload, actor)`` runs in the
    same unit of work, so a refusal there rolls the ticket back too."""

    key: str
    template: str
    parse: Callable[[Any, Any], Any]
    save: Callable[[Any, Any, Any], None]
    context: Mapping[str, Any] = field(default_factory=dict)
    order: int = 100


@dataclass(frozen=True)
class TicketFilterDecl:
    """A filter of the agents' ticket table and the tickets API (W5: by defect category).

    ``choices()`` lists ``(value, label)`` pairs for the table's select;
    ``clause(value)`` returns a SQLAlchemy condition on ``Ticket`` (usually
    ``Ticket.id.in_(select(...))`` over the plugin's own table) for a value from
    that list. ``ticket_types``: the types it applies to (empty: all).
    ``audience``: "staff" (the default: agents only) or "customer" (customers may
    filter their own tickets by it too — only if they see what it filters by)."""

    key: str
    label: str
    choices: Callable[[], Sequence[tuple[str, str]]]
    clause: Callable[[str], Any]
    ticket_types: Sequence[str] = ()
    order: int = 100
    audience: str = "staff"


@dataclass(frozen=True)
class Button:
    """An action button on the ticket card; ``url`` receives a POST unless ``method``."""

    key: str
    label: str
    url: str
    method: str = "post"
    icon: str = ""
    order: int = 100


@dataclass(frozen=True)
class PhoneAction:
    """An icon next to a phone number (call, SMS) — T3."""

    key: str
    label: str
    url: str
    icon: str = ""


@dataclass(frozen=True)
class PageSnippet:
    """Markup at the end of every page of agents or customers (a script, a pop-up).

    ``template`` is rendered with ``viewer`` and the items of ``context``;
    ``permission``: only viewers holding it get the snippet."""

    key: str
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    audience: str = "agent"  # agent | customer
    permission: str | None = None


@dataclass(frozen=True)
class TriggerConditionDecl:
    """A condition rules can use. ``evaluate(ticket, event, params) -> bool``."""

    key: str
    label: str
    evaluate: Callable[..., bool]
    params: Sequence[FieldDecl] = ()


@dataclass(frozen=True)
class TriggerActionDecl:
    """An action rules can run. ``run(ticket, event, params, context) -> None``.

    ``side_effect`` actions (email, SMS, webhook) must go through the outbox.
    ``available()``, when given, says whether the action may be offered and run now
    (e.g. an SMS gateway is configured); rules cannot be saved with an unavailable one."""

    key: str
    label: str
    run: Callable[..., None]
    params: Sequence[FieldDecl] = ()
    side_effect: bool = False
    available: Callable[[], bool] | None = None


@dataclass(frozen=True)
class TriggerRuleDecl:
    """A rule a plugin ships (the orders plugin's stage letter): written once by the
    triggers plugin, then the admin's to edit, switch off or delete.

    ``events``, ``conditions`` and ``actions`` are in the triggers plugin's rule
    format (docs/triggers.md); ``name`` is the rule's unique name."""

    name: str
    description: str = ""
    events: Sequence[Any] = ()
    conditions: Mapping[str, Any] = field(default_factory=dict)
    actions: Sequence[Mapping[str, Any]] = ()
    active: bool = True
    position: int = 100


@dataclass(frozen=True)
class EventKindDecl:
    """An event kind a plugin records on tickets, so rules can react to it.

    ``audience`` says who may read such events in a ticket's history (card, API,
    webhooks to customers' systems, letters): "staff" (agents only, the default)
    or "customer" (the ticket's customer too). The kernel's visibility policy
    enforces it at every door."""

    key: str
    label: str
    audience: str = "staff"


@dataclass(frozen=True)
class NotificationChannelDecl:
    """A way to reach a person: ``send(recipient, subject, body, context)``.
    ``available()``, when given, says whether the channel can send now (configured).
    ``address_of(user)``, when given, is the employee's address on this channel
    (None: they have none); only such channels (and e-mail) are offered for
    employees' notifications (A5)."""

    key: str
    label: str
    send: Callable[..., None]
    available: Callable[[], bool] | None = None
    address_of: Callable[[Any], str | None] | None = None


@dataclass(frozen=True)
class ReportColumn:
    """A column of a report's table. ``kind``: "text" (shown as given), "label"
    (a label declared with ``N_`` or written by an admin: shown in the viewer's
    language), "count" (an integer) or "share" (a fraction 0..1, shown as %)."""

    key: str
    label: str
    kind: str = "text"


@dataclass(frozen=True)
class ReportFilter:
    """A filter of a report: one value picked from ``choices()`` (``[(value,
    label)]``, labels shown in the viewer's language). The chosen value reaches
    ``build`` as ``params["filters"][key]``; a value not among the choices is
    refused, naming the filter."""

    key: str
    label: str
    choices: Callable[[], Sequence[tuple[str, str]]]


@dataclass(frozen=True)
class ReportChart:
    """How the report page draws its bar chart: one bar per row, labelled by the
    ``label`` columns (joined with " · "), one segment per column of ``values``
    (stacked), coloured by ``colors`` (CSS colours, in the order of ``values``)."""

    label: Sequence[str]
    values: Sequence[str]
    colors: Sequence[str] = ()


@dataclass(frozen=True)
class ReportDecl:
    """A report: ``build(params) -> {"columns": [...], "rows": [...]}``.

    ``params`` holds ``from``/``to`` (dates, inclusive, in the deployment's time
    zone), ``filters`` (``{key: value}``, only filters the viewer chose) and
    ``actor``. ``rows`` are lists in the order of ``columns`` (column keys).
    Optional, so older declarations keep working: ``description``, ``columns``
    (labels and kinds of the table's columns; without them the keys are shown),
    ``filters``, ``chart`` (without it the page shows the table only) and
    ``period`` (False: the report ignores the dates and the page hides them).
    ``permission`` guards the page, the CSV and the API endpoint."""

    key: str
    title: str
    build: Callable[..., Mapping[str, Any]]
    permission: str = "reports.view"
    description: str = ""
    columns: Sequence[ReportColumn] = ()
    filters: Sequence[ReportFilter] = ()
    chart: ReportChart | None = None
    period: bool = True


@dataclass(frozen=True)
class Classification:
    """A plugin's proposal for a new ticket's category (or other values).

    The kernel applies the proposal with the highest ``confidence``; ties go to
    the plugin name that sorts first, so the outcome never depends on load order."""

    values: Mapping[str, Any]
    confidence: int = 0
    reason: str = ""
    plugin: str = ""


@dataclass(frozen=True)
class ReferenceEntityDecl:
    """An entity a ``reference`` field may point to.

    ``lookup(id) -> object | None`` loads it; ``label(obj) -> str`` shows it."""

    key: str
    label: str
    lookup: Callable[[int], Any]
    display: Callable[[Any], str] = str


@dataclass(frozen=True)
class NavItem:
    """An entry a plugin adds to the navigation of agents or customers."""

    key: str
    label: str
    url: str
    audience: str = "agent"  # agent | customer
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class JobDecl:
    """A background job: ``run(**kwargs)`` runs in a worker inside an app context.

    ``retries`` with ``retry_delay`` seconds, doubled after each failure
    (exponential backoff). ``periodic``: a crontab ``"m h dom mon dow"`` to run it
    on a schedule instead of on demand (its ``run`` then takes no arguments)."""

    key: str
    run: Callable[..., None]
    retries: int = 5
    retry_delay: int = 10
    periodic: str | None = None
