"""X2 for the cabinet: a Russian customer's pages carry no English words from
our catalogue — every word of the cabinet's templates and views, and the
kernel's and plugins' labels they show, is translated."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from kernel.services import messages, tickets, users, workflow
from web import i18n

pytestmark = pytest.mark.plugins("helpdesk")

ROOT = Path(__file__).resolve().parents[3]


def cabinet_msgids() -> set[str]:
    """The English words of the cabinet (templates and views), as extracted."""
    found: set[str] = set()
    sources = [("jinja2", p) for p in (ROOT / "web/templates/portal").glob("*.html")]
    sources += [("python", p) for p in (ROOT / "web/portal").glob("*.py")]
    for method, path in sources:
        keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None}
        for _line, message, _comments, _ctx in extract_from_file(method, str(path),
                                                                 keywords=keywords):
            for text in ([message] if isinstance(message, str) else message):
                found.add(text)
    return found


def probes(msgids: set[str]) -> set[str]:
    """Fragments of the msgids long enough to recognise on a page."""
    result = set()
    for msgid in msgids:
        for part in re.split(r"%\(\w+\)s|%s", msgid):
            part = part.strip(" .:,!?()*→—")
            if len(part) >= 4 and re.search(r"[A-Za-z]{3}", part):
                result.add(part)
    return result


def readable(page: str) -> str:
    """What a person reads or hears: text, plus titles, placeholders, labels."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    attrs = re.findall(r'(?:title|placeholder|aria-label)="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", htmllib.unescape(" ".join([text, *attrs])))


def test_the_cabinet_speaks_russian(client, customer, agent):
    users.update_preferences(customer, {"locale": "ru"}, actor=customer)
    workflow.create_type("warranty", "Гарантийное обращение", "support", "W-{seq}")
    ticket = tickets.create({"subject": "Течёт кран", "queue": "technical",
                             "contract_number": "Д-1"}, actor=customer)
    tickets.transition(ticket, "in_progress", actor=agent)
    tickets.update(ticket, {"priority": "high"}, actor=agent)
    messages.post(ticket, "Уже едем.", actor=agent)
    messages.post(ticket, "Спасибо!", actor=customer)
    pages = {
        "list": client.get("/portal/"),
        "empty search": client.get("/portal/?q=нет-такой"),
        "card": client.get(f"/portal/tickets/{ticket.id}"),
        "choose type": client.get("/portal/new"),
        "form": client.get("/portal/new?type=request"),
        "form errors": client.post("/portal/new?type=request", data={"subject": ""}),
    }
    words = probes(cabinet_msgids())
    # Labels the kernel and the helpdesk plugin declare, shown on these pages.
    words |= {"Subject", "Description", "Queue", "Priority", "Contract number",
              "Contact phone", "Technical problem", "In progress", "High", "Request",
              "This field is required"}
    assert "Status changed from" in words and "My tickets" in words  # the probe works
    for name, response in pages.items():
        assert response.status_code in (200, 422), name
        text = readable(response.get_data(as_text=True))
        english = sorted(w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])",
                                                       text))
        assert not english, f"English on the Russian {name} page: {english}"

    card = readable(pages["card"].get_data(as_text=True))
    assert "Статус изменён: Новая → В работе" in card
    assert "Приоритет: Обычный → Высокий" in card
    assert "Переписка" in card and "Ответить" in card and "Вы" in card
    listing = readable(pages["list"].get_data(as_text=True))
    with client.application.test_request_context(), i18n.use("ru"):
        my_tickets = i18n.gettext_raw("My tickets")  # the shared catalogue's current word
    assert my_tickets != "My tickets" and my_tickets in listing
    assert "Открытые" in listing and "Закрытые" in listing
    form = readable(pages["form"].get_data(as_text=True))
    assert "Поля, отмеченные *, обязательны для заполнения." in form and "Отправить" in form
    errors = readable(pages["form errors"].get_data(as_text=True))
    assert "Обязательное поле." in errors and "field--error" in pages["form errors"].get_data(
        as_text=True)
