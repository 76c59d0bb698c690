"""Consumer lag and broker reachability, read every few seconds in a daemon thread.

Lag is the high watermark minus the group's committed offset, per partition, summed per topic. The embedded
broker reports a high watermark too low when the last record batch holds several records (see
docs/architecture.md), so against it lag is a lower bound; against Kafka it is exact.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaException, TopicPartition

from hcp.settings import BrokerSettings
from hcp.topics import TOPICS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LagSnapshot:
    """One reading of the broker: reachable or not, lag per (group, topic), end offset per topic."""

    at: float
    reachable: bool
    lag: dict[tuple[str, str], int] = field(default_factory=dict)
    end_offsets: dict[str, int] = field(default_factory=dict)
    error: str | None = None


def read_lag(broker: BrokerSettings, groups: Sequence[str], timeout: float = 5.0) -> LagSnapshot:
    """Read end offsets of every contract topic and the committed offsets of `groups` (groups that never
    committed on a topic count from its start)."""
    lag: dict[tuple[str, str], int] = {}
    ends: dict[str, int] = {}
    try:
        for index, group in enumerate(groups):
            consumer = Consumer(broker.librdkafka_config() | {"group.id": group, "enable.auto.commit": False})
            try:
                metadata = consumer.list_topics(timeout=timeout)
                partitions = [
                    TopicPartition(name, p)
                    for name in TOPICS
                    if name in metadata.topics
                    for p in metadata.topics[name].partitions
                ]
                if index == 0:
                    for tp in partitions:
                        _, high = consumer.get_watermark_offsets(tp, timeout=timeout)
                        ends[f"{tp.topic}:{tp.partition}"] = max(high, 0)
                committed = consumer.committed(partitions, timeout=timeout)
                for tp in committed:
                    if tp.offset < 0:
                        continue  # the group does not consume this topic
                    behind = max(ends.get(f"{tp.topic}:{tp.partition}", 0) - tp.offset, 0)
                    lag[(group, tp.topic)] = lag.get((group, tp.topic), 0) + behind
            finally:
                consumer.close()
    except KafkaException as err:
        return LagSnapshot(time.time(), False, error=str(err))
    per_topic: dict[str, int] = {}
    for key, high in ends.items():
        topic = key.rsplit(":", 1)[0]
        per_topic[topic] = per_topic.get(topic, 0) + high
    return LagSnapshot(time.time(), True, lag, per_topic)


class LagPoller:
    """Calls `read_lag` every `interval_s` and hands each snapshot to `on_snapshot`; `last` is the latest."""

    def __init__(
        self,
        broker: BrokerSettings,
        groups: Sequence[str],
        interval_s: float,
        on_snapshot: Callable[[LagSnapshot], None] | None = None,
    ) -> None:
        self.broker, self.groups, self.interval_s, self.on_snapshot = broker, list(groups), interval_s, on_snapshot
        self.last: LagSnapshot | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hcp-lag", daemon=True)

    def start(self) -> LagPoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                snapshot = read_lag(self.broker, self.groups)
            except Exception as err:  # a poller bug must not kill the process it watches
                log.exception("lag poll failed")
                snapshot = LagSnapshot(time.time(), False, error=f"{type(err).__name__}: {err}")
            self.last = snapshot
            if self.on_snapshot is not None:
                self.on_snapshot(snapshot)
            self._stop.wait(self.interval_s)
