"""The plugin author's guide keeps up with the code (Datasette's test_docs.py):
every hook spec has a subsection in docs/plugins.md headed with its exact
argument list and carrying its docstring, and every signal is documented with
its keyword arguments."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pluggy
import pytest

from kernel import hookspecs, signals

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
HEADING = re.compile(r"^(#{2,6})\s+(.*?)\s*$")
HOOK_HEADING = re.compile(r"^`?(hookdesk_\w+)\(([^)]*)\)`?$")


def hook_specs() -> dict[str, tuple[list[str], str]]:
    """``{hook name: (argument names in spec order, docstring)}`` as pluggy sees them."""
    pm = pluggy.PluginManager("hookdesk")
    pm.add_hookspecs(hookspecs)
    found = {}
    for name in dir(pm.hook):
        if not name.startswith("hookdesk_"):
            continue
        spec = getattr(pm.hook, name).spec
        assert spec is not None, name
        argnames = list(spec.argnames)
        assert argnames == list(inspect.signature(spec.function).parameters), name
        found[name] = (argnames, inspect.getdoc(spec.function) or "")
    return found


def signal_names() -> dict[str, object]:
    """``{python name: signal}`` for every signal in ``kernel.signals.ALL``."""
    by_id = {id(value): name for name, value in vars(signals).items() if not name.startswith("_")}
    return {by_id[id(sig)]: sig for sig in signals.ALL}


def signal_kwargs(sig) -> list[str]:
    """The keyword arguments a signal's doc lists after ``kwargs:``."""
    _, _, tail = sig.__doc__.partition("kwargs:")
    tail = re.sub(r"\([^)]*\)", "", tail)
    return [part.strip(" .") for part in tail.split(",") if part.strip(" .")]


def sections(text: str) -> dict[str, str]:
    """``{heading text: body}`` for every Markdown heading, body up to the next heading."""
    result: dict[str, str] = {}
    current = None
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        match = None if in_code else HEADING.match(line)
        if match:
            current = match.group(2)
            assert current not in result, f"heading {current!r} appears twice in {DOC.name}"
            result[current] = ""
        elif current is not None:
            result[current] += line + "\n"
    return result


def normalize(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def doc_sections() -> dict[str, str]:
    return sections(DOC.read_text(encoding="utf-8"))


def test_every_hook_is_documented_with_its_exact_arguments(doc_sections):
    documented = {}
    for heading in doc_sections:
        match = HOOK_HEADING.match(heading)
        if match:
            args = [a.strip() for a in match.group(2).split(",") if a.strip()]
            documented[match.group(1)] = args
    specs = hook_specs()
    expected = {name: args for name, (args, _doc) in specs.items()}
    missing = sorted(set(expected) - set(documented))
    stale = sorted(set(documented) - set(expected))
    wrong = sorted(n for n in set(expected) & set(documented) if expected[n] != documented[n])
    assert not missing, f"hooks without a subsection in docs/plugins.md: {missing}"
    assert not stale, f"docs/plugins.md documents hooks that do not exist: {stale}"
    assert not wrong, "wrong argument lists: " + ", ".join(
        f"{n}({', '.join(expected[n])})" for n in wrong)


@pytest.mark.parametrize("hook", sorted(hook_specs()))
def test_hook_section_carries_the_docstring(doc_sections, hook):
    args, doc = hook_specs()[hook]
    heading = f"`{hook}({', '.join(args)})`"
    assert heading in doc_sections, f"expected the heading ### {heading}"
    assert normalize(doc) in normalize(doc_sections[heading]), (
        f"the docstring of {hook} changed; copy it into docs/plugins.md"
    )


def test_hook_reference_is_in_spec_order(doc_sections):
    """Readers compare the reference with kernel/hookspecs.py side by side."""
    source_order = [name for name, _obj in sorted(
        ((n, o) for n, o in vars(hookspecs).items() if n in hook_specs()),
        key=lambda pair: inspect.getsourcelines(pair[1])[1])]
    doc_order = [HOOK_HEADING.match(h).group(1) for h in doc_sections if HOOK_HEADING.match(h)]
    assert doc_order == source_order


def test_every_signal_is_documented_with_its_kwargs(doc_sections):
    for name, sig in signal_names().items():
        heading = f"`{name}`"
        assert heading in doc_sections, f"signal {name} has no ### {heading} in docs/plugins.md"
        body = doc_sections[heading]
        assert f"`{sig.name}`" in body, f"{name}: mention the signal's name {sig.name!r}"
        kwargs = signal_kwargs(sig)
        assert kwargs, f"kernel.signals.{name} lists no kwargs in its doc"
        for kwarg in ["app", *kwargs]:
            assert f"`{kwarg}`" in body, f"{name}: kwarg {kwarg!r} is not documented"


def test_guide_covers_the_plugin_authors_path(doc_sections):
    text = DOC.read_text(encoding="utf-8")
    for needle in ("HOOKDESK_PLUGINS", "hookdesk.plugins", "from kernel import hookimpl",
                   "hookdesk db revision --plugin", "hookdesk db upgrade", "unit_of_work",
                   "@pytest.mark.plugins", "make_ticket", "customer_user", "runner",
                   "templates/<plugin>/", "kernel/signals.py"):
        assert needle in text, f"docs/plugins.md does not mention {needle!r}"
    assert "Hook reference" in doc_sections and "Signals reference" in doc_sections
