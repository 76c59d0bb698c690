"""Faust's consumer positions: a fetch takes only the partitions active when it began, and a seek to committed
offsets rewinds a partition that has none.

Together these caused the stall after a control worker restart (docs/commit-stalls.md, "Session 10"): the
restarted worker restored its table, logged "Worker ready", and never processed a message.

1. **The fetch read every partition when the active set emptied under it.** Faust fetches with the live set of
   its active partitions (`Consumer._get_active_partitions()`, not a copy) and aiokafka's
   `Fetcher.fetched_records(partitions)` takes an empty set as "all partitions" (`if partitions and tp not in
   partitions`). A table recovery reads the changelog with only the changelog partition active; when it is done
   it pauses that one too, which empties the set. A fetch still waiting then wakes (any fetch result wakes it)
   and returns the records of the paused stream partitions as well; faust yields only those of active
   partitions, so the rest are dropped, and aiokafka's position has moved past them. Now each fetch gets a
   frozen copy of the set taken when it began, and a copy that is already empty fetches nothing.

2. **A partition never committed kept the position it had fetched to.** Faust seeks the stream partitions "to
   their committed offsets" when a recovery completes, precisely to re-read what was fetched and dropped around
   it; aiokafka's `seek_to_committed` seeks only partitions whose committed offset is above zero. A group that
   never committed on a partition (a worker killed before its first commit) kept its fetch position, so a
   message dropped before the seek was never fetched again in that worker. Now such a partition is sent back to
   where the consumer's reset policy (`consumer_auto_offset_reset`, "earliest" here) starts a partition with no
   committed offset: what Kafka means by the committed position of a partition that has none (and a partition
   committed at 0 goes to 0). What is read again is processed again; every consumer of this platform is
   idempotent for that (docs/reliability.md).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Set
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

_SNAPSHOT = "_hcp_fetches_a_snapshot"
_RESETS = "_hcp_resets_never_committed"


def fetch_only_partitions_active_at_start() -> None:
    """From now on, each faust fetch drains only the partitions that were active when it began."""
    fetch_records = AIOKafkaConsumerThread._fetch_records
    if getattr(fetch_records, _SNAPSHOT, False):
        return

    @functools.wraps(fetch_records)
    async def fetch_records_of_snapshot(
        self: AIOKafkaConsumerThread,
        consumer: AIOKafkaConsumer,
        active_partitions: Set[Any] | None,
        timeout: float | None = None,
        max_records: int | None = None,
    ) -> Any:
        if active_partitions is None:  # a client-only app reads whatever it is assigned
            return await fetch_records(self, consumer, None, timeout=timeout, max_records=max_records)
        snapshot = frozenset(active_partitions)
        if not snapshot:  # emptied between faust's check and this call: aiokafka would read every partition
            return {}
        return await fetch_records(self, consumer, snapshot, timeout=timeout, max_records=max_records)

    setattr(fetch_records_of_snapshot, _SNAPSHOT, True)
    AIOKafkaConsumerThread._fetch_records = fetch_records_of_snapshot


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
