"""Phone numbers: parsed with `phonenumbers` (default region CN) and stored as E.164."""

from __future__ import annotations

import phonenumbers

from notifier.core.errors import GuatuError


class PhoneError(GuatuError, ValueError):
    """A number that is not a valid phone number; the message says which and why."""


def parse_phone(text: str, region: str = "CN") -> str:
    """Return `text` as E.164 (+8613800138000) or raise PhoneError with a readable reason."""
    raw = (text or "").strip()
    if not raw:
        raise PhoneError("手机号为空 / the phone number is empty")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise PhoneError(f"无法识别的手机号:{raw} / not a phone number: {raw}") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"无效的手机号:{raw} / invalid phone number: {raw}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# What phonenumbers calls a number SMS can reach; FIXED_LINE_OR_MOBILE is what it says when a
# region's plan cannot tell (the US), so it is let through.
_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def parse_mobile(text: str, region: str = "CN") -> str:
    """Like parse_phone, and refuse a number that cannot take SMS (a landline such as 0483-8312345),
    naming its type as phonenumbers reads it."""
    e164 = parse_phone(text, region)
    kind = phonenumbers.number_type(phonenumbers.parse(e164))
    if kind not in _MOBILE_TYPES:
        name = "固定电话" if kind == phonenumbers.PhoneNumberType.FIXED_LINE else "非手机号"
        english = next((k for k, v in vars(phonenumbers.PhoneNumberType).items() if v == kind), str(kind))
        raise PhoneError(
            f"{(text or '').strip()} 是{name},不能接收短信,请填写手机号 / {(text or '').strip()} is not a mobile "
            f"number ({english}), it cannot receive SMS"
        )
    return e164


def mask_phone(e164: str) -> str:
    """A number safe to show on the wall or in logs: +86139****0001."""
    if len(e164) < 8:
        return "****"
    return f"{e164[:6]}****{e164[-4:]}"
