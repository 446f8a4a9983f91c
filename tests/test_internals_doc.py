"""docs/internals.md keeps up with the code (as tests/test_docs.py does for the
hooks): every public service function is listed with its exact signature, every
dataclass a service returns with its fields, every documented model attribute,
template macro and URL endpoint exists, and every agent and portal page, every
public macro, every column of a documented model and every field type is listed.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

import kernel.models
import kernel.services
from kernel import permissions
from kernel.models.fields import FIELD_TYPES

DOC = Path(__file__).resolve().parent.parent / "docs" / "internals.md"
HEADING = re.compile(r"^(#{2,6})\s+(.*?)\s*$")
SIGNATURE_START = re.compile(r"^([a-z_]+)\.([a-z_]+)\(")


def chapters(text: str) -> dict[str, str]:
    """``{"## heading": body}`` for the level-2 chapters (code blocks kept)."""
    result: dict[str, str] = {}
    current, in_code = None, False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("## "):
            current = line[3:].strip()
            result[current] = ""
        elif current is not None:
            result[current] += line + "\n"
    return result


def code_blocks(text: str, lang: str = "python") -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def table_rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.match(r"^\|\s*-", line):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            rows.append(cells)
    return rows


def backticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


@pytest.fixture(scope="module")
def doc() -> dict[str, str]:
    return chapters(DOC.read_text(encoding="utf-8"))


# -- signatures -------------------------------------------------------------------------------


def _annotation(value) -> str:
    return value if isinstance(value, str) else inspect.formatannotation(value)


def _parameter(p: inspect.Parameter) -> str:
    text = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
    if p.annotation is not p.empty:
        text += f": {_annotation(p.annotation)}"
    if p.default is not p.empty:
        text += (" = " if p.annotation is not p.empty else "=") + repr(p.default)
    return text


def signature_of(prefix: str, function) -> str:
    sig = inspect.signature(function)
    params = ", ".join(_parameter(p) for p in sig.parameters.values())
    text = f"{prefix}.{function.__name__}({params})"
    if sig.return_annotation is not sig.empty:
        text += f" -> {_annotation(sig.return_annotation)}"
    return text


def normalized(signature: str) -> str:
    return re.sub(r",\)", ")", re.sub(r"\s+", "", signature))


def public_modules() -> dict[str, object]:
    found = {"permissions": permissions}
    for info in pkgutil.iter_modules(kernel.services.__path__):
        found[info.name] = importlib.import_module(f"kernel.services.{info.name}")
    return found


def public_functions() -> dict[str, str]:
    """``{"tickets.create": "tickets.create(values: ..., ...) -> Ticket"}``."""
    found = {}
    for prefix, module in public_modules().items():
        for name, obj in vars(module).items():
            if (not name.startswith("_") and inspect.isfunction(obj)
                    and obj.__module__ == module.__name__):
                found[f"{prefix}.{name}"] = signature_of(prefix, obj)
    return found


def public_dataclasses() -> dict[str, type]:
    return {name: obj for module in public_modules().values() for name, obj in vars(module).items()
            if inspect.isclass(obj) and dataclasses.is_dataclass(obj)
            and obj.__module__ == module.__name__ and not name.startswith("_")}


def documented_signatures(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for block in code_blocks(text):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            match = SIGNATURE_START.match(lines[i])
            if not match:
                i += 1
                continue
            chunk = lines[i]
            while chunk.count("(") > chunk.count(")"):
                i += 1
                chunk += "\n" + lines[i]
            key = f"{match.group(1)}.{match.group(2)}"
            assert key not in found, f"{key} is documented twice in {DOC.name}"
            found[key] = chunk
            i += 1
    return found


def documented_dataclasses(text: str) -> dict[str, list[tuple[str, str, str | None]]]:
    found = {}
    for block in code_blocks(text):
        if "@dataclass" not in block:
            continue
        for node in ast.parse(block).body:
            if isinstance(node, ast.ClassDef):
                found[node.name] = [
                    (item.target.id, ast.unparse(item.annotation),
                     ast.unparse(item.value) if item.value is not None else None)
                    for item in node.body if isinstance(item, ast.AnnAssign)
                ]
    return found


def test_every_public_service_function_is_documented_with_its_signature(doc):
    documented = documented_signatures(doc["Services"])
    expected = public_functions()
    missing = sorted(set(expected) - set(documented))
    stale = sorted(set(documented) - set(expected))
    assert not missing, f"service functions missing from docs/internals.md: {missing}"
    assert not stale, f"docs/internals.md documents functions that do not exist: {stale}"
    drifted = [f"{expected[k]}\n    (documented: {' '.join(documented[k].split())})"
               for k in sorted(expected) if normalized(expected[k]) != normalized(documented[k])]
    assert not drifted, "signatures changed; update docs/internals.md:\n" + "\n".join(drifted)


def test_every_function_has_a_row_saying_what_it_does(doc):
    rows = {name for row in table_rows(doc["Services"]) for name in backticked(row[0])}
    for key in public_functions():
        prefix, name = key.split(".")
        assert name in rows or key in rows, f"{key} has no row in its table in docs/internals.md"


def test_dataclasses_the_services_use_are_documented_field_by_field(doc):
    documented = documented_dataclasses(doc["Services"])
    for name, cls in public_dataclasses().items():
        assert name in documented, f"dataclass {name} is not in docs/internals.md"
        expected = []
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                default = repr(f.default)
            elif f.default_factory is not dataclasses.MISSING:
                default = f"field(default_factory={f.default_factory.__name__})"
            else:
                default = None
            expected.append((f.name, _annotation(f.type), default))
        assert documented[name] == expected, f"the fields of {name} changed"


# -- models -----------------------------------------------------------------------------------


def documented_attributes(text: str) -> dict[str, set[str]]:
    """``{"Ticket": {"id", "number", "value", ...}}`` from the Models chapter."""
    found: dict[str, set[str]] = {}
    subject: list[str] = []
    for line in text.splitlines():
        match = HEADING.match(line)
        if match and match.group(1) == "###":
            subject = backticked(match.group(2))
            continue
        if not line.startswith("| `"):
            continue
        for item in backticked(table_rows(line)[0][0]):
            name = item.split("(")[0]
            model, _, attr = name.rpartition(".")
            model = model or subject[0]
            assert model in subject, f"{name} is documented under {subject}"
            found.setdefault(model, set()).add(attr)
    return found


def test_documented_model_attributes_exist_and_columns_are_all_documented(doc):
    documented = documented_attributes(doc["Models"])
    assert {"Ticket", "TicketEvent", "Message", "Attachment", "Customer", "User",
            "TicketType", "Pipeline", "Status", "FieldDefinition"} <= set(documented)
    for model_name, attrs in documented.items():
        model = getattr(kernel.models, model_name)
        unknown = sorted(a for a in attrs if not hasattr(model, a))
        assert not unknown, f"{model_name} has no {unknown} (docs/internals.md)"
        mapped = set(sa.inspect(model).attrs.keys())
        assert not mapped - attrs, (
            f"{model_name}: {sorted(mapped - attrs)} not in docs/internals.md")


def test_every_field_type_is_documented(doc):
    rows = [backticked(row[0]) for row in table_rows(doc["Field types and their values"])]
    assert sorted(r[0] for r in rows if r) == sorted(FIELD_TYPES)


# -- with the application: typed values, macros, pages --------------------------------------


def test_date_and_datetime_values_come_back_typed_and_ui_time_shows_both(app):
    from datetime import UTC, date, datetime

    from flask import render_template_string

    from kernel.services import fields as field_service
    from kernel.services import tickets

    field_service.create_custom({"key": "visit_day", "type": "date", "label": "Visit day"})
    field_service.create_custom({"key": "call_at", "type": "datetime", "label": "Call at"})
    ticket = tickets.create({"subject": "Typed", "visit_day": "2026-05-12",
                             "call_at": "2026-05-12T12:30:00+03:00", "deadline": None})
    assert ticket.value("visit_day") == "2026-05-12"
    assert ticket.typed_value("visit_day") == date(2026, 5, 12)
    assert ticket.value("call_at") == "2026-05-12T09:30:00+00:00"
    moment = ticket.typed_value("call_at")
    assert moment == datetime(2026, 5, 12, 9, 30, tzinfo=UTC) and moment.tzinfo is not None
    assert ticket.typed_value("subject") == "Typed" and ticket.typed_value("nothing") is None
    with app.test_request_context():
        template = '{% import "macros/ui.html" as ui %}{{ ui.time(moment) }}'
        typed = render_template_string(template, moment=moment)
        stored = render_template_string(template, moment=ticket.value("call_at"))
    assert typed == stored and 'datetime="2026-05-12T09:30:00+00:00"' in typed


def test_documented_macros_exist_with_their_arguments(app, doc):
    rows = [backticked(row[0]) for row in table_rows(doc["Template macros"])]
    documented = {r[0].split("(")[0]: r[0] for r in rows if r and "(" in r[0]}
    expected = {}
    for alias, path in (("ui", "macros/ui.html"), ("fields", "macros/fields.html"),
                        ("forms", "macros/forms.html")):
        module = app.jinja_env.get_template(path).module
        for name in dir(module):
            macro = getattr(module, name)
            if not name.startswith("_") and hasattr(macro, "arguments"):
                expected[f"{alias}.{name}"] = f"{alias}.{name}({', '.join(macro.arguments)})"
    assert sorted(documented) == sorted(expected), "macros added or removed"
    wrong = [expected[n] for n in expected if documented[n] != expected[n]]
    assert not wrong, f"macro arguments changed: {wrong}"


def test_documented_endpoints_exist_and_every_page_is_documented(app, doc):
    rules: dict[str, tuple[str, set[str]]] = {}
    for rule in app.url_map.iter_rules():
        rules[rule.endpoint] = (rule.rule, set(rule.methods) - {"HEAD", "OPTIONS"})
    documented = {}
    for row in table_rows(doc["URL endpoints"])[1:]:
        endpoint, url = backticked(row[0])[0], backticked(row[1])[0]
        documented[endpoint] = (url, {m.strip() for m in row[2].split(",")})
    for endpoint, (url, methods) in documented.items():
        assert endpoint in rules, f"no endpoint {endpoint}"
        assert rules[endpoint] == (url, methods), f"{endpoint} is {rules[endpoint]}"
    pages = {e for e in rules if e.split(".")[0] in ("agent", "portal")}
    assert not pages - set(documented), f"undocumented pages: {sorted(pages - set(documented))}"
