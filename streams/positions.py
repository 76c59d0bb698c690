"""Faust's consumer positions: a fetch never reads an empty set of active partitions as "every partition", and
a seek to committed offsets rewinds a partition that has none.

Together these closed the stall after a control worker restart (docs/commit-stalls.md, "Session 10" and
"Session 11"): the restarted worker restored its table, logged "Worker ready", and never processed a message.

1. **The fetch read every partition when the active set emptied under it.** Faust fetches with the live set of
   its active partitions (`Consumer._get_active_partitions()`, not a copy) and aiokafka's
   `Fetcher.fetched_records(partitions)` takes an empty set as "all partitions" (`if partitions and tp not in
   partitions`). A table recovery reads the changelog with only the changelog partition active; when it is done
   it pauses that one too, which empties the set. A fetch still waiting then wakes (any fetch result wakes it)
   and returns the records of the paused stream partitions as well; faust yields only those of active
   partitions, so the rest are dropped, and aiokafka's position has moved past them. Now each fetch is given a
   live view of the same set that is never false: aiokafka asks it about each partition as it drains, so a
   partition paused, revoked or held back (a full stream buffer) during the wait is left in aiokafka's buffer,
   as faust intends, and an empty set drains nothing.

   A first form of this mend (2df769b) gave each fetch a frozen copy of the set taken when it began. That
   drained partitions paused or revoked during the wait, which faust then dropped: with it the rebalance fault
   test lost 120-135 telemetry messages of one partition in 3 of 8 runs
   (docs/commit-stalls.md, "Session 11").

2. **A partition never committed kept the position it had fetched to.** Faust seeks the stream partitions "to
   their committed offsets" when a recovery completes, precisely to re-read what was fetched and dropped around
   it; aiokafka's `seek_to_committed` seeks only partitions whose committed offset is above zero (a partition
   committed at 0 is now sought to 0 as well). A group that
   never committed on a partition (a worker killed before its first commit) kept its fetch position, so a
   message dropped before the seek was never fetched again in that worker. Now such a partition is sent back to
   where the consumer's reset policy (`consumer_auto_offset_reset`, "earliest" here) starts a partition with no
   committed offset: what Kafka means by the committed position of a partition that has none. What is read
   again is processed again; every consumer of this platform is idempotent for that (docs/reliability.md).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Set
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

_LIVE_VIEW = "_hcp_fetches_a_live_view"
_RESETS = "_hcp_resets_never_committed"


class LiveActivePartitions(Set[Any]):
    """Faust's live set of active partitions, never false: aiokafka reads a false set as "every partition"."""

    def __init__(self, live: Set[Any]) -> None:
        self._live = live

    def __contains__(self, tp: object) -> bool:
        return tp in self._live

    def __iter__(self) -> Iterator[Any]:
        return iter(set(self._live))

    def __len__(self) -> int:
        return len(self._live)

    def __bool__(self) -> bool:
        return True


def fetch_never_reads_every_partition() -> None:
    """From now on, each faust fetch drains only partitions active as it drains, and none when none are."""
    fetch_records = AIOKafkaConsumerThread._fetch_records
    if getattr(fetch_records, _LIVE_VIEW, False):
        return

    @functools.wraps(fetch_records)
    async def fetch_records_of_live_view(
        self: AIOKafkaConsumerThread,
        consumer: AIOKafkaConsumer,
        active_partitions: Set[Any] | None,
        timeout: float | None = None,
        max_records: int | None = None,
    ) -> Any:
        if active_partitions is None:  # a client-only app reads whatever it is assigned
            return await fetch_records(self, consumer, None, timeout=timeout, max_records=max_records)
        view = LiveActivePartitions(active_partitions)
        return await fetch_records(self, consumer, view, timeout=timeout, max_records=max_records)

    setattr(fetch_records_of_live_view, _LIVE_VIEW, True)
    AIOKafkaConsumerThread._fetch_records = fetch_records_of_live_view


async def seek_skipped_partitions(
    consumer: AIOKafkaConsumer, committed: Mapping[TopicPartition, int | None], policy: str
) -> None:
    """Seek the partitions aiokafka's `seek_to_committed` left alone: committed at 0, or never committed.

    A partition never committed goes where `policy` starts one ("earliest", "latest"; "none": left alone).
    """
    never = [tp for tp, offset in committed.items() if offset is None or offset < 0]
    for tp, offset in committed.items():
        if offset == 0:
            consumer.seek(tp, 0)
    if never and policy == "earliest":
        await consumer.seek_to_beginning(*never)
    elif never and policy == "latest":
        await consumer.seek_to_end(*never)


def seek_never_committed_to_reset_position() -> None:
    """From now on, faust's seek to committed offsets also rewinds partitions with no committed offset."""
    seek_to_committed = AIOKafkaConsumerThread.seek_to_committed
    if getattr(seek_to_committed, _RESETS, False):
        return

    @functools.wraps(seek_to_committed)
    async def seek_to_committed_or_reset(self: AIOKafkaConsumerThread) -> Mapping[Any, int]:
        committed = await seek_to_committed(self)
        policy = self.app.conf.consumer_auto_offset_reset
        await self.call_thread(seek_skipped_partitions, self._ensure_consumer(), committed, policy)
        return committed

    setattr(seek_to_committed_or_reset, _RESETS, True)
    AIOKafkaConsumerThread.seek_to_committed = seek_to_committed_or_reset
