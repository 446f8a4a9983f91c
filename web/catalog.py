"""Maintaining the message catalogues from the command line, safely when several
people (or scripts) translate at once: every change happens under a file lock.

    python -m web.catalog missing              # msgids without a Russian translation
    python -m web.catalog translate ru.json    # {"English msgid": "Русский перевод", ...}

``translate`` first extracts every word (as ``make messages``), merges the new
translations into ``web/translations/ru/LC_MESSAGES/messages.po`` and compiles
the ``.mo`` files (as ``make translations``). Plural entries take a list of forms.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "web" / "translations"
RU = TRANSLATIONS / "ru" / "LC_MESSAGES" / "messages.po"


@contextmanager
def _locked():
    with open(TRANSLATIONS / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _pybabel(*args: str) -> None:
    exe = os.path.join(os.path.dirname(sys.executable), "pybabel")
    subprocess.run([exe, *args], cwd=ROOT, check=True, capture_output=True)


def _extract() -> None:
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "--no-location",
             "--sort-output", "--project=Hookdesk", "--msgid-bugs-address=",
             "-o", str(TRANSLATIONS / "messages.pot"), ".")
    _pybabel("update", "-i", str(TRANSLATIONS / "messages.pot"), "-d", str(TRANSLATIONS),
             "--no-fuzzy-matching", "--ignore-obsolete")


def _compile() -> None:
    _pybabel("compile", "-d", str(TRANSLATIONS))


def missing() -> list[str]:
    with open(RU, "rb") as fh:
        catalog = read_po(fh, locale="ru")
    result = []
    for message in catalog:
        if not message.id:
            continue
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if not all(strings):
            result.append(message.id if isinstance(message.id, str) else message.id[0])
    return result


def translate(translations: dict[str, str | list[str]]) -> list[str]:
    """Merge translations; returns the msgids still missing afterwards."""
    with _locked():
        _extract()
        with open(RU, "rb") as fh:
            catalog = read_po(fh, locale="ru")
        for message in catalog:
            key = message.id if isinstance(message.id, str) else message.id[0]
            if message.id and key in translations:
                value = translations[key]
                message.string = tuple(value) if isinstance(message.id, tuple) else value
                message.flags.discard("fuzzy")
        with open(RU, "wb") as fh:
            write_po(fh, catalog, sort_output=True, omit_header=False, width=100)
        _compile()
    return missing()


def main(argv: list[str]) -> int:
    if argv[:1] == ["missing"]:
        with _locked():
            _extract()
        left = missing()
        print("\n".join(left) if left else "Every word has a Russian translation.")
        return 1 if left else 0
    if len(argv) == 2 and argv[0] == "translate":
        with open(argv[1], encoding="utf-8") as fh:
            left = translate(json.load(fh))
        print("\n".join(["Still missing:", *left]) if left else "All translated.")
        return 1 if left else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
