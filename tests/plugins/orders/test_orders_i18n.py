"""The orders plugin ships its own catalogue (``plugins/orders/translations``):
every word it says is translated into Russian, and the pages speak it."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from web import i18n

PLUGIN = Path(__file__).resolve().parents[3] / "plugins" / "orders"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "_l": None}


def test_every_word_of_the_plugin_has_a_russian_translation():
    with open(PLUGIN / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    words = {m if isinstance(m, str) else m[0] for _f, _l, m, _c, _x in extract_from_dir(
        str(PLUGIN), method_map, options_map, keywords=KEYWORDS)}
    with open(PLUGIN / "translations" / "ru" / "LC_MESSAGES" / "messages.po", "rb") as fh:
        ru = {m.id: m.string for m in read_po(fh, locale="ru") if m.id}
    missing = sorted(w for w in words if not ru.get(w))
    assert not missing, f"translate in plugins/orders/translations/ru: {missing}"


def test_declared_labels_are_russian(app):
    with i18n.use("ru"):
        assert i18n.translate_label("Buyout") == "Выкуп"
        assert i18n.translate_label("Successful order") == "Успешный заказ"
        assert i18n.translate_message("Only http:// and https:// links can be published.") == (
            "Публиковать можно только ссылки http:// и https://.")
