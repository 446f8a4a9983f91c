"""(e) The warranty plugin's CSV import of houses and apartments.

The same 20 houses of 1,000 apartments each (2 houses of 1,000 with ``--quick``)
are written three ways, each into a fresh SQLite database of its own:

* ``import``: ``plugins.warranty.importer.import_csv`` on the CSV text — parsing,
  every row checked, houses through the property service, apartments through its
  batch function, one transaction, audit rows;
* ``import again``: the same file a second time (everything matches: nothing new);
* ``core bulk``: the same rows built in Python and written with ``executemany`` in
  one transaction — the cheapest way to get them into the tables.

The ratio ``import / core bulk`` is what checking and auditing cost per file.
"""

from __future__ import annotations

from datetime import date

from benchmarks.common import app_context, make_app, ratio, seconds, table, title

WITH_WARRANTY = ("helpdesk", "warranty")


def csv_text(houses: int, per_house: int) -> str:
    lines = ["house,address,warranty_until,apartment,floor"]
    for h in range(houses):
        for a in range(per_house):
            lines.append(f"ЖК Бенчмарк {h},ул. Тестовая {h},31.12.2030,{a + 1},{a // 8 + 1}")
    return "\n".join(lines) + "\n"


def _core(houses: int, per_house: int) -> None:
    from sqlalchemy import insert

    from kernel.db import db, utcnow
    from plugins.warranty.models import Apartment, House

    now = utcnow()
    ids = []
    for h in range(houses):
        ids.append(db.session.execute(insert(House).values(
            name=f"ЖК Бенчмарк {h}", address=f"ул. Тестовая {h}",
            warranty_until=date(2030, 12, 31), created_at=now)).inserted_primary_key[0])
    db.session.execute(insert(Apartment), [
        {"house_id": ids[h], "number": str(a + 1), "floor": a // 8 + 1, "created_at": now}
        for h in range(houses) for a in range(per_house)])
    db.session.commit()


def run(root: str, quick: bool) -> dict:
    from plugins.warranty import importer

    houses, per_house = (2, 1_000) if quick else (20, 1_000)
    rows = houses * per_house
    title(f"(e) Warranty CSV import: {houses} houses, {rows:,} apartments (SQLite)")
    text = csv_text(houses, per_house)
    with app_context(make_app(root, "import-service", WITH_WARRANTY)):
        result = None

        def once():
            nonlocal result
            result = importer.import_csv(text)

        first = seconds(once)
        assert result.ok and result.apartments_created == rows, result.errors[:3]
        again = seconds(once)
        assert result.ok and result.apartments_created == 0
    with app_context(make_app(root, "import-core", WITH_WARRANTY)):
        core = seconds(lambda: _core(houses, per_house))
    table([
        ("import", f"{first:.2f}", f"{rows / first:,.0f}", ratio(first, core)),
        ("import again (no changes)", f"{again:.2f}", f"{rows / again:,.0f}",
         ratio(again, core)),
        ("core bulk", f"{core:.2f}", f"{rows / core:,.0f}", "1.0x"),
    ], ("run", "seconds", "rows/s", "vs core"))
    return {"import": first, "again": again, "core": core}
