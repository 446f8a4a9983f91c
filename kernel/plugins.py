"""The plugin host: discovery through entry points, loading, and the merged
registry of everything the enabled plugins declare.

Plugins are found only through the entry-point group ``hookdesk.plugins`` — the
built-in ones too. A deployment enables them by name; enabling is a restart,
never a runtime toggle.
"""

from __future__ import annotations

import importlib.metadata as md
import inspect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pluggy

from kernel import hookspecs
from kernel.errors import PluginError

ENTRY_POINT_GROUP = "hookdesk.plugins"
BUILTIN_DISTRIBUTION = "hookdesk"
KERNEL_PLUGIN = "kernel"


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    distribution: str
    value: str
    builtin: bool
    description: str = ""


def discover() -> dict[str, PluginInfo]:
    """Every installed plugin, by entry-point name."""
    found: dict[str, PluginInfo] = {}
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        dist_name = dist.metadata["Name"] if dist is not None else "?"
        version = dist.version if dist is not None else "?"
        if ep.name in found and found[ep.name].distribution != dist_name:
            raise PluginError(
                f"Plugin name {ep.name!r} is declared by two distributions: "
                f"{found[ep.name].distribution} and {dist_name}."
            )
        builtin = _normalize(dist_name) == BUILTIN_DISTRIBUTION
        summary = "" if builtin or dist is None else (dist.metadata["Summary"] or "")
        found[ep.name] = PluginInfo(
            name=ep.name,
            version=version,
            distribution=dist_name,
            value=ep.value,
            builtin=builtin,
            description=_module_doc(ep.module) or summary.strip(),
        )
    return found


def _module_doc(module: str) -> str:
    """The first paragraph of a module's docstring, read from its source without
    running it: a disabled plugin's code never runs (``find_spec`` imports only
    its parent packages)."""
    import ast
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
        origin = spec.origin if spec is not None else None
        if not origin or not origin.endswith(".py"):
            return ""
        with open(origin, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), origin)
    except (ImportError, OSError, SyntaxError, ValueError):
        return ""
    return _first_paragraph(ast.get_docstring(tree) or "")


def _first_paragraph(doc: str) -> str:
    return " ".join(doc.strip().split("\n\n")[0].split())


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-")


def builtin_names() -> list[str]:
    return sorted(name for name, info in discover().items() if info.builtin)


def parse_enabled(value: str | Iterable[str] | None) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; None (not configured) means every built-in."""
    if value is None:
        return None
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    else:
        items = [str(part).strip() for part in value]
    return [item for item in items if item]


class PluginHost:
    """A pluggy manager with the kernel's specs and the enabled plugins loaded."""

    def __init__(self, enabled: Iterable[str] | None = None, extra: dict[str, Any] | None = None):
        """``enabled``: plugin names (None: every built-in). ``extra``: plugin
        objects registered by name without an entry point — for tests only."""
        self.pm = pluggy.PluginManager("hookdesk")
        self.pm.add_hookspecs(hookspecs)
        available = discover()
        names = list(enabled) if enabled is not None else builtin_names()
        unknown = [n for n in names if n not in available and n not in (extra or {})]
        if unknown:
            raise PluginError(
                f"Unknown plugin(s) in HOOKDESK_PLUGINS: {', '.join(unknown)}. "
                f"Installed: {', '.join(sorted(available)) or 'none'}."
            )
        from kernel import builtin, event_work, mail, outbox

        self.pm.register(builtin, name=KERNEL_PLUGIN)
        self.pm.register(outbox, name=f"{KERNEL_PLUGIN}.outbox")
        self.pm.register(event_work, name=f"{KERNEL_PLUGIN}.event_work")
        self.pm.register(mail, name=f"{KERNEL_PLUGIN}.mail")
        self.infos: dict[str, PluginInfo] = {}
        for name in dict.fromkeys(names):  # keep order, drop repeats
            if extra and name in extra:
                obj = extra[name]
                info = PluginInfo(name, "0", "(test)", repr(obj), False)
            else:
                info = available[name]
                obj = self._load(name)
            described = _describe(obj) or info.description
            self.infos[name] = PluginInfo(**{**info.__dict__, "description": described})
            try:
                self.pm.register(obj, name=name)
            except pluggy.PluginValidationError as exc:
                raise PluginError(f"Plugin {name!r} does not match the hook specs: {exc}") from exc
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                f"Plugin {self.pm.get_name(exc.plugin)!r} implements a hook that does not "
                f"exist: {exc}"
            ) from exc
        from kernel.registry import Registry

        self.registry = Registry.collect(self)

    @staticmethod
    def _load(name: str) -> Any:
        (ep,) = [ep for ep in md.entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        try:
            return ep.load()
        except Exception as exc:
            raise PluginError(
                f"Plugin {name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}"
            ) from exc

    @property
    def hook(self):
        return self.pm.hook

    @property
    def enabled(self) -> list[str]:
        """Enabled plugin names (the kernel's own hooks not included)."""
        return list(self.infos)

    def is_enabled(self, name: str) -> bool:
        return name in self.infos

    def collect(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call one hook and return ``(plugin_name, answer)`` for each non-None
        answer, sorted by plugin name so the result never depends on load order."""
        caller = getattr(self.pm.hook, hook_name)
        answers = []
        for impl in caller.get_hookimpls():
            args = {arg: kwargs[arg] for arg in impl.argnames}
            result = impl.function(**args)
            if result is not None:
                answers.append((impl.plugin_name, result))
        answers.sort(key=lambda pair: pair[0])
        return answers

    def call_all(self, hook_name: str, **kwargs: Any) -> None:
        """Call every implementation (for hooks without a result)."""
        for _name, _answer in self.collect(hook_name, **kwargs):
            pass


def _describe(obj: Any) -> str:
    """A plugin's description: the first paragraph of its object's docstring."""
    return _first_paragraph(inspect.getdoc(obj) or "")
