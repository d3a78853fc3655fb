"""The delivery state machine: which moves are allowed, so that nothing ever moves backwards."""

from __future__ import annotations

from models import DeliveryState

# Progress order; a provider callback may only move a delivery forward along it.
_RANK = {
    DeliveryState.PENDING: 0,
    DeliveryState.SENDING: 1,
    DeliveryState.SENT: 2,
    DeliveryState.DELIVERED: 3,
    DeliveryState.UNDELIVERED: 3,
    DeliveryState.FAILED: 3,
    DeliveryState.SKIPPED: 3,
}
FINAL = frozenset(
    {DeliveryState.DELIVERED, DeliveryState.UNDELIVERED, DeliveryState.FAILED, DeliveryState.SKIPPED}
)

# Twilio's message statuses mapped to ours.
TWILIO_STATUS = {
    "accepted": DeliveryState.SENT,
    "scheduled": DeliveryState.SENT,
    "queued": DeliveryState.SENT,
    "sending": DeliveryState.SENT,
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.DELIVERED,
    "undelivered": DeliveryState.UNDELIVERED,
    "failed": DeliveryState.FAILED,
    "canceled": DeliveryState.FAILED,
}


def can_move(current: DeliveryState, new: DeliveryState) -> bool:
    """True when `new` is strictly further along than `current` (final states never change)."""
    if current in FINAL:
        return False
    return _RANK[new] > _RANK[current]
