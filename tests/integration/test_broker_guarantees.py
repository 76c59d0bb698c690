"""What the embedded broker (tansu) supports of Kafka's delivery guarantees, stated as tests.

docs/reliability.md quotes these results; if tansu changes, a failing test here says which sentence to change.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from hcp.broker import create_missing_topics, start_embedded_broker
from hcp.settings import BrokerSettings
from tests.conftest import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerSettings]:
    settings = BrokerSettings(embedded_port=free_port())
    log_file = tmp_path_factory.mktemp("tansu") / "broker.log"
    with start_embedded_broker(settings, log_file=log_file):
        yield settings


def fresh_topic(broker: BrokerSettings) -> str:
    name = f"probe.{uuid.uuid4().hex[:8]}"
    create_missing_topics(broker, {name: 1})
    return name


def read_all(broker: BrokerSettings, topic: str, isolation: str) -> list[bytes]:
    consumer = Consumer(broker.librdkafka_config() | {
        "group.id": f"probe-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False, "isolation.level": isolation,
    })
    consumer.assign([TopicPartition(topic, 0, 0)])
    values = []
    try:
        while batch := consumer.consume(num_messages=100, timeout=2.0):
            values += [m.value() for m in batch if m.error() is None]
    finally:
        consumer.close()
    return values


def test_idempotent_producer_delivers_each_message_once(broker):
    topic = fresh_topic(broker)
    producer = Producer(broker.librdkafka_config() | {"enable.idempotence": True, "acks": "all"})
    for i in range(100):
        producer.produce(topic, value=str(i).encode())
    assert producer.flush(15) == 0
    assert read_all(broker, topic, "read_uncommitted") == [str(i).encode() for i in range(100)]


def test_transactions_commit_and_abort_and_aborted_records_stay_hidden(broker):
    topic = fresh_topic(broker)
    producer = Producer(broker.librdkafka_config() | {"transactional.id": f"probe-{uuid.uuid4().hex[:6]}"})
    producer.init_transactions(15)
    producer.begin_transaction()
    producer.produce(topic, value=b"committed")
    producer.commit_transaction(15)
    producer.begin_transaction()
    producer.produce(topic, value=b"aborted")
    producer.abort_transaction(15)

    assert read_all(broker, topic, "read_committed") == [b"committed"]
    # Real Kafka shows aborted records to read_uncommitted consumers; tansu hides them from both. What matters
    # for HCP: read_committed consumers never see an aborted record, here as on Kafka.
    assert read_all(broker, topic, "read_uncommitted") == [b"committed"]
