"""Parts of the ticket creation form that plugins own (``hookdesk_ticket_form_sections``).

The portal's and the agents' creation pages use the same three steps: collect
the sections for the type and the viewer, ``parse`` every one of them from the
request (all problems are gathered, so the person sees them at once), and after
``tickets.create`` ``save`` each payload inside the same unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import render_template, request
from markupsafe import Markup

from kernel import declarations as d
from kernel import runtime
from kernel.errors import PluginError, ValidationFailed
from kernel.models import Ticket, TicketType, User
from web import i18n


@dataclass
class Sections:
    """The sections of one form, their payloads and their errors."""

    items: list[d.FormSection]
    payloads: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(self.errors.values())

    def parse(self) -> None:
        """Read every section from the current request."""
        self.errors = {}
        for section in self.items:
            try:
                self.payloads[section.key] = section.parse(request.form, request.files)
            except ValidationFailed as exc:
                self.take(exc)

    def save(self, ticket: Ticket, actor: User | None) -> None:
        """Store every section's payload; call inside the ticket's unit of work."""
        for section in self.items:
            section.save(ticket, self.payloads.get(section.key), actor)

    def take(self, exc: ValidationFailed) -> dict[str, Any]:
        """Keep the errors addressed to a section (``"<key>.<sub-key>"``); return the rest."""
        rest: dict[str, Any] = {}
        keys = {s.key for s in self.items}
        longest_first = sorted(keys, key=len, reverse=True)
        for path, messages in i18n.translate_errors(exc.errors).items():
            owner = next((k for k in longest_first if path == k or path.startswith(k + ".")),
                         None)
            if owner is not None:
                tail = path[len(owner) + 1:] or "_"
                self.errors.setdefault(owner, {}).setdefault(tail, []).extend(messages)
            else:
                rest[path] = exc.errors[path]
        return rest

    def html(self, ticket_type: TicketType, viewer: User) -> list[Markup]:
        return [
            Markup(render_template(
                s.template, section=s, errors=self.errors.get(s.key, {}),
                ticket_type=ticket_type, viewer=viewer, **dict(s.context)))
            for s in self.items
        ]


def for_form(ticket_type: TicketType, viewer: User) -> Sections:
    found: list[d.FormSection] = []
    owners: dict[str, str] = {}
    for plugin, answer in runtime.host().collect(
            "hookdesk_ticket_form_sections", ticket_type=ticket_type, viewer=viewer):
        for section in answer:
            if not isinstance(section, d.FormSection):
                raise TypeError(f"Plugin {plugin!r}: hookdesk_ticket_form_sections returned "
                                f"{section!r}, expected FormSection.")
            if section.key in owners:
                raise PluginError(f"hookdesk_ticket_form_sections: key {section.key!r} is "
                                  f"declared by both {owners[section.key]!r} and {plugin!r}.")
            owners[section.key] = plugin
            found.append(section)
    found.sort(key=lambda s: (s.order, s.key))
    return Sections(found)
