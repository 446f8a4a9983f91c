"""Phone numbers: normalized to E.164 with the ``phonenumbers`` library."""

from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    pass


def normalize(raw: str, region: str = "RU") -> str:
    """``"8 (912) 345-67-89"`` -> ``"+79123456789"``; raises ``InvalidPhone``."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("Phone number is empty.")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"{raw!r} is not a phone number.") from exc
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone(f"{raw!r} is not a valid phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def display(e164: str) -> str:
    """The international, human-readable form: ``+7 912 345-67-89``."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
