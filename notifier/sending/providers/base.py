"""The small interface the send path needs from an SMS provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from notifier.core.errors import GuatuError
from notifier.sending.codes import TWILIO_OPT_OUT, Action

# Twilio error codes after which the recipient is recorded as opted out (kept for importers).
OPTED_OUT_CODES = TWILIO_OPT_OUT


@dataclass(frozen=True)
class TemplateUse:
    """A registered template (短信模板报备) and the values of its named parameters for one message."""

    code: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    """The provider accepted the message."""

    sid: str
    status: str = "queued"
    # Which provider took it, when a wrapper (fallback) chose among several; else the caller's.
    provider: str | None = None
    price: Decimal | None = None
    price_unit: str | None = None


@dataclass(frozen=True)
class SentMessage:
    """A message the provider has on record (used to reconcile an interrupted send)."""

    sid: str
    to: str
    body: str
    status: str
    date_created: datetime | None = None
    provider: str | None = None
    # Our own key for the delivery, where the provider keeps one (Alibaba Cloud's OutId).
    reference: str | None = None
    error_code: int | None = None
    price: Decimal | None = None
    price_unit: str | None = None


class ProviderError(GuatuError):
    """A provider refused or failed a request.

    `action` is what the send loop does about it (notifier.sending.codes); `provider_code` is the
    provider's own code verbatim. `outcome_unknown` means the request may have reached the provider
    (a timeout, a dropped connection): the delivery is reconciled against the provider before any
    resend. `code` is the numeric code where there is one (Twilio's), kept on the delivery too.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        transient: bool | None = None,
        action: Action | None = None,
        provider_code: str | None = None,
        outcome_unknown: bool = False,
        opt_out: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        if action is None:
            action = Action.RETRY if transient or outcome_unknown else Action.PERMANENT
        self.action = action
        self.provider_code = provider_code if provider_code is not None else (str(code) if code else None)
        self.outcome_unknown = outcome_unknown
        self.opt_out = opt_out or code in TWILIO_OPT_OUT

    @property
    def transient(self) -> bool:
        """Worth trying again later (throttling, a server error, an unknown outcome)."""
        return self.action == Action.RETRY or self.outcome_unknown


class SmsProvider(Protocol):
    """What the send path needs: send one message, and list what was sent to a number since a time."""

    name: str

    async def send(
        self,
        *,
        to: str,
        body: str,
        status_callback: str | None = None,
        reference: str | None = None,
        template: TemplateUse | None = None,
    ) -> SendResult:
        """Hand one message to the provider; raise ProviderError on failure. `reference` is our key
        for the delivery (kept by providers that have a field for it); `template` is the registered
        template with its parameters, for providers that send templates rather than text."""
        ...

    async def find_sent(self, *, to: str, since: datetime) -> list[SentMessage]:
        """Messages to `to` created at or after `since` (for reconciliation before any resend)."""
        ...

    async def aclose(self) -> None: ...
