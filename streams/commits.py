"""Faust's commit bookkeeping, made to commit only offsets whose messages were processed.

Faust (0.15) commits a partition up to the end of the first run of consecutive offsets in its list of
acknowledged offsets (`Consumer._acked`, read by `Consumer._new_offset`). Three flaws of that bookkeeping were
seen here; `guard_commits` mends all three, for every faust consumer of the process:

1. **Repeats stall commits.** When the same offset is delivered twice (two `Message` objects: seen at worker
   start, when the table recovery resumes the stream partitions and the fetcher before `perform_seek` seeks
   them back to the committed offset), both copies can be acknowledged and the list holds the offset twice:
   `[84, 84, 85, 85, ...]`. `consecutive_numbers` stops at every repeat, so each commit advanced one offset
   only: the group looked stopped (docs/commit-stalls.md). Mended by making the list unique and sorted.
2. **One unprocessed offset at the head is committed over.** `_new_offset` refuses to commit when the first
   acknowledged offset is more than one past the committed offset, so with committed offset N (the next to
   read) and `[N+1, N+2]` acknowledged it commits N+3 while N is still being processed: a kill then loses N
   (faust-streaming issue #606; lost one job request in the SIGKILL fault test). Mended: nothing is committed
   while the first acknowledged offset is past the committed one, unless a known gap (compaction, transaction
   markers: `Consumer._gap`) covers the hole, nor while a message below it is still in flight.
3. **Skipped messages count as processed.** A stream that takes a message while flow control is suspended (a
   rebalance under way) or from an earlier consumer generation skips it and acknowledges it, so that faust
   can fetch it again after seeking to the committed offset. But the acknowledgement enters the list like any
   other, and the commit made while the partitions are revoked (`wait_empty`) can include it: the message
   is never processed and never fetched again. Mended: an acknowledgement made while flow control is
   suspended, or of a message of another generation, releases the message (nothing waits for it any more)
   without adding its offset; the message is delivered again after the seek (landing and billing are
   idempotent by offset and event id, so a processed one delivered again changes nothing).

And one bound: at a revocation faust waits in `Consumer.wait_empty` until every message an agent took is
acknowledged, with no limit. A message dropped from one agent's queue after others took it can never be
acknowledged: the revoked worker hung there for good, the group never finished rebalancing, nothing more was
landed (docs/reliability.md, "Rebalances"). `bound_wait_empty` ends the wait after a limit shorter than the
rebalance timeout and releases the messages still waited for without committing their offsets: the next owner
of their partitions fetches them again. The limit is far above a landing batch's time (2 s of buffering and a
write), so a message still being processed is not released in practice; if one were, it could land twice.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from faust.transport.consumer import Consumer
from faust.types.tuples import ack_lock
from mode.utils.futures import notify

log = logging.getLogger(__name__)

_PATCHED = "_hcp_commit_guard"
_BOUNDED = "_hcp_bounded_wait_empty"


def unique_offsets(acked: list[int]) -> None:
    """Sort `acked` in place and drop repeated offsets (faust keeps it sorted; repeats stop its commits)."""
    unique = sorted(set(acked))
    if unique != acked:
        acked[:] = unique


def lowest_offset_in_flight(consumer: Consumer, tp: Any) -> int | None:
    """The lowest offset of `tp` that a stream has taken and not yet acknowledged (None if none)."""
    offsets = [m.offset for m in list(consumer._unacked_messages) if m.tp == tp and not m.acked]
    return min(offsets, default=None)


def commit_point_withheld(consumer: Consumer, tp: Any, acked: list[int]) -> bool:
    """Whether committing now would pass an offset that was not processed (acked is sorted and unique)."""
    head = acked[0]
    committed = consumer._committed_offset.get(tp)
    if committed is not None:
        # A message in flight below the head is a hole above the committed offset: this check covers it.
        if head <= committed:
            return False
        gap = consumer._gap.get(tp)
        return not (gap and all(gap.overlaps(offset) for offset in range(committed, head)))
    # Nothing committed yet: only the messages in flight tell (a scan, so only here, not at every commit).
    in_flight = lowest_offset_in_flight(consumer, tp)
    return in_flight is not None and in_flight < head


def counts_for_commit(consumer: Consumer, message: Any) -> bool:
    """Whether an acknowledgement of `message` now means it was processed (see flaw 3)."""
    app = consumer.app
    if not app.flow_control.is_active():
        return False
    generation = getattr(message, "generation_id", None)
    return generation is None or generation == app.consumer_generation_id


def release_without_commit(consumer: Consumer, message: Any) -> bool:
    """Mark `message` acknowledged so that nothing waits for it, without making its offset committable."""
    with ack_lock:
        if message.acked:
            return False
        message.acked = True
        consumer._unacked_messages.discard(message)
        notify(consumer._waiting_for_ack)
        return False


def guard_commits() -> None:
    """From now on, every faust consumer commits only offsets whose messages were processed (flaws 1 to 3)."""
    new_offset_of = Consumer._new_offset
    ack = Consumer.ack
    if getattr(new_offset_of, _PATCHED, False):
        return

    @functools.wraps(new_offset_of)
    def new_offset(self: Consumer, tp: Any) -> int | None:
        acked = self._acked.get(tp)
        if acked:
            unique_offsets(acked)
            if commit_point_withheld(self, tp, acked):
                return None
        return new_offset_of(self, tp)

    @functools.wraps(ack)
    def ack_processed(self: Consumer, message: Any) -> bool:
        if counts_for_commit(self, message):
            return ack(self, message)
        return release_without_commit(self, message)

    setattr(new_offset, _PATCHED, True)
    Consumer._new_offset = new_offset
    Consumer.ack = ack_processed


def release_stuck_messages(consumer: Consumer, waited_s: float) -> int:
    """Release (without commit) every message the consumer still waits for; return how many."""
    stuck = [m for m in list(consumer._unacked_messages) if not m.acked]
    if stuck:
        first = min(stuck, key=lambda m: (m.tp, m.offset))
        log.warning(
            "wait_empty: %d message(s) not acknowledged after %.0f s (first %s[%d]@%d): released without commit, "
            "the partitions' next owner fetches them again",
            len(stuck), waited_s, first.tp.topic, first.tp.partition, first.offset,
        )
    for message in stuck:
        release_without_commit(consumer, message)
    return len(stuck)


async def wait_at_most(waiting: Awaitable[None], limit_s: float, on_timeout: Callable[[], object]) -> None:
    """Await `waiting`; if it is not done after `limit_s`, call `on_timeout` (which must let it end) and await it."""
    task = asyncio.ensure_future(waiting)
    try:
        done, _ = await asyncio.wait({task}, timeout=limit_s)
        if not done:
            on_timeout()
        await task
    except asyncio.CancelledError:
        task.cancel()
        raise


def bound_wait_empty(limit_s: float) -> None:
    """From now on, faust's `Consumer.wait_empty` releases what it still waits for after `limit_s` seconds."""
    wait_empty = Consumer.wait_empty
    original = wait_empty.__wrapped__ if getattr(wait_empty, _BOUNDED, False) else wait_empty

    @functools.wraps(original)
    async def wait_empty_bounded(self: Consumer) -> None:
        await wait_at_most(original(self), limit_s, lambda: release_stuck_messages(self, limit_s))

    setattr(wait_empty_bounded, _BOUNDED, True)
    Consumer.wait_empty = wait_empty_bounded
