"""Faust's Kafka consumer, tuned for prompt decisions: a short fetch wait, and price ticks handed over first.

faust-streaming 0.15 creates its aiokafka consumer with `fetch_max_wait_ms=1500` hard-coded
(faust/transport/drivers/aiokafka.py, `AIOKafkaConsumerThread._create_worker_consumer`). Against the embedded
broker that held messages in the worker for up to ~0.75 s (measured with a one-agent faust app: delivery
latencies alternated between ~20 ms and ~450 ms; with a 20 ms wait they were 3 to 24 ms). We shorten the wait
on the consumer faust builds, before it starts, through aiokafka's own attribute for it.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.utils import DefaultSchedulingStrategy
from faust.types import TP

from hcp.topics import MARKET_PRICES

_PATCHED = "_hcp_fetch_wait_patched"


def shorten_fetch_wait(max_wait_ms: int) -> None:
    """Make every faust worker consumer built from now on wait at most `max_wait_ms` for a fetch."""
    original = AIOKafkaConsumerThread._create_worker_consumer
    if getattr(original, _PATCHED, False):
        original = original.__wrapped__

    @functools.wraps(original)
    def create_worker_consumer(self: AIOKafkaConsumerThread, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = max_wait_ms
        return consumer

    setattr(create_worker_consumer, _PATCHED, True)
    AIOKafkaConsumerThread._create_worker_consumer = create_worker_consumer


class PricesFirstScheduling(DefaultSchedulingStrategy):
    """Faust's consumer scheduler with price ticks first: each fetched batch hands over every `market.prices`
    record before the records of other topics (round robin within each group, as faust's default does).

    A fetch at an interval's start often holds the ten ticks of the interval and one to three job requests;
    faust's default alternates between topics, so a request (about 2 ms to decide under load, against 1.3 ms a
    tick) went before most ticks (docs/benchmarks.md, "Session 10"). Order within a partition is kept, and the
    control agent never relied on an order between topics (their partitions are consumed independently anyway).
    """

    first = frozenset({MARKET_PRICES})

    def iterate(self, records: Mapping[TP, list[Any]]) -> Iterator[tuple[TP, Any]]:
        urgent = {tp: batch for tp, batch in records.items() if tp.topic in self.first}
        if not urgent:
            return super().iterate(records)
        rest = {tp: batch for tp, batch in records.items() if tp.topic not in self.first}
        return itertools.chain(super().iterate(urgent), super().iterate(rest))
