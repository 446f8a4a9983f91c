"""Everything the enabled plugins declared, merged once at start-up.

A key declared by two plugins is an error naming both: silent shadowing is how
CKAN and Datasette got order-dependent behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kernel import declarations as d
from kernel.errors import PluginError

if TYPE_CHECKING:  # pragma: no cover
    from kernel.plugins import PluginHost


@dataclass
class Entry:
    plugin: str
    decl: Any


@dataclass
class Registry:
    ticket_types: dict[str, Entry] = field(default_factory=dict)
    pipelines: dict[str, Entry] = field(default_factory=dict)
    fields: dict[str, Entry] = field(default_factory=dict)
    choice_lists: dict[str, Entry] = field(default_factory=dict)
    permissions: dict[str, Entry] = field(default_factory=dict)
    roles: dict[str, Entry] = field(default_factory=dict)
    settings: dict[str, Entry] = field(default_factory=dict)
    event_kinds: dict[str, Entry] = field(default_factory=dict)
    trigger_conditions: dict[str, Entry] = field(default_factory=dict)
    trigger_actions: dict[str, Entry] = field(default_factory=dict)
    notification_channels: dict[str, Entry] = field(default_factory=dict)
    reports: dict[str, Entry] = field(default_factory=dict)
    reference_entities: dict[str, Entry] = field(default_factory=dict)
    jobs: dict[str, Entry] = field(default_factory=dict)
    ticket_filters: dict[str, Entry] = field(default_factory=dict)
    migrations: dict[str, str] = field(default_factory=dict)
    # hookdesk_register_extensions: those whose target is declared, sorted by
    # (target, plugin); ``skipped`` says why each of the others was left out.
    extensions: list[Entry] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @classmethod
    def collect(cls, host: PluginHost) -> Registry:
        reg = cls()
        plan = [
            ("hookdesk_register_pipelines", reg.pipelines, d.PipelineDecl),
            ("hookdesk_register_ticket_types", reg.ticket_types, d.TicketTypeDecl),
            ("hookdesk_register_fields", reg.fields, d.FieldDecl),
            ("hookdesk_register_choice_lists", reg.choice_lists, d.ChoiceListDecl),
            ("hookdesk_register_permissions", reg.permissions, d.PermissionDecl),
            ("hookdesk_register_settings", reg.settings, d.SettingDecl),
            ("hookdesk_register_event_kinds", reg.event_kinds, d.EventKindDecl),
            ("hookdesk_register_trigger_conditions", reg.trigger_conditions,
             d.TriggerConditionDecl),
            ("hookdesk_register_trigger_actions", reg.trigger_actions, d.TriggerActionDecl),
            ("hookdesk_register_notification_channels", reg.notification_channels,
             d.NotificationChannelDecl),
            ("hookdesk_register_reports", reg.reports, d.ReportDecl),
            ("hookdesk_register_reference_entities", reg.reference_entities,
             d.ReferenceEntityDecl),
            ("hookdesk_register_jobs", reg.jobs, d.JobDecl),
            ("hookdesk_register_ticket_filters", reg.ticket_filters, d.TicketFilterDecl),
        ]
        for hook_name, target, expected in plan:
            for plugin, answer in host.collect(hook_name):
                for decl in answer:
                    if not isinstance(decl, expected):
                        raise PluginError(
                            f"Plugin {plugin!r}: {hook_name} returned {decl!r}, "
                            f"expected {expected.__name__}."
                        )
                    _put(target, decl.key, plugin, decl, hook_name)
        for plugin, answer in host.collect("hookdesk_register_roles"):
            for decl in answer:
                if decl.key in reg.roles:
                    prev = reg.roles[decl.key]
                    merged = sorted(set(prev.decl.permissions) | set(decl.permissions))
                    reg.roles[decl.key] = Entry(
                        prev.plugin, d.RoleDecl(decl.key, prev.decl.name, merged)
                    )
                else:
                    reg.roles[decl.key] = Entry(plugin, decl)
        for plugin, path in host.collect("hookdesk_register_migrations"):
            reg.migrations[plugin] = str(path)
        reg._check()
        from kernel.extensions import collect_extensions

        collect_extensions(reg, host)
        return reg

    def _check(self) -> None:
        for key, entry in self.ticket_types.items():
            if entry.decl.pipeline not in self.pipelines:
                raise PluginError(
                    f"Plugin {entry.plugin!r}: ticket type {key!r} uses pipeline "
                    f"{entry.decl.pipeline!r}, which no enabled plugin declares."
                )
        for key, entry in self.pipelines.items():
            status_keys = [s.key for s in entry.decl.statuses]
            if not status_keys:
                raise PluginError(f"Plugin {entry.plugin!r}: pipeline {key!r} has no statuses.")
            if len(set(status_keys)) != len(status_keys):
                raise PluginError(f"Plugin {entry.plugin!r}: pipeline {key!r} repeats a status.")
            for status in entry.decl.statuses:
                if status.group not in ("open", "closed_success", "closed_failure"):
                    raise PluginError(
                        f"Plugin {entry.plugin!r}: status {status.key!r} has unknown group "
                        f"{status.group!r}."
                    )
            if entry.decl.transitions != "any":
                for src, dst in entry.decl.transitions:
                    if src not in status_keys or dst not in status_keys:
                        raise PluginError(
                            f"Plugin {entry.plugin!r}: pipeline {key!r} has a transition "
                            f"{src!r} -> {dst!r} between unknown statuses."
                        )
        from kernel.models.fields import FIELD_TYPES

        for key, entry in self.fields.items():
            if entry.decl.type not in FIELD_TYPES:
                raise PluginError(
                    f"Plugin {entry.plugin!r}: field {key!r} has unknown type {entry.decl.type!r}."
                )

    def effective_pipeline(self, key: str) -> d.PipelineDecl:
        """Pipeline ``key`` as declared plus what extensions add (statuses after
        the pipeline's own, transitions spelt out)."""
        from kernel.extensions import effective_pipeline

        return effective_pipeline(self, key)

    def setting_default(self, key: str) -> Any:
        entry = self.settings.get(key)
        return entry.decl.default if entry else None


def _put(target: dict[str, Entry], key: str, plugin: str, decl: Any, hook_name: str) -> None:
    if key in target and target[key].plugin != plugin:
        raise PluginError(
            f"{hook_name}: key {key!r} is declared by both {target[key].plugin!r} and {plugin!r}."
        )
    if key in target:
        raise PluginError(f"Plugin {plugin!r}: {hook_name} declares {key!r} twice.")
    target[key] = Entry(plugin, decl)
