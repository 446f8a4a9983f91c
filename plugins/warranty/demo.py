"""Demo data of the warranty plugin: two houses (one whose warranty has ended),
apartments with drawn floor plans, buyers, and claims whose defects sit in
every status — enough to walk through the plugin right after ``hookdesk demo``.

Everything is made through the plugin's and the kernel's services, the same
calls the pages and the API use, so the demo also exercises their rules (a
claim is resolved only once each of its defects is fixed or rejected)."""

from __future__ import annotations

import io
import math
import random
from datetime import timedelta
from typing import Any

from PIL import Image, ImageDraw, ImageFilter
from werkzeug.datastructures import FileStorage

from kernel.services import messages, tickets
from plugins.warranty import CLAIM_TYPE, defects, plans
from plugins.warranty import property as prop

HOUSES = [
    {"key": "north", "name": "ЖК «Северный парк», корпус 1",
     "address": "г. Санкт-Петербург, Выборгский район, ул. Шостаковича, д. 8, корп. 1",
     "warranty_days": 2 * 365},
    {"key": "river", "name": "ЖК «Речной квартал», дом 5",
     "address": "г. Нижний Новгород, Канавинский район, ул. Керченская, д. 5",
     "warranty_days": -92},
]

# (house, number, floor, plan layout)
APARTMENTS = [
    ("north", "14", 3, "one_room"), ("north", "27", 5, "two_room"),
    ("north", "41", 8, "two_room"), ("north", "58", 11, "studio"),
    ("north", "63", 12, "one_room"), ("north", "80", 15, "studio"),
    ("river", "3", 2, "studio"), ("river", "18", 4, "one_room"),
    ("river", "32", 6, "two_room"), ("river", "45", 9, "two_room"),
    ("river", "51", 10, "one_room"), ("river", "66", 13, "studio"),
]

# Apartment -> positions in ``ctx.customers`` (0 is the demo buyer with a portal login).
OWNERS = {
    ("north", "41"): [0], ("river", "18"): [0],
    ("north", "27"): [1, 2], ("river", "45"): [1], ("north", "58"): [2],
}

# Each claim: who files it (a buyer position; 0 files through the portal, the others
# through the agent), the apartment, the claim's fields, its defects (category, room
# and where in it, description, photo, final status) and the statuses it goes through.
CLAIMS: list[dict[str, Any]] = [
    {
        "buyer": 0, "apartment": ("north", "41"), "category": "plumbing",
        "subject": "Протечка в санузле и под мойкой на кухне",
        "text": "После душа под ванной собирается вода, а на кухне подтекает под мойкой. "
                "Соседи снизу пока не жалуются, но хотелось бы устранить до этого.",
        "defects": [
            ("leak", "bathroom", (0.25, 0.55), "Из-под ванны течёт вода, на полу лужа после "
             "каждого душа. Похоже, негерметичен слив-перелив.", "stain", "new"),
            ("leak", "kitchen", (0.15, 0.2), "Подтекает соединение сифона под мойкой, дно "
             "шкафа под ней разбухло.", None, "new"),
        ],
        "path": [],
    },
    {
        "buyer": 1, "apartment": ("north", "27"), "category": "windows_doors",
        "subject": "Продувают окна, не закрывается балконная дверь",
        "text": "Из окон в гостиной и спальне сильно дует, балконная дверь закрывается "
                "только с усилием и неплотно.",
        "defects": [
            ("window", "living", (0.39, 0.92), "Окно в гостиной продувает по нижней створке, "
             "уплотнитель отошёл от рамы.", None, "fixed"),
            ("window", "living", (0.74, 0.92), "Балконная дверь не прижимается к раме, ручка "
             "проворачивается.", None, "in_progress"),
            ("window", "bedroom", (0.5, 0.94), "На стеклопакете в спальне трещина в нижнем "
             "углу, около 10 см.", None, "new"),
        ],
        "path": [("inspection", "Осмотр назначен на ближайший вторник, с 10 до 13."),
                 ("in_repair", None)],
        "messages": ["Уплотнитель в гостиной заменили. Для балконной двери заказана новая "
                     "фурнитура, стеклопакет в спальне — под заказ, около трёх недель."],
    },
    {
        "buyer": 0, "apartment": ("river", "18"), "category": "structure",
        "subject": "Трещина на стене в спальне",
        "text": "На стене между спальней и кухней появилась трещина, за месяц стала длиннее.",
        "defects": [
            ("crack", "bedroom", (0.05, 0.62), "Вертикальная трещина на стене между спальней "
             "и кухней: длина около метра, ширина до 2 мм.", "crack", "fixed"),
            ("finishing", "bedroom", (0.94, 0.42), "Обои отходят на стыках возле окна.", None,
             "rejected"),
        ],
        "path": [("inspection", None), ("in_repair", None),
                 ("done", "Трещина расшита и заделана, стена окрашена. Отслоение обоев — "
                          "не гарантийный случай: обои переклеены собственником.")],
    },
    {
        "buyer": 2, "apartment": ("north", "58"), "category": "electrical",
        "subject": "Не работают розетки на кухне",
        "text": "Перестали работать две розетки над столешницей, автомат не выбивает.",
        "defects": [
            ("electrics", "living", (0.38, 0.1), "Две розетки над столешницей без напряжения.",
             None, "rejected"),
        ],
        "path": [("inspection", None),
                 ("rejected", "При осмотре выяснилось, что розеточная группа перенесена "
                              "собственником при ремонте — случай не гарантийный.")],
    },
    {
        "buyer": 1, "apartment": ("river", "45"), "category": "heating",
        "subject": "Холодные радиаторы в спальне",
        "text": "С начала отопительного сезона радиатор в спальне едва тёплый, в остальных "
                "комнатах нормально.",
        "defects": [
            ("heating", "bedroom", (0.5, 0.92), "Радиатор под окном в спальне холодный в "
             "верхней части — вероятно, завоздушен.", None, "in_progress"),
        ],
        "path": [("inspection", None),
                 ("waiting_owner", "Нужен доступ в квартиру: согласуйте, пожалуйста, время "
                                   "визита сантехника.")],
    },
]


def load(ctx) -> None:
    """Make the warranty demo data; nothing if its houses are already there."""
    existing = {house.name for house in prop.houses()}
    if any(spec["name"] in existing for spec in HOUSES):
        return
    today = ctx.now.date()
    houses = {
        spec["key"]: prop.create_house(
            {"name": spec["name"], "address": spec["address"],
             "warranty_until": (today + timedelta(days=spec["warranty_days"])).isoformat()},
            actor=ctx.admin)
        for spec in HOUSES
    }
    drawn: dict[str, bytes] = {}
    flats = {}
    for house_key, number, floor, layout in APARTMENTS:
        apartment = prop.create_apartment(
            {"house_id": houses[house_key].id, "number": number, "floor": floor},
            actor=ctx.admin)
        if layout not in drawn:
            drawn[layout] = plans.draw_plan(plans.LAYOUTS[layout])
        prop.set_plan(apartment, io.BytesIO(drawn[layout]), actor=ctx.admin)
        flats[(house_key, number)] = (apartment, plans.LAYOUTS[layout])
    for place, buyers in OWNERS.items():
        for position in buyers:
            prop.add_owner(flats[place][0], ctx.customers[position].id, actor=ctx.admin)
    for spec in CLAIMS:
        _claim(ctx, spec, *flats[spec["apartment"]])


def _claim(ctx, spec: dict[str, Any], apartment, layout: dict[str, Any]) -> None:
    customer = ctx.customers[spec["buyer"]]
    portal = ctx.customer_user if customer.id == ctx.customer_user.customer_id else None
    author = portal or ctx.agent
    values: dict[str, Any] = {"subject": spec["subject"], "text": spec["text"],
                              "apartment": apartment.id, "claim_category": spec["category"]}
    if portal is None:
        values["customer"] = customer.id
    ticket = tickets.create(values, actor=author, type=CLAIM_TYPE)
    made = []
    for category, room, (fx, fy), description, photo, status in spec["defects"]:
        x, y = plans.mark_at(layout, room, fx, fy)
        photos = [demo_photo(photo)] if photo else []
        defect = defects.add(ticket, {"category": category, "description": description,
                                      "x": x, "y": y}, photos, actor=author)
        made.append((defect, status))
    path = spec["path"]
    closing = path[-1][0] if path and path[-1][0] in ("done", "rejected") else None
    for step, comment in path:
        if step == closing:
            # The claim closes only once its defects are worked (the plugin insists).
            _work(ctx, ticket, made)
        tickets.transition(ticket, step, actor=ctx.agent, comment=comment)
    if closing is None:
        _work(ctx, ticket, made)
    for body in spec.get("messages", []):
        messages.post(ticket, body, actor=ctx.agent)


def _work(ctx, ticket, made) -> None:
    for defect, status in made:
        if status == "fixed":
            defects.set_status(ticket, defect, "in_progress", actor=ctx.agent)
        if status != "new":
            defects.set_status(ticket, defect, status, actor=ctx.agent)


# -- photos -----------------------------------------------------------------------------


def demo_photo(kind: str) -> FileStorage:
    """A made-up JPEG "photo" of a defect: a crack in a painted wall or a water
    stain on a ceiling. Drawn from a fixed seed, so it is the same every time."""
    rng = random.Random(f"warranty-demo-{kind}")
    width, height = 640, 480
    base = (206, 203, 196) if kind == "crack" else (236, 232, 222)
    noise = bytes(max(0, min(255, base[i % 3] + rng.randint(-14, 14)))
                  for i in range(width * height * 3))
    image = Image.frombytes("RGB", (width, height), noise).filter(ImageFilter.GaussianBlur(1.2))
    draw = ImageDraw.Draw(image)
    if kind == "crack":
        x, y = width * 0.46, -10.0
        points = [(x, y)]
        while y < height + 10:
            y += rng.uniform(8, 22)
            x += rng.uniform(-9, 9)
            points.append((x, y))
        draw.line(points, fill=(70, 66, 60), width=4, joint="curve")
        draw.line([(px + 1.5, py) for px, py in points], fill=(120, 114, 104), width=2)
        for _ in range(5):  # hairline branches
            sx, sy = points[rng.randrange(3, len(points) - 3)]
            branch = [(sx, sy)]
            for _step in range(rng.randint(3, 6)):
                sx += rng.uniform(4, 14) * rng.choice((-1, 1))
                sy += rng.uniform(4, 12)
                branch.append((sx, sy))
            draw.line(branch, fill=(96, 91, 84), width=1)
    else:
        # Yellow-brown tide marks of water that soaked through and dried, ring by ring.
        stain = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        paint = ImageDraw.Draw(stain)
        cx, cy = width * 0.52, height * 0.46
        for ring in range(4):
            phases = [rng.uniform(0, 2 * math.pi) for _ in range(3)]
            size = 1 - ring * 0.24
            outline = []
            for step in range(90):
                angle = 2 * math.pi * step / 90
                wobble = (1 + 0.13 * math.sin(2 * angle + phases[0])
                          + 0.08 * math.sin(3 * angle + phases[1])
                          + 0.05 * math.sin(7 * angle + phases[2]))
                outline.append((cx + 230 * size * wobble * math.cos(angle),
                                cy + 165 * size * wobble * math.sin(angle)))
            paint.polygon(outline, fill=(168, 122, 52, 30))
            paint.line([*outline, outline[0]], fill=(140, 94, 34, 120), width=6)
        stain = stain.filter(ImageFilter.GaussianBlur(5))
        image = Image.alpha_composite(image.convert("RGBA"), stain).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    out.seek(0)
    return FileStorage(stream=out, filename=f"{kind}.jpg", content_type="image/jpeg")
