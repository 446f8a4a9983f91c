"""The change log (K3) in words: what each recorded action and argument is called,
and values as a person reads them (not JSON with escaped letters)."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup

from kernel.i18n import N_
from web import i18n

CODE = re.compile(r"[a-z0-9_.:-]+")

ACTIONS = {
    "fields.create_choice_list": N_("List created"),
    "fields.create_custom": N_("Custom field created"),
    "fields.deactivate": N_("Field removed from the forms"),
    "fields.move_choice": N_("List item moved"),
    "fields.override": N_("Field changed"),
    "fields.reorder_choices": N_("List items reordered"),
    "fields.reset_overrides": N_("Field back to its defaults"),
    "fields.save_choice": N_("List item saved"),
    "settings.set": N_("Setting changed"),
    "users.end_sessions": N_("Sessions ended"),
    "users.save_role": N_("Role saved"),
    "users.set_active": N_("User activated or deactivated"),
    "users.update_agent": N_("Employee changed"),
    "workflow.add_status": N_("Status added"),
    "workflow.create_pipeline": N_("Pipeline created"),
    "workflow.create_type": N_("Ticket type created"),
    "workflow.move_status": N_("Status moved"),
    "workflow.reorder_statuses": N_("Statuses reordered"),
    "workflow.set_number_template": N_("Numbering changed"),
    "workflow.set_transition": N_("Transition allowed or forbidden"),
    "workflow.update_status": N_("Status changed"),
    "workflow.update_type": N_("Ticket type changed"),
}

KEYS = {
    "active": N_("Active"), "allowed": N_("Allowed"), "changes": N_("Changes"),
    "choices": N_("Choices"), "color": N_("Colour"), "customer_can_create":
    N_("Customers can create it in the portal"), "data": N_("Data"),
    "editable_by_customer": N_("The customer fills it in"), "email": N_("E-mail"),
    "group": N_("Group"), "help_text": N_("Help text"), "initial_status": N_("Initial status"),
    "is_active": N_("Active"), "label": N_("Label"), "name": N_("Name"),
    "number_template": N_("Numbering template"), "order": N_("Order"),
    "parent": N_("Parent"), "permissions": N_("Permissions"), "pipeline": N_("Pipeline"),
    "required": N_("Required"), "roles": N_("Roles"), "shown_in_list":
    N_("Shown in the ticket list"), "shown_on_card": N_("Shown on the ticket card"),
    "shown_to_customer": N_("Shown to the customer"), "status_key": N_("Status"),
    "statuses": N_("Statuses"), "ticket_types": N_("Ticket types"), "type": N_("Type"),
    "value": N_("Value"), "visible": N_("Shown in lists"), "user": N_("User"),
    "from_key": N_("From"), "to_key": N_("To"), "template": N_("Numbering template"),
    "direction": N_("Direction"),
}


def action_name(action: str) -> Markup:
    """A kernel action in words; a plugin's as its title and the action's code."""
    known = ACTIONS.get(action)
    if known:
        return Markup.escape(i18n.gettext_raw(known))
    plugin, _dot, rest = action.partition(".")
    from web.admin import plugin_title

    return Markup("{} · <code>{}</code>").format(plugin_title(plugin), rest or action)


def key_name(key: str) -> str:
    known = KEYS.get(key)
    return i18n.gettext_raw(known) if known else key


def value_text(value: Any) -> Markup | str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return Markup(", ").join(value_text(v) for v in value) or "—"
    if isinstance(value, dict):
        return Markup("; ").join(Markup("{}: {}").format(key_name(str(k)), value_text(v))
                                 for k, v in value.items()) or "—"
    text = str(value)
    if CODE.fullmatch(text):
        return Markup("<code>{}</code>").format(text)  # a key or a code, not a word
    return i18n.translate_label(text)
