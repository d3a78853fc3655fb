"""SMS encoding and segments: GSM-7 (with its extension table) or else UCS-2, as carriers count them.

GSM-7 fits 160 septets in one message and 153 per segment once split (the rest is the
concatenation header); extension-table characters take two septets (an escape and the
character). UCS-2 fits 70 units, 67 per segment; a character outside the Basic Multilingual
Plane (an emoji) takes two units (a surrogate pair). Neither an escape pair nor a surrogate pair
is ever split across two segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM7 = "GSM-7"
UCS2 = "UCS-2"
LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str
    characters: int
    segments: int
    per_segment: int
    units: int

    def to_json(self) -> dict[str, object]:
        return {"encoding": self.encoding, "characters": self.characters, "segments": self.segments,
                "per_segment": self.per_segment}  # fmt: skip


def encoding_of(text: str) -> str:
    return GSM7 if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text) else UCS2


def _unit_cost(char: str, encoding: str) -> int:
    if encoding == GSM7:
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def segment_info(text: str) -> SegmentInfo:
    """How `text` travels: its encoding, length in characters, and segments."""
    encoding = encoding_of(text)
    single, multi = LIMITS[encoding]
    costs = [_unit_cost(c, encoding) for c in text]
    units = sum(costs)
    if units <= single:
        return SegmentInfo(encoding, len(text), 1 if text else 0, single, units)
    segments, used = 1, 0
    for cost in costs:  # pack greedily; a two-unit character never straddles a boundary
        if used + cost > multi:
            segments, used = segments + 1, 0
        used += cost
    return SegmentInfo(encoding, len(text), segments, multi, units)


def split_segments(text: str) -> list[str]:
    """The text of each segment (for previews and tests)."""
    info = segment_info(text)
    if info.segments <= 1:
        return [text] if text else []
    parts, current, used = [], "", 0
    for char in text:
        cost = _unit_cost(char, info.encoding)
        if used + cost > info.per_segment:
            parts.append(current)
            current, used = "", 0
        current += char
        used += cost
    parts.append(current)
    return parts


def with_signature(text: str, signature: str) -> str:
    """Put the office's signature in front (once)."""
    if not signature or text.startswith(signature):
        return text
    return signature + text


def estimate_cost(*, segments: int, recipients: int, price: Decimal) -> Decimal:
    """Segments × recipients × price per segment, in yuan."""
    return (Decimal(segments) * Decimal(recipients) * price).quantize(Decimal("0.01"))
