"""The warranty plugin's report: claims by house and category over a period,
resolved / rejected / open, with the house and category filters — through the
kernel's reports section (page, CSV, API)."""

from __future__ import annotations

import pytest

from kernel.services import reports, tickets, tokens
from web.testing import login

KEY = "warranty.claims"


@pytest.fixture
def claims(estate, agent):
    def claim(apartment, category):
        return tickets.create({"subject": "Претензия", "apartment": apartment.id,
                               "claim_category": category}, actor=agent, type="claim")

    made = [claim(estate.flat, "plumbing"), claim(estate.flat, "plumbing"),
            claim(estate.other_flat, "electrical"), claim(estate.old_flat, "plumbing")]
    tickets.transition(made[0], "rejected", actor=agent)
    return made


def test_claims_by_house_and_category(app, estate, agent, claims):
    rows = reports.run(KEY, agent).records()
    by_key = {(r["house"], r["category"]): r for r in rows}
    sunny = by_key[(estate.active.name, "Plumbing")]
    assert (sunny["claims"], sunny["rejected"], sunny["open"], sunny["resolved"]) == (2, 1, 1, 0)
    assert by_key[(estate.active.name, "Electrical")]["claims"] == 1
    assert by_key[(estate.expired.name, "Plumbing")]["claims"] == 1
    only = reports.run(KEY, agent, filters={"house": str(estate.expired.id)}).records()
    assert [(r["house"], r["claims"]) for r in only] == [(estate.expired.name, 1)]
    electrical = reports.run(KEY, agent, filters={"category": "electrical"}).records()
    assert [r["claims"] for r in electrical] == [1]


def test_page_csv_and_api(client, estate, agent, claims):
    login(client, agent)
    html = client.get(f"/reports/{KEY}").get_data(as_text=True)
    assert "data-chart" in html and estate.active.name in html
    assert 'name="f_house"' in html and 'name="f_category"' in html
    text = client.get(f"/reports/{KEY}/csv").get_data(as_text=True)
    assert estate.expired.name in text and "Сантехника" in text
    _row, secret = tokens.create(agent, "r")
    got = client.get(f"/api/v1/reports/{KEY}?filter=house:{estate.active.id}",
                     headers={"Authorization": f"Bearer {secret}"}).json
    assert sum(r["claims"] for r in got["rows"]) == 3
    bad = client.get(f"/api/v1/reports/{KEY}?filter=house:999999",
                     headers={"Authorization": f"Bearer {secret}"})
    assert bad.status_code == 422 and "house" in bad.json["errors"]
