"""Faust's flow control around rebalances: nothing fetched after a seek dropped, nothing dropped left unreleased.

`FlowControlEvent.resume` (mode) clears every agent's queue, so that messages fetched before a rebalance are
not processed after it. Faust's table recovery resumes flow at its start (to read the changelogs), then, when
it completes (`Recovery.on_recovery_completed`), resumes the stream partitions, seeks them to the committed
offsets and calls `resume` again. The fetcher has been running all along, so by then the queues hold messages
fetched from the committed offsets, and that second `resume` drops them: the fetcher goes on after them, so no
agent ever sees them again in this worker. Whatever one agent had already taken from its own queue is stuck
half acknowledged. Either way a hole opens in the acknowledged offsets: commits stop there for good (the
"second mode" of docs/commit-stalls.md), or, with faust's commit rule for a single hole (streams/commits.py,
flaw 2), are committed over it, and a kill loses the message (the SIGKILL fault test lost one job request).

`keep_queues_when_already_active` makes `resume` clear only when flow control really was suspended. What the
queues hold at the second `resume` is in partition order: messages fetched from the committed offsets
(assignment sets the fetch position there) before and after the seek, the same offsets twice (deduplicated at
the landing and in billing); leftovers of an earlier generation are skipped by the stream itself.

`release_puts_during_rebalance` mends the rebalance hang (docs/reliability.md, "Rebalances"). When an agent's
queue is full, faust's conductor puts the event with `FlowControlQueue.put`, which waits for room and, first,
for flow control to be resumed. At a revocation flow control is suspended and the queues are cleared (which
cancels a put waiting for room); faust then waits in `wait_empty` until every message an agent took is
acknowledged. An event dropped by such a put was never acknowledged by its agent, so its message stayed half
acknowledged and `wait_empty` waited forever (or, waiting for flow to resume, the put itself deadlocked with
it). Now a put that finds flow suspended, or whose wait is cancelled by the clearing, acknowledges the event
as it drops it; `streams/commits.py` makes that acknowledgement release the message without making its offset
committable, so it is fetched again by whoever owns the partition next.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from faust.events import Event
from mode.utils.queues import FlowControlEvent, FlowControlQueue

_PATCHED = "_hcp_keeps_queues_when_active"
_RELEASING = "_hcp_releases_dropped_puts"


def keep_queues_when_already_active() -> None:
    """From now on, resuming flow control that is not suspended leaves the agents' queues as they are."""
    resume = FlowControlEvent.resume
    if getattr(resume, _PATCHED, False):
        return

    @functools.wraps(resume)
    def resume_if_suspended(self: FlowControlEvent) -> None:
        if self.is_active():
            return
        resume(self)

    setattr(resume_if_suspended, _PATCHED, True)
    FlowControlEvent.resume = resume_if_suspended


def release_dropped(queue: FlowControlQueue[Any], value: object) -> None:
    """Acknowledge an event that a queue cleared on resume drops while flow is suspended (others pass through)."""
    if isinstance(value, Event):
        value.ack()


def release_puts_during_rebalance() -> None:
    """From now on, a put into a queue cleared on resume drops and acknowledges its event while flow is suspended."""
    put = FlowControlQueue.put
    if getattr(put, _RELEASING, False):
        return

    @functools.wraps(put)
    async def put_or_release(self: FlowControlQueue[Any], value: Any) -> None:
        if self._clear_on_resume and not self._flow_control.is_active():
            release_dropped(self, value)
            return
        try:
            await put(self, value)
        except asyncio.CancelledError:
            if self._clear_on_resume and not self._flow_control.is_active():
                release_dropped(self, value)  # the queue was cleared for a rebalance while this put waited
            raise

    setattr(put_or_release, _RELEASING, True)
    FlowControlQueue.put = put_or_release
