"""Demo data of the orders plugin: every scenario's preset applied, requests in the
inbox (one from the portal, one from the company's site), and orders of the
buy-and-deliver and repair scenarios at different stages with an invoice link, a
tracking link, a document, a visible and a hidden note and a conversation —
enough to walk through "My orders PRO" right after ``hookdesk demo``.

Everything goes through the plugin's and the kernel's services."""

from __future__ import annotations

import io

from werkzeug.datastructures import FileStorage

from kernel.services import messages, tickets
from plugins.orders import scenarios, service


def _pdf(title: str) -> FileStorage:
    body = (f"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            f"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            f"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]>>endobj\n"
            f"trailer<</Root 1 0 R>>\n% {title}\n%%EOF\n").encode()
    return FileStorage(io.BytesIO(body), filename=f"{title}.pdf", content_type="application/pdf")


def load(ctx) -> None:
    for scenario in scenarios.SCENARIOS:
        service.apply_preset(scenario.key, actor=None)
    agent, customer_user = ctx.agent, ctx.customer_user
    # A request from the portal and one from the company's site, waiting in the inbox.
    service.submit_request({"subject": "Кроссовки из Германии",
                            "details": "Nike Air Max 90, размер 43, белые. Ссылка: "
                                       "https://www.example.de/airmax90",
                            "address": "Москва, ул. Лесная, д. 5, кв. 12",
                            "budget": "до 15 000 ₽"}, actor=customer_user, via="demo")
    service.submit_public_request({"name": "Ольга Смирнова", "email": "olga@example.com",
                                   "phone": "+7 912 555-01-23",
                                   "details": "Нужна диагностика ноутбука: не включается.",
                                   "subject": "Ремонт ноутбука"}, via="demo")
    # An order of the buy-and-deliver scenario, made from a request and half-way through.
    request = service.submit_request({"subject": "Кофемашина «Делонги» из Италии",
                                      "details": "«Делонги Дедика» EC685, серебристая, 1 шт.",
                                      "address": "Москва, ул. Лесная, д. 5, кв. 12",
                                      "budget": "до 30 000 ₽"}, actor=customer_user,
                                     via="demo")
    order = service.convert(request, "orders_delivery", actor=agent, via="demo")
    tickets.transition(order, "buyout", actor=agent, via="demo")
    tickets.transition(order, "payment", actor=agent, via="demo")
    service.publish_link(order, {"title": "Счёт на оплату № 154", "kind": "invoice",
                                 "url": "https://pay.example.com/invoice/154"}, actor=agent,
                         via="demo")
    service.publish_document(order, _pdf("invoice-154"), "Счёт № 154 (PDF)", actor=agent,
                             via="demo")
    service.add_note(order, "Товар выкуплен, ждём оплату — после неё отправим в течение "
                            "двух дней.", True, actor=agent, via="demo")
    service.add_note(order, "Поставщик дал скидку 5%, клиенту не сообщать до оплаты.", False,
                     actor=agent, via="demo")
    messages.post(order, "Здравствуйте! Когда ожидать доставку?", actor=customer_user,
                  via="demo")
    messages.post(order, "Сразу после оплаты отправим и пришлём ссылку на трекинг.",
                  actor=agent, via="demo")
    # A repair order at delivery, with a tracking link and a report.
    repair_request = service.submit_request({"subject": "Ремонт кофемолки",
                                             "details": "Не мелет, слышен треск."},
                                            actor=customer_user, via="demo")
    repair = service.convert(repair_request, "orders_repair", actor=agent, via="demo")
    for stage in ("diagnostics", "repair", "delivery"):
        tickets.transition(repair, stage, actor=agent, via="demo")
    service.publish_document(repair, _pdf("repair-report"), "Отчёт о ремонте", actor=agent,
                             via="demo")
    service.publish_link(repair, {"title": "Трекинг СДЭК", "kind": "tracking",
                                  "url": "https://www.cdek.ru/ru/tracking?order_id=1234567890"},
                         actor=agent, via="demo")
