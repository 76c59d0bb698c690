"""Faust's commit bookkeeping, kept advancing when the consumer hands a message over twice.

Faust (0.15) commits a partition up to the first gap in its list of acknowledged offsets (`Consumer._acked`,
read by `Consumer._new_offset` with `consecutive_numbers`). When the same offset is delivered twice (two
`Message` objects: seen here at worker start, when the table recovery resumes the stream partitions and the
fetcher before `perform_seek` seeks them back to the committed offset, so the range is fetched twice), both
copies can be acknowledged and the list holds the offset twice: `[84, 84, 85, 85, ...]`. `consecutive_numbers`
stops at every repeat, so each commit advanced one offset only, every commit interval (2.8 s): with a thousand
messages behind, the group looked stopped (docs/commit-stalls.md). Nothing is lost; lag and readiness are wrong.

`keep_acked_offsets_unique` makes the list unique and sorted before faust reads it. The commit point stays what
faust's rule makes it (the end of the first run of consecutive acknowledged offsets), so no offset is committed
that was not acknowledged.
"""

from __future__ import annotations

import functools
from typing import Any

from faust.transport.consumer import Consumer

_PATCHED = "_hcp_unique_acks_patched"


def unique_offsets(acked: list[int]) -> None:
    """Sort `acked` in place and drop repeated offsets (faust keeps it sorted; repeats stop its commits)."""
    unique = sorted(set(acked))
    if unique != acked:
        acked[:] = unique


def keep_acked_offsets_unique() -> None:
    """From now on, every faust consumer computes its commit point from unique acknowledged offsets."""
    original = Consumer._new_offset
    if getattr(original, _PATCHED, False):
        return

    @functools.wraps(original)
    def new_offset(self: Consumer, tp: Any) -> int | None:
        acked = self._acked.get(tp)
        if acked:
            unique_offsets(acked)
        return original(self, tp)

    setattr(new_offset, _PATCHED, True)
    Consumer._new_offset = new_offset
