"""The plugin's own catalogue (X2): every word it shows — Python labels and
templates — has a Russian translation; the seed's categories and outcomes read
in Russian exactly as written there."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from web import i18n

ROOT = Path(__file__).resolve().parents[3]
FOLDER = ROOT / "plugins" / "autoservice" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "_l": None}


def test_every_word_of_the_plugin_has_a_russian_translation():
    with open(FOLDER / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = {m if isinstance(m, str) else m[0] for _f, _l, m, _c, _x in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS)}
    with open(FOLDER / "ru" / "LC_MESSAGES" / "messages.po", "rb") as fh:
        ru = {m.id: m.string for m in read_po(fh, locale="ru") if m.id}
    missing = sorted(w for w in found if not ru.get(w))
    assert not missing, f"translate in {FOLDER}/ru/LC_MESSAGES/messages.po: {missing}"


def test_categories_and_outcomes_read_as_the_seed_writes_them(app):
    from plugins.autoservice import categories

    with i18n.use("ru"):
        cats = [i18n.translate_label(c.label) for c in categories.categories()]
        outs = [i18n.translate_label(o.label) for o in categories.outcomes()]
    assert cats == ["Услуги по ремонту", "Запасные части", "Продолжение звонка",
                    "По статусу ремонта/заказа", "Повторное обращение", "Прочее"]
    assert outs == ["Клиент записан", "Отложить задачу", "Перенаправить", "Отказ",
                    "Ожидаем клиента, установить резерв", "Ожидаем клиента без резерва",
                    "Оформлена продажа", "Перенаправить", "Отказ"]
    with i18n.use("en"):
        cats = [i18n.translate_label(c.label) for c in categories.categories()]
    assert cats == ["Repair services", "Spare parts", "Call continuation",
                    "Repair or order status", "Repeat request", "Other"]
