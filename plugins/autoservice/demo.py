"""Demo data of the auto-service plugin: contacts of every category and every
outcome, the service requests they made, work orders of the dealer system, and
a refused request that a repeat contact continues — made through the plugin's
and the kernel's services, the same calls the pages and the API use."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from kernel.db import db
from kernel.models import Customer, Ticket
from kernel.services import customers, tickets
from plugins.autoservice import CONTACT_TYPE, contacts, workorders
from plugins.autoservice.models import ContactRecord

PEOPLE = [
    ("Сергей Кузнецов", "+7 921 700-10-20"),
    ("Анна Морозова", "+7 905 222-33-44"),
    ("Дмитрий Волков", "+7 926 444-55-66"),
    ("Елена Соколова", "+7 915 888-99-00"),
    ("Игорь Белов", "+7 917 123-45-00"),
]


def _customer(name: str, phone: str) -> Customer:
    existing = db.session.scalar(db.select(Customer).where(Customer.name == name))
    return existing or customers.create({"name": name, "phones": [phone]})


def _contact(agent, customer: Customer | None, subject: str, text: str = "", **values):
    data = {"subject": subject, "text": text, **values}
    if customer is not None:
        data["customer"] = customer.id
    return tickets.create(data, actor=agent, type=CONTACT_TYPE, via="demo")


def _backdate(ticket: Ticket, days: int) -> None:
    """Move a ticket's story ``days`` back (the demo's refusal happened earlier)."""
    shift = timedelta(days=days)
    values = {"created_at": ticket.created_at - shift, "updated_at": ticket.updated_at - shift,
              "status_changed_at": ticket.status_changed_at - shift}
    if ticket.closed_at is not None:
        values["closed_at"] = ticket.closed_at - shift
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(ContactRecord).where(ContactRecord.ticket_id == ticket.id)
                       .values(created_at=values["created_at"])
                       .execution_options(synchronize_session=False))
    db.session.expire(ticket)


def load(ctx) -> None:
    agent, admin = ctx.agent, ctx.admin
    maria, petr, olga = ctx.customers[:3]
    sergey, anna, dmitry, elena, igor = (_customer(n, p) for n, p in PEOPLE)

    workorders.upsert("DMS-1042", {
        "number": "ZN-00042", "customer_id": maria.id, "car_make": "Kia", "car_model": "Rio",
        "plate": "А123ВС178", "vin": "Z94CB41AAGR323456",
        "description": "ТО-60: замена масла, фильтров, тормозной жидкости; диагностика подвески."})
    workorders.upsert("DMS-1037", {
        "number": "ZN-00037", "customer_id": petr.id, "car_make": "Škoda",
        "car_model": "Octavia", "plate": "М456ОР77", "status": "closed",
        "description": "Замена ремня ГРМ."})

    # Repeat request: Игорь refused a repair twelve days ago and calls again.
    first = _contact(agent, igor, "Стук в подвеске, хочет записаться",
                     "Слышен стук спереди справа на неровностях.")
    booked = contacts.complete(first, {"category": "repair", "outcome": "repair.booked"},
                               actor=agent, via="demo").service_request
    tickets.transition(booked, "refused", actor=agent, via="demo",
                       comment="Клиент отказался: дорого, ремонтирует сам.")
    _backdate(first, 12)
    _backdate(booked, 12)

    # Targeted contacts and every outcome.
    oil = _contact(agent, petr, "Запись на замену масла", "Škoda Octavia, пробег 90 тыс.")
    contacts.complete(oil, {"category": "repair", "outcome": "repair.booked",
                            "comment": "Записан на пятницу, 10:00."}, actor=agent, via="demo")
    pads = _contact(agent, olga, "Тормозные колодки на Hyundai Solaris")
    contacts.complete(pads, {"category": "parts", "outcome": "parts.reserve",
                             "reserve_note": "Колодки передние Sangsin, 1 комплект, до пятницы"},
                      actor=agent, via="demo")
    wipers = _contact(agent, sergey, "Щётки стеклоочистителя")
    contacts.complete(wipers, {"category": "parts", "outcome": "parts.sale"}, actor=agent,
                      via="demo")
    filters = _contact(agent, anna, "Салонный фильтр, приедет, когда сможет")
    contacts.complete(filters, {"category": "parts", "outcome": "parts.no_reserve"},
                      actor=agent, via="demo")
    tires = _contact(agent, dmitry, "Шиномонтаж: хочет узнать цены")
    contacts.complete(tires, {"category": "repair", "outcome": "repair.postpone",
                              "follow_up_at": ctx.now + timedelta(days=1, hours=2)},
                      actor=agent, via="demo")
    warranty = _contact(agent, elena, "Вопрос по гарантии на кузов")
    contacts.complete(warranty, {"category": "repair", "outcome": "repair.redirect",
                                 "assignee": admin.id}, actor=agent, via="demo")
    rims = _contact(agent, None, "Литые диски R16: нужен менеджер по запчастям")
    contacts.complete(rims, {"category": "parts", "outcome": "parts.redirect",
                             "assignee": admin.id}, actor=agent, via="demo")
    price = _contact(agent, sergey, "Стоимость замены сцепления")
    contacts.complete(price, {"category": "repair", "outcome": "repair.refused",
                              "comment": "Дорого."}, actor=agent, via="demo")
    parts_refused = _contact(agent, None, "Спрашивали аккумулятор, не оставили контакты")
    contacts.complete(parts_refused, {"category": "parts", "outcome": "parts.refused"},
                      actor=agent, via="demo")
    other = _contact(agent, None, "Ошиблись номером")
    contacts.complete(other, {"category": "other"}, actor=agent, via="demo")

    # Automatic categories, left open so their cards show the rule and its reason.
    _contact(agent, maria, "Когда будет готова машина?",
             "Спрашивает, закончили ли ТО по заказ-наряду.")           # order status
    _contact(agent, None, "Звонок: уточнить время записи",
             caller_phone=olga.phones[0].number)                        # 2nd call today
    _contact(agent, petr, "Перезвонил по записи")                       # open request
    _contact(agent, igor, "Передумал, хочет всё же отремонтировать")    # repeat request
