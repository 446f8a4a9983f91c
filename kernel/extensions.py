"""Extensions: what a plugin adds to another plugin's (or the kernel's) declarations.

``hookdesk_register_extensions`` returns ``PipelineExtension``,
``TicketTypeExtension`` and ``ChoiceListExtension`` (``kernel.declarations``).
At start-up they are checked and merged into the registry in the order of
(target, plugin name) — never in load order; ``hookdesk db upgrade`` writes
them (``apply``, called by ``kernel.sync``):

* an extension whose pipeline, ticket type or dictionary no enabled plugin
  declares is skipped, with its reason in ``Registry.skipped`` (logged by the
  sync, printed by ``hookdesk db upgrade``);
* what an extension adds is keyed ``<plugin>_<name>``; a key added twice, or
  already declared, stops start-up naming both plugins;
* added fields are declared fields of the extending plugin, restricted to the
  extended types, refreshed at each sync with the deployment's overrides kept;
* added statuses, transitions and items are written **once**: the setting
  ``kernel.extensions_applied`` remembers them, so one an admin removed, renamed
  or reordered stays as the admin left it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kernel import declarations as d
from kernel.errors import PluginError

if TYPE_CHECKING:  # pragma: no cover
    from kernel.plugins import PluginHost
    from kernel.registry import Registry

log = logging.getLogger("hookdesk.extensions")
APPLIED_KEY = "kernel.extensions_applied"
HOOK = "hookdesk_register_extensions"
_KINDS = (d.PipelineExtension, d.TicketTypeExtension, d.ChoiceListExtension)


def _target(ext: Any) -> tuple[str, str]:
    if isinstance(ext, d.PipelineExtension):
        return "pipeline", ext.pipeline
    if isinstance(ext, d.TicketTypeExtension):
        return "ticket type", ext.ticket_type
    return "choice list", ext.choice_list


def _namespaced(plugin: str, key: str, what: str) -> None:
    if not key.startswith(plugin + "_"):
        raise PluginError(
            f"Plugin {plugin!r}: {HOOK} adds {what} {key!r}; keys a plugin adds to another's "
            f"declarations start with {plugin + '_'!r}."
        )


def collect_extensions(reg: Registry, host: PluginHost) -> None:
    """Check every extension and merge it into ``reg`` (see the module's doc)."""
    from kernel.registry import Entry

    found: list[Entry] = []
    for plugin, answer in host.collect(HOOK):
        for ext in answer:
            if not isinstance(ext, _KINDS):
                raise PluginError(
                    f"Plugin {plugin!r}: {HOOK} returned {ext!r}, expected PipelineExtension, "
                    f"TicketTypeExtension or ChoiceListExtension."
                )
            found.append(Entry(plugin, ext))
    found.sort(key=lambda e: (type(e.decl).__name__, _target(e.decl)[1], e.plugin))
    targets = {"pipeline": reg.pipelines, "ticket type": reg.ticket_types,
               "choice list": reg.choice_lists}
    for entry in found:
        kind, key = _target(entry.decl)
        if key not in targets[kind]:
            reg.skipped.append(
                f"Plugin {entry.plugin!r}: skipped its extension of {kind} {key!r}, which no "
                f"enabled plugin declares."
            )
            continue
        reg.extensions.append(entry)
    _check_pipelines(reg)
    _check_choice_lists(reg)
    _merge_fields(reg)


def _check_pipelines(reg: Registry) -> None:
    for key, base in reg.pipelines.items():
        owners = {s.key: base.plugin for s in base.decl.statuses}
        mine = [e for e in reg.extensions if isinstance(e.decl, d.PipelineExtension)
                and e.decl.pipeline == key]
        for entry in mine:
            for status in entry.decl.statuses:
                _namespaced(entry.plugin, status.key, "status")
                if status.key in owners:
                    raise PluginError(
                        f"{HOOK}: status {status.key!r} of pipeline {key!r} is added by both "
                        f"{owners[status.key]!r} and {entry.plugin!r}."
                    )
                if status.group not in ("open", "closed_success", "closed_failure"):
                    raise PluginError(
                        f"Plugin {entry.plugin!r}: status {status.key!r} has unknown group "
                        f"{status.group!r}."
                    )
                owners[status.key] = entry.plugin
        for entry in mine:
            for src, dst in entry.decl.transitions:
                if src not in owners or dst not in owners or src == dst:
                    raise PluginError(
                        f"Plugin {entry.plugin!r}: {HOOK} adds a transition {src!r} -> {dst!r} "
                        f"to pipeline {key!r} between unknown statuses."
                    )


def _check_choice_lists(reg: Registry) -> None:
    for key, base in reg.choice_lists.items():
        owners = {i.value: base.plugin for i in base.decl.items}
        for entry in reg.extensions:
            if isinstance(entry.decl, d.ChoiceListExtension) and entry.decl.choice_list == key:
                for item in entry.decl.items:
                    _namespaced(entry.plugin, item.value, "item")
                    if item.value in owners:
                        raise PluginError(
                            f"{HOOK}: item {item.value!r} of choice list {key!r} is added by "
                            f"both {owners[item.value]!r} and {entry.plugin!r}."
                        )
                    owners[item.value] = entry.plugin


def _merge_fields(reg: Registry) -> None:
    """Added fields become declared fields of their plugin, on the extended types."""
    from kernel.models.fields import FIELD_TYPES
    from kernel.registry import Entry

    added: dict[str, Entry] = {}
    for entry in reg.extensions:
        if not isinstance(entry.decl, d.TicketTypeExtension):
            continue
        for decl in entry.decl.fields:
            _namespaced(entry.plugin, decl.key, "field")
            if decl.type not in FIELD_TYPES:
                raise PluginError(
                    f"Plugin {entry.plugin!r}: field {decl.key!r} has unknown type {decl.type!r}."
                )
            owner = reg.fields.get(decl.key) or added.get(decl.key)
            if owner is not None and owner.plugin != entry.plugin:
                raise PluginError(
                    f"{HOOK}: field {decl.key!r} is declared by both {owner.plugin!r} and "
                    f"{entry.plugin!r}."
                )
            if decl.key in reg.fields:
                raise PluginError(
                    f"Plugin {entry.plugin!r}: field {decl.key!r} is both declared and added "
                    f"by {HOOK}."
                )
            previous = added.get(decl.key)
            types = [entry.decl.ticket_type]
            if previous is not None:
                if replace(previous.decl, ticket_types=()) != replace(decl, ticket_types=()):
                    raise PluginError(
                        f"Plugin {entry.plugin!r}: field {decl.key!r} is added twice, "
                        f"differently."
                    )
                types = sorted({*previous.decl.ticket_types, entry.decl.ticket_type})
            added[decl.key] = Entry(entry.plugin, replace(decl, ticket_types=tuple(types)))
    reg.fields.update(added)


def effective_pipeline(reg: Registry, key: str) -> d.PipelineDecl:
    base = reg.pipelines[key].decl
    statuses = list(base.statuses)
    keys = [s.key for s in statuses]
    transitions = (
        [(a, b) for a in keys for b in keys if a != b]
        if base.transitions == "any" else list(base.transitions)
    )
    for entry in reg.extensions:
        if isinstance(entry.decl, d.PipelineExtension) and entry.decl.pipeline == key:
            statuses.extend(entry.decl.statuses)
            transitions.extend(t for t in entry.decl.transitions if t not in transitions)
    return d.PipelineDecl(base.key, base.name, statuses, transitions)


def apply(reg: Registry) -> dict[str, int]:
    """Write what the extensions add that was never written before (inside the
    sync's unit of work). Returns the counts of statuses, transitions and items."""
    from kernel.db import db
    from kernel.models import ChoiceItem, ChoiceList, Pipeline, Setting, Status, Transition

    for message in reg.skipped:
        log.warning(message)
    row = db.session.get(Setting, APPLIED_KEY)
    applied = set(row.value or []) if row is not None else set()
    done = set(applied)
    counts = {"statuses": 0, "transitions": 0, "items": 0}
    pipelines = [e.decl for e in reg.extensions if isinstance(e.decl, d.PipelineExtension)]
    # Every added status first, then the transitions: one plugin's transition may
    # lead to a status another plugin adds.
    for ext in pipelines:
        pipe = db.session.scalar(db.select(Pipeline).where(Pipeline.key == ext.pipeline))
        for sdecl in ext.statuses if pipe is not None else ():
            mark = f"pipeline:{ext.pipeline}:status:{sdecl.key}"
            if mark in done:
                continue
            done.add(mark)
            if pipe.status(sdecl.key) is None:
                order = max((s.order for s in pipe.statuses), default=-1) + 1
                pipe.statuses.append(Status(key=sdecl.key, name=sdecl.name, group=sdecl.group,
                                            order=order, color=sdecl.color))
                counts["statuses"] += 1
    db.session.flush()
    for ext in pipelines:
        pipe = db.session.scalar(db.select(Pipeline).where(Pipeline.key == ext.pipeline))
        for src, dst in ext.transitions if pipe is not None else ():
            mark = f"pipeline:{ext.pipeline}:transition:{src}>{dst}"
            a, b = pipe.status(src), pipe.status(dst)
            if mark in done or a is None or b is None:
                continue
            done.add(mark)
            if not pipe.allows(a, b):
                pipe.transitions.append(Transition(pipeline_id=pipe.id, from_status_id=a.id,
                                                   to_status_id=b.id))
                counts["transitions"] += 1
    for entry in reg.extensions:
        ext = entry.decl
        if isinstance(ext, d.ChoiceListExtension):
            clist = db.session.scalar(
                db.select(ChoiceList).where(ChoiceList.key == ext.choice_list))
            if clist is None:
                continue
            for item in ext.items:
                mark = f"choice_list:{ext.choice_list}:item:{item.value}"
                if mark in done:
                    continue
                done.add(mark)
                if any(i.value == item.value for i in clist.items):
                    continue
                order = max((i.order for i in clist.items), default=-1) + 1
                clist.items.append(ChoiceItem(value=item.value, label=item.label,
                                              group=item.group, parent=item.parent,
                                              visible=item.visible, order=order,
                                              data=dict(item.data)))
                counts["items"] += 1
    if done != applied:
        if row is None:
            db.session.add(Setting(key=APPLIED_KEY, value=sorted(done)))
        else:
            row.value = sorted(done)
    db.session.flush()
    return counts
