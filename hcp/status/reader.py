"""Reading the topics for `hcp status`: the recent end of each topic, then whatever arrives.

The reader never joins a consumer group (it `assign`s partitions) and never commits, so it can watch any
cluster without disturbing the platform's consumers.
"""

from __future__ import annotations

import logging
import os
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition

from hcp.codec import decode_record
from hcp.exceptions import BrokerError, RecordError
from hcp.records import Record
from hcp.settings import BrokerSettings
from hcp.topics import (
    ALERTS,
    DECISIONS,
    FLEET_DEVICES,
    MARKET_PRICES,
    TELEMETRY_ASIC,
    TELEMETRY_GPU,
    WORKLOAD_REQUESTS,
)

log = logging.getLogger(__name__)

# How many of the latest messages per partition the first frame reads from each topic (None: all of it).
TAILS: dict[str, int | None] = {
    TELEMETRY_ASIC: 200,
    TELEMETRY_GPU: 200,
    MARKET_PRICES: 2000,
    WORKLOAD_REQUESTS: 20_000,
    DECISIONS: 20_000,
    FLEET_DEVICES: None,
    ALERTS: None,
}


class TopicReader:
    """A group-less consumer positioned at the recent end of every status topic."""

    def __init__(self, broker: BrokerSettings, tails: dict[str, int | None] = TAILS, timeout: float = 10.0) -> None:
        config = broker.librdkafka_config() | {
            "group.id": f"hcp-status-{os.getpid()}", "enable.auto.commit": False, "client.id": "hcp-status",
        }
        self.consumer = Consumer(config)
        try:
            metadata = self.consumer.list_topics(timeout=timeout)
            assignment = []
            for topic, tail in tails.items():
                if topic not in metadata.topics:
                    raise BrokerError(f"topic {topic} is missing on {broker.servers}: run `hcp topics create`")
                for partition in metadata.topics[topic].partitions:
                    low, high = self.consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
                    start = low if tail is None else max(low, high - tail)
                    assignment.append(TopicPartition(topic, partition, start))
            self.consumer.assign(assignment)
        except KafkaException as err:
            self.consumer.close()
            raise BrokerError(f"cannot read the topics on {broker.servers}: {err}") from err
        except BrokerError:
            self.consumer.close()
            raise

    def read_available(self, idle_s: float = 0.5, limit: int = 500_000) -> list[Record]:
        """Every message that arrives until none has for `idle_s` (at most `limit`), decoded; invalid ones skipped."""
        records: list[Record] = []
        quiet_since = time.monotonic()
        while len(records) < limit and time.monotonic() - quiet_since < idle_s:
            # Short polls: librdkafka waits the whole timeout unless the batch fills up.
            messages = self.consumer.consume(5000, timeout=0.05)
            if messages:
                quiet_since = time.monotonic()
            for message in messages:
                if message.error() is not None:
                    continue
                try:
                    records.append(decode_record(message.topic(), message.value()))
                except RecordError as err:
                    log.debug("status skips an invalid message: %s", err)
        return records

    def close(self) -> None:
        self.consumer.close()
