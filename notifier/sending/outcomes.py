"""What the send loop holds (a claim) and what it writes back (an outcome), and the one statement
that writes outcomes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Delivery, DeliveryState, utcnow
from notifier.sending.codes import Action

_TABLE: Any = Delivery.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds: the claim is (id, attempts), valid until `lease_until`."""

    id: int
    phone: str
    body: str
    attempts: int
    lease_until: datetime

    @property
    def reference(self) -> str:
        """Our key for this delivery at the provider (Alibaba Cloud's OutId), the same for every attempt."""
        return f"guatu-{self.id}"


@dataclass(frozen=True)
class Outcome:
    """What became of one claim. It is written only while the row still carries that claim (state
    `sending` and the same attempt number), so a late result never overwrites a newer claim.

    `refund` gives the attempt back (a hold, a paused campaign: nothing was tried on the recipient);
    `recheck_at` keeps the row `sending` and reconciles it against the provider then (an unknown
    outcome)."""

    id: int
    attempts: int
    state: DeliveryState
    sid: str | None = None
    provider: str | None = None
    code: int | None = None
    message: str | None = None
    next_attempt_at: datetime | None = None
    skip_reason: str | None = None
    provider_code: str | None = None
    refund: bool = False
    recheck_at: datetime | None = None
    price: Decimal | None = None
    price_unit: str | None = None
    action: Action | None = None
    opt_out: bool = False


def backoff(attempts: int, base_ms: int, *, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter: base × 2^(attempts−1), capped at 5 minutes, times 0.5–1."""
    ceiling = min(base_ms * 2 ** max(attempts - 1, 0), 300_000)
    return timedelta(milliseconds=ceiling * (rng or random).uniform(0.5, 1.0))


async def write_outcomes(session: AsyncSession, outcomes: list[Outcome]) -> None:
    """Record results in one executemany; a row no longer `sending` is left alone."""
    if not outcomes:
        return
    now = utcnow()
    final = {DeliveryState.FAILED, DeliveryState.SKIPPED, DeliveryState.DELIVERED, DeliveryState.UNDELIVERED}
    params = [
        {"b_id": o.id, "b_attempts": o.attempts, "b_state": o.state, "b_sid": o.sid, "b_provider": o.provider,
         "b_code": o.code, "b_pcode": o.provider_code, "b_message": o.message, "b_next": o.next_attempt_at,
         "b_skip": o.skip_reason, "b_sent": now if o.state == DeliveryState.SENT else None,
         "b_final": now if o.state in final else None, "b_refund": 1 if o.refund else 0,
         "b_lease": o.recheck_at, "b_price": o.price, "b_unit": o.price_unit}
        for o in outcomes
    ]  # fmt: skip
    statement = (
        _TABLE.update()
        .where(and_(_TABLE.c.id == bindparam("b_id"), _TABLE.c.state == DeliveryState.SENDING,
                    _TABLE.c.attempts == bindparam("b_attempts")))
        .values(state=bindparam("b_state"), provider_sid=bindparam("b_sid"), provider=bindparam("b_provider"),
                error_code=bindparam("b_code"), provider_code=bindparam("b_pcode"),
                error_message=bindparam("b_message"), next_attempt_at=bindparam("b_next"),
                skip_reason=bindparam("b_skip"), sent_at=bindparam("b_sent"), final_at=bindparam("b_final"),
                attempts=_TABLE.c.attempts - bindparam("b_refund"), lease_until=bindparam("b_lease"),
                price=bindparam("b_price"), price_unit=bindparam("b_unit"), updated_at=now)
    )  # fmt: skip
    await session.execute(statement, params)
    await session.commit()
