"""The small interface the send path needs from an SMS provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from notifier.core.errors import GuatuError

# Twilio error codes that will not succeed on retry (invalid number, region, unsubscribed, not mobile...).
PERMANENT_CODES = frozenset({21211, 21408, 21610, 21612, 21614, 21606, 21617, 30003, 30005, 30006, 30007})
# The recipient has opted out at the carrier / provider (also recorded as an opt-out here).
OPTED_OUT_CODES = frozenset({21610})


@dataclass(frozen=True)
class SendResult:
    """The provider accepted the message."""

    sid: str
    status: str = "queued"
    # Which provider took it, when a wrapper (fallback) chose among several; else the caller's.
    provider: str | None = None


@dataclass(frozen=True)
class SentMessage:
    """A message the provider has on record (used to reconcile an interrupted send)."""

    sid: str
    to: str
    body: str
    status: str
    date_created: datetime | None = None
    provider: str | None = None


class ProviderError(GuatuError):
    """A provider refused or failed a request.

    `transient` errors (HTTP 429 / 20429, 5xx, timeouts, connection errors) may be retried with
    backoff; the rest are permanent and recorded on the delivery with `code`.
    """

    def __init__(
        self, message: str, *, code: int | None = None, status: int | None = None, transient: bool
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.transient = transient


class SmsProvider(Protocol):
    """What the send path needs: send one message, and list what was sent to a number since a time."""

    name: str

    async def send(self, *, to: str, body: str, status_callback: str | None = None) -> SendResult:
        """Hand one message to the provider; raise ProviderError on failure."""
        ...

    async def find_sent(self, *, to: str, since: datetime) -> list[SentMessage]:
        """Messages to `to` created at or after `since` (for reconciliation before any resend)."""
        ...

    async def aclose(self) -> None: ...
