"""`hcp.consuming.ready_messages` against librdkafka's batch consume, on the embedded broker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from hcp.broker import create_missing_topics, start_embedded_broker
from hcp.consuming import ready_messages
from hcp.settings import BrokerSettings
from tests.conftest import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerSettings]:
    settings = BrokerSettings(embedded_port=free_port())
    with start_embedded_broker(settings, log_file=tmp_path_factory.mktemp("tansu") / "broker.log"):
        yield settings


def topic_with(broker: BrokerSettings, values: list[bytes]) -> tuple[str, Consumer]:
    topic = f"consuming.{uuid.uuid4().hex[:8]}"
    create_missing_topics(broker, {topic: 1})
    producer = Producer(broker.librdkafka_config())
    for value in values:
        producer.produce(topic, value=value)
    assert producer.flush(10) == 0
    consumer = Consumer(broker.librdkafka_config() | {"group.id": f"c-{topic}", "fetch.wait.max.ms": 5})
    consumer.assign([TopicPartition(topic, 0, 0)])
    return topic, consumer


def test_batch_consume_waits_its_whole_timeout_for_a_batch_that_does_not_fill(broker):
    """Why the helper exists: three messages are there, but `consume(10, 2 s)` returns only after 2 s."""
    _, consumer = topic_with(broker, [b"a", b"b", b"c"])
    try:
        ready_messages(consumer, 10.0, limit=1)  # the first fetch has arrived
        started = time.monotonic()
        got = consumer.consume(10, timeout=2.0)
        waited = time.monotonic() - started
    finally:
        consumer.close()
    assert [m.value() for m in got] == [b"b", b"c"]
    assert waited >= 1.8


def test_ready_messages_returns_what_has_arrived_without_waiting_out_its_timeout(broker):
    _, consumer = topic_with(broker, [b"a", b"b", b"c"])
    values, calls = [], []
    try:
        while len(values) < 3 and len(calls) < 3:
            started = time.monotonic()
            values += [m.value() for m in ready_messages(consumer, 30.0, limit=500)]
            calls.append(time.monotonic() - started)
        assert ready_messages(consumer, 0.2) == []  # nothing more: an empty list after the wait
    finally:
        consumer.close()
    assert values == [b"a", b"b", b"c"]
    assert max(calls) < 15.0, calls  # returned when the messages came, not after the 30 s wait


def test_ready_messages_honours_its_limit(broker):
    _, consumer = topic_with(broker, [bytes([65 + i]) for i in range(5)])
    try:
        first = ready_messages(consumer, 10.0, limit=2)
        time.sleep(0.5)
        rest = ready_messages(consumer, 10.0, limit=10)
    finally:
        consumer.close()
    assert len(first) <= 2
    assert [m.value() for m in first + rest] == [b"A", b"B", b"C", b"D", b"E"]
