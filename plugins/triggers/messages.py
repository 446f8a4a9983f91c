"""Texts of the triggers plugin said in English (the API, the CLI, the logs) that
keep their marked template and values, so the admin screens can say them in the
reader's language (``plugins.triggers.views.translated``): the checks' problems
and the dry run's explanation lines."""

from __future__ import annotations

from typing import Any


class Msg(str):
    """A problem in English (what the API answers) that keeps its marked template
    and values, so the rule editor can say it in the reader's language
    (``plugins.triggers.views.translated``). ``Msg.plain`` wraps a text made
    elsewhere (a phone or URL check): shown translated when the catalogue has it."""

    template: str
    values: dict[str, Any]
    braced: bool

    def __new__(cls, template: str, /, **values: Any) -> Msg:
        self = super().__new__(cls, template.format(**values))
        self.template, self.values, self.braced = template, values, True
        return self

    @classmethod
    def plain(cls, text: str) -> Msg:
        self = str.__new__(cls, text)
        self.template, self.values, self.braced = text, {}, False
        return self
