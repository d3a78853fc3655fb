"""Hostile input for phone parsing: never an unhandled exception; accepted numbers are canonical E.164."""

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.core.phones import PhoneError, mask_phone, parse_phone

junk = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
digits = st.text(alphabet="0123456789+-() ", min_size=0, max_size=20)


@settings(max_examples=400, deadline=None)
@given(st.one_of(junk, digits))
def test_parse_phone_never_crashes(text: str) -> None:
    try:
        e164 = parse_phone(text)
    except PhoneError as exc:
        assert str(exc)
        return
    assert e164.startswith("+")
    assert phonenumbers.is_valid_number(phonenumbers.parse(e164))
    assert parse_phone(e164) == e164  # canonical: parsing again changes nothing


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=13_000_000_000, max_value=19_999_999_999))
def test_mainland_mobiles_round_trip(number: int) -> None:
    try:
        e164 = parse_phone(str(number))
    except PhoneError:
        return
    assert e164 == f"+86{number}"
    assert parse_phone(f"+86 {str(number)[:3]} {str(number)[3:7]} {str(number)[7:]}") == e164
    masked = mask_phone(e164)
    assert masked.endswith(e164[-4:]) and "****" in masked and e164 not in masked
