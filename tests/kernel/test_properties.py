"""Properties of the pure helpers every form goes through: phone normalization
(K9) and number parsing (K4 "number" fields)."""

import math
import string

import phonenumbers
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from marshmallow import ValidationError

from kernel import phones
from kernel.schema import Number

FMT = phonenumbers.PhoneNumberFormat

# -- phones ----------------------------------------------------------------------

ru_mobiles = st.text(alphabet=string.digits, min_size=9, max_size=9).map(lambda s: "9" + s)
separators = st.lists(st.sampled_from(["", "", " ", "-", ".", " - "]), min_size=11,
                      max_size=11)


def scatter(digits: str, seps: list[str]) -> str:
    return "".join(d + s for d, s in zip(digits, seps, strict=False)).strip(" -.")


@given(ru_mobiles, separators)
@example("9123456789", [""] * 11)
def test_ways_of_writing_a_russian_number_normalize_alike(national, seps):
    parsed = phonenumbers.parse("+7" + national)
    assume(phonenumbers.is_valid_number(parsed))
    e164 = "+7" + national
    written = [
        e164,
        phonenumbers.format_number(parsed, FMT.INTERNATIONAL),  # +7 912 345-67-89
        phonenumbers.format_number(parsed, FMT.NATIONAL),  # 8 (912) 345-67-89
        phonenumbers.format_number(parsed, FMT.RFC3966),  # tel:+7-912-345-67-89
        "8" + national,
        "7" + national,
        national,
        "+7 (" + national[:3] + ") " + national[3:],
        "8" + scatter(national, seps),
        "+7" + scatter(national, seps),
        "  8 " + national + "  ",
    ]
    assert {w: phones.normalize(w, "RU") for w in written} == dict.fromkeys(written, e164)


REGIONS = ["RU", "KZ", "BY", "US", "GB", "DE", "FR", "TR"]


@given(st.sampled_from(REGIONS), st.sampled_from(["mobile", "fixed"]),
       st.text(alphabet=string.digits, min_size=3, max_size=3), st.sampled_from(REGIONS))
def test_numbers_of_any_country_normalize_alike_from_any_default_region(region, kind, tail,
                                                                         default_region):
    kind_enum = {"mobile": phonenumbers.PhoneNumberType.MOBILE,
                 "fixed": phonenumbers.PhoneNumberType.FIXED_LINE}[kind]
    sample = phonenumbers.example_number_for_type(region, kind_enum)
    parsed = phonenumbers.parse(f"+{sample.country_code}{str(sample.national_number)[:-3]}{tail}")
    assume(phonenumbers.is_valid_number(parsed))
    e164 = phonenumbers.format_number(parsed, FMT.E164)
    international = [phonenumbers.format_number(parsed, f)
                     for f in (FMT.E164, FMT.INTERNATIONAL, FMT.RFC3966)]
    for written in international:
        assert phones.normalize(written, default_region) == e164
    # Written the way people of that country write it, read with their region.
    assert phones.normalize(phonenumbers.format_number(parsed, FMT.NATIONAL), region) == e164


@given(st.text(max_size=40))
@example("")
@example("   ")
@example("+")
@example("8 (912) 345-67-8")
@example("+7 912 345-67-89 доб. 12")
def test_normalize_returns_e164_or_refuses_clearly(raw):
    try:
        result = phones.normalize(raw, "RU")
    except phones.InvalidPhone as exc:
        assert str(exc)  # a message for the person who typed it
        return
    assert result.startswith("+") and result[1:].isdigit()
    assert phones.normalize(result, "RU") == result  # idempotent
    assert phones.normalize(phones.display(result), "RU") == result


def test_different_numbers_stay_different():
    assert phones.normalize("8 912 345-67-89") != phones.normalize("8 912 345-67-88")
    assert phones.normalize("8 912 345-67-89") != phones.normalize("8 913 345-67-89")
    with pytest.raises(phones.InvalidPhone):
        phones.normalize("+7 912 345-67-89 1")  # one digit too many is not "the same"


# -- numbers (kernel.schema.Number) -------------------------------------------------


def load(value):
    return Number().deserialize(value)


safe_ints = st.integers(-(2**53) + 1, 2**53 - 1)


@given(safe_ints)
def test_integers_load_as_int_however_written(n):
    grouped = f"{n:,}".replace(",", " ")  # 1 234 567, as people type it
    for written in (n, str(n), f" {n} ", grouped, f"{n}.0", f"{n},0", float(n)):
        loaded = load(written)
        assert loaded == n and type(loaded) is int, written


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_finite_floats_round_trip(x):
    for written in (x, repr(x), repr(x).replace(".", ",")):
        loaded = load(written)
        assert loaded == x
        assert math.isfinite(loaded)
        if x.is_integer() and abs(x) < 2**53:
            assert type(loaded) is int
        else:
            assert type(loaded) is float


@given(st.one_of(st.text(max_size=30), st.floats(), st.booleans(), st.none(),
                 st.lists(st.integers(), max_size=2), st.integers(min_value=-(10**30),
                                                                  max_value=10**30)))
@example("nan")
@example("inf")
@example("-Infinity")
@example("1e999")
@example("9" * 5000)
@example(True)
@example("")
def test_anything_loads_to_a_finite_number_or_is_refused(value):
    try:
        loaded = load(value)
    except ValidationError as exc:
        assert exc.messages
        return
    assert type(loaded) in (int, float)
    assert math.isfinite(loaded)


@pytest.mark.parametrize("value", [True, False, "nan", "inf", "-inf", "1e999", "", "  ",
                                   "abc", "1.2.3", "12abc", "--1", "1,2,3", [1], {}])
def test_not_numbers_are_refused(value):
    with pytest.raises(ValidationError, match="Not a valid number"):
        load(value)
