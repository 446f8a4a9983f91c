"""docs/triggers.md covers every built-in event, field, operator, condition and
action, and its JSON examples are valid JSON."""

import json
import re
from pathlib import Path

import pytest

from plugins.triggers import conditions as c
from plugins.triggers.actions import ACTIONS
from plugins.triggers.catalogue import EVENT_OPTIONS, TIMER_KINDS
from plugins.triggers.history_conditions import CONDITIONS

DOC = (Path(__file__).resolve().parents[3] / "docs" / "triggers.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("key", [
    *c.OPERATORS, *c.SUBJECTS, *(a.key for a in ACTIONS), *(x.key for x in CONDITIONS),
    *TIMER_KINDS, *EVENT_OPTIONS, "created", "status_changed", "message_posted", "assigned",
    "attachment_added", "linked", "HOOKDESK_TRIGGERS_MAX_DEPTH",
    "HOOKDESK_TRIGGERS_KEEP_RUNS_DAYS", "rule-<rule id>-event-<event id>-action-<index>",
])
def test_documented(key):
    assert f"`{key}`" in DOC or f'"{key}"' in DOC, key


def test_every_parameter_of_a_builtin_is_documented():
    for decl in [*ACTIONS, *CONDITIONS]:
        for param in decl.params:
            assert f"`{param.key}`" in DOC, (decl.key, param.key)


def test_json_examples_parse():
    blocks = re.findall(r"```json\n(.*?)```", DOC, flags=re.S)
    assert len(blocks) >= 8
    for block in blocks:
        json.loads(block)
