"""Faust's flow control, kept from dropping messages fetched after the seek that ends a table recovery.

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
"""

from __future__ import annotations

import functools

from mode.utils.queues import FlowControlEvent

_PATCHED = "_hcp_keeps_queues_when_active"


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
