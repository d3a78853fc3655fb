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


def mask_phone(e164: str) -> str:
    """A number safe to show on the wall or in logs: +86139****0001."""
    if len(e164) < 8:
        return "****"
    return f"{e164[:6]}****{e164[-4:]}"
