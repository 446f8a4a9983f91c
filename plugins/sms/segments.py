"""How long an SMS is and how many parts it takes (GSM 03.38 / 3GPP TS 23.038).

A text made only of GSM-7 characters is sent in the GSM 7-bit alphabet: 160
characters in one message, 153 in each part of a longer one (the other 7 carry
the concatenation header). The characters of the extension table (``^ { } \\ [ ~ ]
| €`` and form feed) are sent as an escape plus a code: they count twice. Any
other character (Cyrillic, emoji...) makes the whole text UCS-2: 70 UTF-16 code
units in one message, 67 in each part (a character outside the BMP takes two).
A part never ends between an escape and its code, nor inside a surrogate pair.

Pure functions; ``plugins/sms/static/counter.js`` mirrors them in the browser.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7 = "gsm7"
UCS2 = "ucs2"

# The basic table in code order (0x1B, the escape, is not a character of its own).
BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
         "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
# The extension table: character -> its code after the escape.
EXTENSION = {"\x0c": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C,
             "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}
_BASIC_CODE = {ch: code for code, ch in enumerate(BASIC) if ch != "\x1b"}

LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}  # (one message, each part of several)


@dataclass(frozen=True)
class Segments:
    encoding: str      # "gsm7" or "ucs2"
    length: int        # units: GSM-7 septets (extension characters count 2) or UTF-16 units
    parts: int         # messages the operator bills; 0 for an empty text
    per_part: int      # units a part holds at this length (160/153 or 70/67)
    remaining: int     # units still free in the last part


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC_CODE or ch in EXTENSION for ch in text)


def _unit_of(ch: str, encoding: str) -> int:
    if encoding == GSM7:
        return 2 if ch in EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def encoding_of(text: str) -> str:
    return GSM7 if is_gsm7(text) else UCS2


def split(text: str) -> list[str]:
    """The parts ``text`` is sent in, each a whole number of characters."""
    if not text:
        return []
    encoding = encoding_of(text)
    single, multi = LIMITS[encoding]
    if sum(_unit_of(ch, encoding) for ch in text) <= single:
        return [text]
    parts, current, used = [], [], 0
    for ch in text:
        units = _unit_of(ch, encoding)
        if used + units > multi:
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += units
    parts.append("".join(current))
    return parts


def count(text: str) -> Segments:
    """``count("Hello")`` -> ``Segments("gsm7", 5, 1, 160, 155)``."""
    encoding = encoding_of(text)
    single, multi = LIMITS[encoding]
    length = sum(_unit_of(ch, encoding) for ch in text)
    parts = split(text)
    per_part = single if len(parts) <= 1 else multi
    last = sum(_unit_of(ch, encoding) for ch in parts[-1]) if parts else 0
    return Segments(encoding, length, len(parts), per_part, per_part - last)


def encode(text: str, encoding: str | None = None) -> tuple[bytes, int]:
    """``(bytes, SMPP data_coding)``: unpacked GSM-7 (one octet a septet, data_coding
    0, the SMSC's default alphabet) or UCS-2 big-endian (data_coding 8). Give the
    whole message's ``encoding`` when encoding one of its parts."""
    if (encoding or encoding_of(text)) == GSM7:
        out = bytearray()
        for ch in text:
            if ch in EXTENSION:
                out += bytes((0x1B, EXTENSION[ch]))
            else:
                out.append(_BASIC_CODE[ch])
        return bytes(out), 0
    return text.encode("utf-16-be"), 8


def decode(data: bytes, data_coding: int) -> str:
    """The inverse of ``encode`` (for messages a gateway delivers to us)."""
    if data_coding == 8:
        return data.decode("utf-16-be", errors="replace")
    reverse_ext = {code: ch for ch, code in EXTENSION.items()}
    out, escape = [], False
    for byte in data:
        if escape:
            out.append(reverse_ext.get(byte, " "))
            escape = False
        elif byte == 0x1B:
            escape = True
        elif byte < len(BASIC):
            out.append(BASIC[byte])
    return "".join(out)
