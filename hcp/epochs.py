"""Broker epochs: telling one life of the broker from the next, so a restarted broker is noticed, not trusted.

The embedded broker keeps nothing across a restart: its topics come back empty and number offsets from 0 again.
Landing files are named by offset, so a landing writer that did not know would take the new offsets for ones it
had already landed and skip them (silent loss). An epoch is a random id written as the first message of the
one-partition topic `_hcp.broker_epoch`; whoever finds that topic missing or empty starts a new epoch, and every
process that reads offset 0 agrees on it. Workers read the epoch at start (the landing writer numbers each
epoch's offsets after the last landed one) and check before every landing write that the epoch topic still
exists (`EpochFence`): a worker that finds it gone stops before writing, so nothing is committed to the new
broker that was not landed.
"""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from hcp.broker import create_missing_topics
from hcp.exceptions import BrokerError
from hcp.settings import BrokerSettings

EPOCH_TOPIC = "_hcp.broker_epoch"


class BrokerRestartedError(BrokerError):
    """The broker this process started with is gone (its epoch topic vanished): stop and start again."""


def epoch_topic_exists(admin: AdminClient, timeout: float = 5.0) -> bool:
    """Whether the broker has the epoch topic (one metadata request).

    Asks for every topic: a metadata request naming a missing topic makes the broker auto-create it.
    """
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as err:
        raise BrokerError(f"cannot reach the broker to check its epoch: {err}") from err
    topic = metadata.topics.get(EPOCH_TOPIC)
    return topic is not None and topic.error is None and bool(topic.partitions)


def read_epoch(broker: BrokerSettings, timeout: float = 5.0) -> str | None:
    """The epoch the broker is in (the first message of the epoch topic), or None if it has none yet."""
    if not epoch_topic_exists(AdminClient(broker.librdkafka_config()), timeout):
        return None
    consumer = Consumer(broker.librdkafka_config() | {
        "group.id": "hcp-epoch-reader", "enable.auto.commit": False, "enable.partition.eof": True,
    })
    try:
        consumer.assign([TopicPartition(EPOCH_TOPIC, 0, 0)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is not None:
                return None  # end of an empty partition
            return message.value().decode()
        return None
    finally:
        consumer.close()


def start_or_join_epoch(broker: BrokerSettings, timeout: float = 15.0) -> str:
    """The broker's epoch, starting one if it has none. Safe when several processes race: offset 0 wins."""
    epoch = read_epoch(broker)
    if epoch is not None:
        return epoch
    create_missing_topics(broker, {EPOCH_TOPIC: 1}, timeout=timeout)
    producer = Producer(broker.librdkafka_config() | {"enable.idempotence": True})
    producer.produce(EPOCH_TOPIC, value=uuid.uuid4().hex.encode(), partition=0)
    if producer.flush(timeout):
        raise BrokerError(f"cannot write a broker epoch to {broker.servers}")
    epoch = read_epoch(broker, timeout)
    if epoch is None:
        raise BrokerError(f"the broker at {broker.servers} lost its epoch right after it was written")
    return epoch


class EpochFence:
    """Checks that the broker is still the one of `epoch`; raise `BrokerRestartedError` when it is not.

    Called before every landing write: one metadata request per landing batch (milliseconds on the embedded
    broker).
    """

    def __init__(self, broker: BrokerSettings, epoch: str) -> None:
        self.epoch = epoch
        self._admin = AdminClient(broker.librdkafka_config())
        self.checks = 0

    def check(self, attempts: int = 3) -> None:
        """Raise `BrokerRestartedError` if the epoch topic is gone, or if the broker cannot confirm it in
        `attempts` tries (exiting and starting again is safe; landing a batch of an unknown epoch is not)."""
        self.checks += 1
        for attempt in range(1, attempts + 1):
            try:
                alive = epoch_topic_exists(self._admin)
                break
            except BrokerError as err:
                if attempt == attempts:
                    raise BrokerRestartedError(f"cannot confirm the broker epoch {self.epoch}: {err}") from err
        if not alive:
            raise BrokerRestartedError(
                f"the broker restarted (its epoch {self.epoch} is gone): stopping before landing anything from it"
            )
