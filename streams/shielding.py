"""Running blocking work off the event loop without letting a cancellation cut it short."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def run_to_completion(func: Callable[..., T], *args: object) -> T:
    """Run `func(*args)` in a thread and return its result.

    If the awaiting task is cancelled meanwhile (a worker stopping, a rebalance), wait for the thread to
    finish before the cancellation propagates: faust acks a batch's events once the agent lets go of it, so
    the work that makes acking safe (a landing file on disk) must be done by then.
    """
    task = asyncio.ensure_future(asyncio.to_thread(func, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise
