"""Write what the enabled plugins declare into the database.

Run by ``hookdesk db upgrade`` after the migrations (and by the test fixtures).
Missing rows are inserted; rows an admin has edited are kept: for declared
fields only the plugin's defaults are refreshed, the deployment's ``overrides``
stay. New statuses of an existing pipeline are added with the transitions
that involve them; transitions an admin removed are not restored. What plugins
add to each other's declarations (``kernel.extensions``) is written once.
"""

from __future__ import annotations

from kernel import extensions, numbering, runtime
from kernel.db import db
from kernel.models import (
    ChoiceItem,
    ChoiceList,
    FieldDefinition,
    Pipeline,
    Role,
    Setting,
    Status,
    TicketType,
    Transition,
)
from kernel.plugins import PluginHost
from kernel.services.uow import unit_of_work

FIELD_COLUMNS = (
    "type", "label", "help_text", "required", "order", "shown_in_list", "shown_on_card",
    "shown_to_customer", "editable_by_customer", "choice_list", "reference", "max_length",
    "storage",
)


def sync(host: PluginHost) -> dict[str, int]:
    """Insert or refresh declarations; returns counts of what was created."""
    reg = host.registry
    created = {"pipelines": 0, "statuses": 0, "ticket_types": 0, "fields": 0,
               "choice_lists": 0, "roles": 0}
    with unit_of_work():
        for key, entry in sorted(reg.pipelines.items()):
            created["statuses"] += _sync_pipeline(key, entry.plugin, entry.decl, created)
        db.session.flush()
        for key, entry in sorted(reg.ticket_types.items()):
            decl = entry.decl
            if db.session.scalar(db.select(TicketType).where(TicketType.key == key)):
                continue
            # Plugin variables are named by the deployment, as for an admin's template.
            numbering.validate(
                decl.number_template, tuple(runtime.config("HOOKDESK_NUMBERING_VARIABLES", ()))
            )
            pipe = db.session.scalar(db.select(Pipeline).where(Pipeline.key == decl.pipeline))
            initial = pipe.status(decl.initial_status) if decl.initial_status else None
            db.session.add(TicketType(
                key=key, name=decl.name, pipeline=pipe,
                initial_status=initial or pipe.statuses[0],
                number_template=decl.number_template, plugin=entry.plugin,
                customer_can_create=decl.customer_can_create, order=decl.order,
            ))
            created["ticket_types"] += 1
        for key, entry in sorted(reg.fields.items()):
            decl = entry.decl
            row = db.session.scalar(db.select(FieldDefinition).where(FieldDefinition.key == key))
            if row is None:
                row = FieldDefinition(key=key, overrides={}, is_active=True)
                db.session.add(row)
                created["fields"] += 1
            for column in FIELD_COLUMNS:
                setattr(row, column, getattr(decl, column))
            row.choices = [list(c) for c in decl.choices]
            row.ticket_types = list(decl.ticket_types)
            row.plugin = entry.plugin
        for key, entry in sorted(reg.choice_lists.items()):
            if db.session.scalar(db.select(ChoiceList).where(ChoiceList.key == key)):
                continue
            clist = ChoiceList(key=key, name=entry.decl.name, plugin=entry.plugin)
            clist.items = [
                ChoiceItem(value=i.value, label=i.label, group=i.group, parent=i.parent,
                           visible=i.visible, order=n, data=dict(i.data))
                for n, i in enumerate(entry.decl.items)
            ]
            db.session.add(clist)
            created["choice_lists"] += 1
        for key, entry in sorted(reg.roles.items()):
            if db.session.scalar(db.select(Role).where(Role.key == key)):
                continue
            db.session.add(Role(key=key, name=entry.decl.name,
                                permissions=list(entry.decl.permissions), is_system=True))
            created["roles"] += 1
        db.session.flush()
        # What plugins add to others' declarations (kernel.extensions), written once.
        added = extensions.apply(reg)
        created["statuses"] += added["statuses"]
        created["transitions"] = added["transitions"]
        created["choice items"] = added["items"]
        if db.session.get(Setting, "kernel.default_ticket_type") is None:
            default = _default_type(host)
            if default:
                db.session.add(Setting(key="kernel.default_ticket_type", value=default))
    return created


def _sync_pipeline(key, plugin, decl, created) -> int:
    pipe = db.session.scalar(db.select(Pipeline).where(Pipeline.key == key))
    fresh = pipe is None
    if fresh:
        pipe = Pipeline(key=key, name=decl.name, plugin=plugin)
        db.session.add(pipe)
        created["pipelines"] += 1
    existing = {s.key: s for s in pipe.statuses}
    new_keys = []
    for order, sdecl in enumerate(decl.statuses):
        if sdecl.key not in existing:
            status = Status(key=sdecl.key, name=sdecl.name, group=sdecl.group, order=order,
                            color=sdecl.color)
            pipe.statuses.append(status)
            existing[sdecl.key] = status
            new_keys.append(sdecl.key)
    db.session.flush()
    keys = [s.key for s in decl.statuses]
    pairs = (
        [(a, b) for a in keys for b in keys if a != b]
        if decl.transitions == "any" else list(decl.transitions)
    )
    for src, dst in pairs:
        if fresh or src in new_keys or dst in new_keys:
            db.session.add(Transition(pipeline_id=pipe.id, from_status_id=existing[src].id,
                                      to_status_id=existing[dst].id))
    return len(new_keys)


def _default_type(host: PluginHost) -> str | None:
    types = host.registry.ticket_types
    preferred = sorted(k for k, e in types.items() if e.decl.default)
    if preferred:
        return preferred[0]
    return sorted(types)[0] if types else None
