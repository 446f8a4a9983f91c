"""The segment counter (GSM-7 160/153 with the extension table counted twice,
UCS-2 70/67 in UTF-16 units) and its splitter: examples and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.sms import segments
from plugins.sms.segments import EXTENSION, GSM7, UCS2

GSM_CHARS = [ch for ch in segments.BASIC if ch != "\x1b"] + list(EXTENSION)


@pytest.mark.parametrize("text, encoding, length, parts", [
    ("", GSM7, 0, 0),
    ("Hello", GSM7, 5, 1),
    ("a" * 160, GSM7, 160, 1),
    ("a" * 161, GSM7, 161, 2),
    ("a" * 306, GSM7, 306, 2),
    ("a" * 307, GSM7, 307, 3),
    ("€" * 80, GSM7, 160, 1),          # extension characters count twice
    ("€" * 81, GSM7, 162, 2),
    ("a" * 159 + "[", GSM7, 161, 2),
    ("Привет", UCS2, 6, 1),
    ("я" * 70, UCS2, 70, 1),
    ("я" * 71, UCS2, 71, 2),
    ("я" * 134, UCS2, 134, 2),
    ("я" * 135, UCS2, 135, 3),
    ("a" * 150 + "ё", UCS2, 151, 3),     # one non-GSM letter makes all of it UCS-2
    ("😀" * 35, UCS2, 70, 1),           # outside the BMP: two UTF-16 units
    ("😀" * 36, UCS2, 72, 2),
])
def test_examples(text, encoding, length, parts):
    counted = segments.count(text)
    assert (counted.encoding, counted.length, counted.parts) == (encoding, length, parts)


def test_a_part_never_splits_an_escape_or_a_surrogate_pair():
    text = "a" * 152 + "€" + "b" * 10      # the escape would be unit 153, its code 154
    assert [len(p) for p in segments.split(text)] == [152, 11]
    assert segments.count(text).remaining == 153 - 12
    text = "я" * 66 + "😀" + "я" * 10      # the pair would straddle units 67 and 68
    assert [len(p) for p in segments.split(text)] == [66, 11]


def test_encode_and_decode():
    data, coding = segments.encode("Hi €[")
    assert coding == 0 and data == bytes((0x48, 0x69, 0x20, 0x1B, 0x65, 0x1B, 0x3C))
    assert segments.decode(data, 0) == "Hi €["
    data, coding = segments.encode("Да")
    assert coding == 8 and data == "Да".encode("utf-16-be")
    # A GSM-only part of a UCS-2 message is still UCS-2.
    assert segments.encode("ok", UCS2) == ("ok".encode("utf-16-be"), 8)


def _units(text: str, encoding: str) -> int:
    if encoding == GSM7:
        return sum(2 if ch in EXTENSION else 1 for ch in text)
    return len(text.encode("utf-16-le")) // 2


texts = st.one_of(
    st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=700),
    st.text(max_size=400),
    st.text(alphabet=st.sampled_from(GSM_CHARS + ["я", "😀"]), max_size=500),
)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_properties(text):
    counted = segments.count(text)
    parts = segments.split(text)
    encoding = counted.encoding
    single, multi = segments.LIMITS[encoding]
    # The encoding: GSM-7 exactly when every character is in its tables.
    assert (encoding == GSM7) == all(ch in GSM_CHARS for ch in text)
    # The parts put together are the text, and their number is what count() says.
    assert "".join(parts) == text and len(parts) == counted.parts
    assert counted.length == _units(text, encoding)
    if counted.length == 0:
        assert counted.parts == 0
    elif counted.length <= single:
        assert counted.parts == 1
    else:
        assert all(0 < _units(p, encoding) <= multi for p in parts)
        # Never more parts than needed, save one unit a part lost to a whole character.
        assert math.ceil(counted.length / multi) <= counted.parts
        assert counted.parts <= math.ceil(counted.length / (multi - 1))
    assert 0 <= counted.remaining <= counted.per_part
    # What SMPP sends decodes back to the text.
    for part in parts:
        data, coding = segments.encode(part, encoding)
        assert segments.decode(data, coding) == part
