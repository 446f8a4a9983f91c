"""Header folding of built letters: a long subject never starts with an empty
folded line, whatever policy the transport serialises with."""

from __future__ import annotations

import email
import email.policy
import io
from email.generator import BytesGenerator

import pytest

from kernel.mail import build

SUBJECTS = [
    "Ticket REQ-2026-00001 status changed to In progress by the warranty masters",
    "Заявка REQ-2026-00001: статус «В работе» — мастер приедет завтра утром к вам",
    "[Hookdesk] REQ-2026-00001 «Не включается стиральная машина после ремонта» — ответ",
    "x" * 100,
]


def flatten(message, policy=None) -> str:
    out = io.BytesIO()
    BytesGenerator(out, policy=policy).flatten(message)
    return out.getvalue().decode()


@pytest.mark.parametrize("subject", SUBJECTS)
def test_a_long_subject_starts_on_the_header_line_and_reads_back(subject):
    message = build({"to": "a@example.com", "subject": subject, "text": "x",
                     "message_id": "<a@b>", "from": "desk@example.com"})
    # smtplib serialises with the message's policy, or a utf8 clone of it.
    for policy in (None, message.policy.clone(utf8=True), message.policy.clone(linesep="\r\n")):
        lines = flatten(message, policy).splitlines()
        assert lines[0].startswith("Subject: ") and lines[0] != "Subject: "
        assert all(len(line) <= 78 for line in lines[:3] if " " in line[9:])
    parsed = email.message_from_bytes(bytes(message), policy=email.policy.default)
    assert parsed["Subject"] == subject


def test_line_breaks_in_a_subject_become_spaces():
    message = build({"to": "a@example.com", "subject": "First\nsecond", "text": "x",
                     "message_id": "<a@b>", "from": "desk@example.com"})
    assert message["Subject"] == "First second"
