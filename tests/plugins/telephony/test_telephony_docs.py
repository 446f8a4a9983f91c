"""docs/telephony.md covers the webhook formats, every Zadarma event and every
setting; its JSON examples parse; the plugin's own catalogue translates every word
of its screens, and a Russian agent reads them in Russian."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from plugins.telephony import config, zadarma
from web.testing import login

ROOT = Path(__file__).resolve().parents[3]
PLUGIN = ROOT / "plugins" / "telephony"
DOC = (ROOT / "docs" / "telephony.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("word", [*zadarma.EVENTS, "X-Hookdesk-Timestamp",
                                  "X-Hookdesk-Signature", "zd_echo", "ami-listen",
                                  "telephony.call", "telephony.call_ended",
                                  "/telephony/webhooks/generic",
                                  "/telephony/webhooks/zadarma", "Originate",
                                  "/v1/request/callback/", "hookdesk_page_snippets"])
def test_documented(word):
    assert word in DOC, word


def test_json_examples_parse():
    blocks = re.findall(r"```json\n(.*?)```", DOC, flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        json.loads(block)


def test_the_user_guide_pictures_exist():
    guide = (ROOT / "docs" / "user-guide.md").read_text(encoding="utf-8")
    for name in re.findall(r"screenshots/(telephony-[\w-]+\.png)", guide):
        assert (ROOT / "docs" / "screenshots" / name).exists(), name


def test_every_word_of_the_plugins_screens_is_translated():
    with open(PLUGIN / "translations" / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = {m for _f, _l, m, _c, _x in extract_from_dir(str(ROOT), method_map, options_map,
                                                         keywords={"_": None})}
    with open(PLUGIN / "translations" / "ru" / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalogue = {m.id: m.string for m in read_po(fh, locale="ru") if m.id}
    missing = sorted(m for m in found if not catalogue.get(m))
    assert not missing, missing


def test_a_russian_agent_reads_the_popup_and_the_admin_page_in_russian(app, admin):
    config.save("generic", {"callback_url": "http://127.0.0.1:9/call"})
    config.save("main", {"provider": "generic"})
    client = app.test_client()
    login(client, admin)
    html = client.get("/admin/telephony/").get_data(as_text=True)
    assert "Внутренние номера сотрудников" in html and "Звонить через" in html
    page = client.get("/agent/").get_data(as_text=True)
    assert 'data-t-title="Входящий звонок"' in page and ">Звонки</a>" in page
