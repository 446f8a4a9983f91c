"""Marking the kernel's and plugins' own words for translation (X2).

The kernel speaks English and knows no web code, so it cannot translate. It
*marks* the labels people will read — status names, field labels, help texts,
choice labels, permission names — with the no-op ``N_()``::

    from kernel.i18n import N_

    d.FieldDecl("subject", "text", N_("Subject"))

``pybabel extract`` (keyword ``N_``, see ``babel.cfg``) puts the marked words
into the catalogue, and the web layer translates them when it renders
(``_(label)`` in a template, ``web.i18n.translate_label``). A label an admin
renamed at run time is no longer a msgid and is shown as the admin wrote it.

A plugin marks its labels the same way and ships its catalogue in its own
``translations/`` folder, returned from ``hookdesk_register_translations``.
"""

from __future__ import annotations


def N_(text: str) -> str:  # noqa: N802 - the gettext convention
    """Mark ``text`` for extraction; returns it unchanged."""
    return text


__all__ = ["N_"]
