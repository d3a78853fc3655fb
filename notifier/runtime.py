"""Process settings for the bot's long-running process (`guatu bot`, and the bot inside `guatu serve`)."""

from __future__ import annotations

import gc

# Allocations between two young-generation collections (CPython's default is 700).
YOUNG_GC_THRESHOLD = 10_000


def tune_gc() -> None:
    """Once the service is built: its start-up heap (modules, pydantic and SQLAlchemy metadata, the
    dispatcher) is moved out of the collector's sight, and young collections run less often.

    Every update builds and drops hundreds of small pydantic and SQLAlchemy objects; with CPython's
    defaults the collector ran every 700 of them and kept re-walking the large start-up heap, which
    was the largest single cost of the bot under load (`guatu bench bot`, profiled). Reference counting still
    frees almost everything at once; the collector only has cycles left to find.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, middle, old)
