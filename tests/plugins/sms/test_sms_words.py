"""Every word of the SMS plugin's pages has a Russian translation in its own
catalogue (plugins/sms/translations), and the page speaks the reader's language."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
HERE = ROOT / "plugins" / "sms" / "translations"


def test_every_word_of_the_pages_is_translated():
    with open(HERE / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    words = {message for _f, _l, message, _c, _x in extract_from_dir(
        str(ROOT), method_map, options_map, keywords={"_": None})}
    with open(HERE / "ru" / "LC_MESSAGES" / "messages.po", "rb") as fh:
        ru = {m.id: m.string for m in read_po(fh, locale="ru") if m.id}
    missing = sorted(w for w in words if not ru.get(w))
    assert not missing, f"translate in plugins/sms/translations/ru: {missing}"
