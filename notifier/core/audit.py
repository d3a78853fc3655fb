"""The audit log: who did what, through which channel, and whether it was allowed."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models import AuditLog


async def record_audit(
    session: AsyncSession,
    *,
    action: str,
    channel: str,
    allowed: bool = True,
    actor_id: int | None = None,
    actor_telegram_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit row to the session (the caller commits)."""
    row = AuditLog(
        action=action,
        channel=channel,
        allowed=allowed,
        actor_id=actor_id,
        actor_telegram_id=actor_telegram_id,
        detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
    )
    session.add(row)
    return row
