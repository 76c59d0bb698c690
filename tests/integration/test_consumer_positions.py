"""Faust's consumer positions (streams/positions.py) on a real aiokafka consumer and the embedded broker.

Each hazard is shown with faust's own code first (the function as faust ships it), then mended by the patch: if
a later aiokafka or faust no longer has the hazard, the first test of the pair fails and says so.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from hcp.broker import create_missing_topics, start_embedded_broker
from hcp.settings import BrokerSettings
from streams.positions import fetch_never_reads_every_partition, seek_never_committed_to_reset_position
from tests.conftest import free_port

pytestmark = pytest.mark.integration

REQUESTS = (b"short", b"long", b"third")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerSettings]:
    settings = BrokerSettings(embedded_port=free_port())
    with start_embedded_broker(settings, log_file=tmp_path_factory.mktemp("tansu") / "broker.log"):
        yield settings


def as_shipped(method: Callable[..., Any]) -> Callable[..., Any]:
    """Faust's own method, under the patch if one is installed."""
    return getattr(method, "__wrapped__", method)


def patched(install: Callable[[], None], name: str) -> Callable[..., Any]:
    install()
    return getattr(AIOKafkaConsumerThread, name)


def topics_with_requests(broker: BrokerSettings) -> tuple[TopicPartition, TopicPartition]:
    """An empty 'changelog' partition and a 'stream' partition holding three requests."""
    suffix = uuid.uuid4().hex[:8]
    changelog, stream = TopicPartition(f"changelog.{suffix}", 0), TopicPartition(f"requests.{suffix}", 0)
    create_missing_topics(broker, {changelog.topic: 1, stream.topic: 1})

    async def produce() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=broker.servers)
        await producer.start()
        try:
            for value in REQUESTS:
                await producer.send_and_wait(stream.topic, value, partition=0)
        finally:
            await producer.stop()

    asyncio.run(produce())
    return changelog, stream


def new_consumer(broker: BrokerSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=broker.servers, group_id=f"positions-{uuid.uuid4().hex[:8]}", enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=20,
    )


def fetch_while_the_recovery_ends(broker: BrokerSettings, fetch_records: Callable[..., Any]) -> dict[str, Any]:
    """A fetch that waits with only the changelog active, which is paused before the next fetch result arrives.

    Returns what the fetch drained (topic -> values) and where both partitions stand afterwards.
    """
    changelog, stream = topics_with_requests(broker)

    async def scenario() -> dict[str, Any]:
        consumer = new_consumer(broker)
        await consumer.start()
        producer = AIOKafkaProducer(bootstrap_servers=broker.servers)
        await producer.start()
        try:
            consumer.assign([changelog, stream])
            active = {changelog}  # faust's live set: a recovery reads the changelog, the stream is paused
            thread = SimpleNamespace(consumer=SimpleNamespace(flow_active=True))
            fetch = asyncio.create_task(fetch_records(thread, consumer, active, timeout=3.0, max_records=100))
            await asyncio.sleep(1.0)  # the stream's requests are fetched into aiokafka's buffer meanwhile
            assert not fetch.done(), "the fetch should wait: its one active partition is empty"
            active.clear()  # "Done reading from changelog topics": the changelog partition is paused
            await producer.send_and_wait(changelog.topic, b"late changelog write", partition=0)  # wakes the fetch
            drained = await asyncio.wait_for(fetch, 10)
            return {
                "drained": {tp.topic.split(".")[0]: [r.value for r in records] for tp, records in drained.items()},
                "stream position": await consumer.position(stream),
                "changelog position": await consumer.position(changelog),
            }
        finally:
            await producer.stop()
            await consumer.stop()

    return asyncio.run(scenario())


def test_faust_fetch_drains_paused_partitions_when_the_active_set_empties_under_it(broker):
    fetch_records = as_shipped(AIOKafkaConsumerThread._fetch_records)
    result = fetch_while_the_recovery_ends(broker, fetch_records)
    # The stream's requests were drained though the stream was not active: faust drops them, aiokafka moved on.
    assert result["drained"].get("requests") == list(REQUESTS)
    assert result["stream position"] == len(REQUESTS)


def test_a_fetch_drains_only_partitions_still_active_as_it_drains(broker):
    fetch_records = patched(fetch_never_reads_every_partition, "_fetch_records")
    result = fetch_while_the_recovery_ends(broker, fetch_records)
    # Nothing is active any more: the stream's requests and the paused changelog's late write both stay in
    # aiokafka's buffer for when their partition is resumed (a copy of the set taken when the fetch began drained
    # the changelog's write, which faust then dropped: the data loss of 2df769b).
    assert result["drained"] == {}
    assert result["stream position"] == 0
    assert result["changelog position"] == 0


def test_a_fetch_that_finds_no_active_partition_drains_nothing(broker):
    fetch_records = patched(fetch_never_reads_every_partition, "_fetch_records")
    changelog, stream = topics_with_requests(broker)

    async def scenario() -> tuple[dict[Any, Any], int]:
        consumer = new_consumer(broker)
        await consumer.start()
        try:
            consumer.assign([changelog, stream])
            await asyncio.sleep(1.0)
            thread = SimpleNamespace(consumer=SimpleNamespace(flow_active=True))
            drained = await fetch_records(thread, consumer, set(), timeout=1.0, max_records=100)
            return drained, await consumer.position(stream)
        finally:
            await consumer.stop()

    assert asyncio.run(scenario()) == ({}, 0)


def seek_after_reading(
    broker: BrokerSettings, seek_to_committed: Callable[..., Any], *, read: int, commit: int | None, policy: str
) -> tuple[dict[str, int | None], int]:
    """Read `read` requests, commit `commit` (None: never), seek as faust does after a recovery.

    Returns the committed offsets the seek reported and the stream partition's position after it.
    """
    _, stream = topics_with_requests(broker)

    async def scenario() -> tuple[dict[str, int | None], int]:
        consumer = new_consumer(broker)
        await consumer.start()
        try:
            consumer.assign([stream])
            fetched: list[Any] = []
            while len(fetched) < read:
                batch = await consumer.getmany(stream, timeout_ms=1000, max_records=read - len(fetched))
                fetched.extend(batch.get(stream, []))
            if commit is not None:
                await consumer.commit({stream: commit})

            async def call_thread(method: Callable[..., Any], *args: Any) -> Any:
                return await method(*args)

            thread = SimpleNamespace(
                app=SimpleNamespace(conf=SimpleNamespace(consumer_auto_offset_reset=policy)),
                _ensure_consumer=lambda: consumer, call_thread=call_thread,
            )
            committed = await seek_to_committed(thread)
            return {tp.topic.split(".")[0]: offset for tp, offset in committed.items()}, await consumer.position(stream)
        finally:
            await consumer.stop()

    return asyncio.run(scenario())


def test_faust_seek_to_committed_leaves_a_never_committed_partition_where_it_read_to(broker):
    seek = as_shipped(AIOKafkaConsumerThread.seek_to_committed)
    assert seek_after_reading(broker, seek, read=3, commit=None, policy="earliest") == ({"requests": None}, 3)


def test_a_never_committed_partition_is_sought_back_to_the_earliest_offset(broker):
    seek = patched(seek_never_committed_to_reset_position, "seek_to_committed")
    assert seek_after_reading(broker, seek, read=3, commit=None, policy="earliest") == ({"requests": None}, 0)


def test_a_never_committed_partition_goes_to_the_end_under_the_latest_policy(broker):
    seek = patched(seek_never_committed_to_reset_position, "seek_to_committed")
    assert seek_after_reading(broker, seek, read=1, commit=None, policy="latest") == ({"requests": None}, 3)


@pytest.mark.parametrize("commit", [0, 2])
def test_a_committed_partition_is_sought_to_its_committed_offset(broker, commit):
    seek = patched(seek_never_committed_to_reset_position, "seek_to_committed")
    assert seek_after_reading(broker, seek, read=3, commit=commit, policy="earliest") == ({"requests": commit}, commit)
