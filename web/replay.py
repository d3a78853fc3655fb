"""A signed request replayed changes nothing twice.

A webhook's signature covers its URL and parameters, so a copy sent again carries the same one:
`once_per_signature` lets a request through the first time its signature is seen (for REPLAY_WINDOW)
and answers any copy with the webhook's own "nothing to do". A request whose handler fails is
forgotten, so the sender's retry of it is processed.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from web.throttle import first_time, forget

REPLAY_WINDOW = 14 * 24 * 3600


class Replayed(Exception):
    """Raised by the guard for a copy; the app answers with `response`."""

    def __init__(self, response: Response) -> None:
        super().__init__("replayed request")
        self.response = response


def once_per_signature(
    verified: Callable[..., Awaitable[Any]], *, header: str, answer: Callable[[], Response]
) -> Callable[..., AsyncIterator[Any]]:
    """A dependency giving what `verified` gives (a request whose signature checked out), once per
    value of the signature `header`; a copy raises Replayed(answer())."""

    async def guard(request: Request, value: Annotated[Any, Depends(verified)]) -> AsyncIterator[Any]:
        counters = request.app.state.counters
        key = f"{header}:{request.url.path}:{request.headers.get(header, '')}"
        if not await first_time(counters, key, window=REPLAY_WINDOW):
            raise Replayed(answer())
        try:
            yield value
        except Exception:
            await forget(counters, key)
            raise

    return guard


async def replayed_response(_request: Request, exc: Exception) -> Response:
    """The app's handler for Replayed."""
    assert isinstance(exc, Replayed)
    return exc.response
