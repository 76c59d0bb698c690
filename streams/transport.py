"""Faust's Kafka consumer, tuned for prompt decisions.

faust-streaming 0.15 creates its aiokafka consumer with `fetch_max_wait_ms=1500` hard-coded
(faust/transport/drivers/aiokafka.py, `AIOKafkaConsumerThread._create_worker_consumer`). Against the embedded
broker that held messages in the worker for up to ~0.75 s (measured with a one-agent faust app: delivery
latencies alternated between ~20 ms and ~450 ms; with a 20 ms wait they were 3 to 24 ms). We shorten the wait
on the consumer faust builds, before it starts, through aiokafka's own attribute for it.
"""

from __future__ import annotations

import functools
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

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
