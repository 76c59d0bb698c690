"""The landing agent in faust's test context: files under tmp_path, dead letters captured from Topic.send."""

import asyncio
import json
import time
from datetime import UTC, datetime

import faust
import pyarrow.parquet as pq
import pytest
from faust.topics import Topic
from faust.types import Message

from hcp.fleet import load_fleet
from hcp.landing import iter_landing_files
from hcp.records import AsicReading, AsicTelemetry, DeadLetter
from hcp.settings import BrokerSettings, StorageSettings, WorkerSettings
from hcp.topics import DEAD_LETTERS, TELEMETRY_ASIC
from streams.app import create_app

T0 = datetime(2023, 1, 16, tzinfo=UTC)


def telemetry(power_w: float = 3500.0, event_id: str = "c1:1") -> bytes:
    reading = AsicReading(
        device_id="west-1-s21-0001", model="S21", power_state="normal", hashrate_th=200.0, power_w=3500.0,
        temp_inlet_c=25.0, temp_chip_c=70.0, fan_rpm=5000, hashboards_ok=3, errors=0,
    )
    record = AsicTelemetry(
        event_id=event_id, event_time=T0, site_id="west-1", collector_id="c1", interval_s=60, readings=(reading,)
    )
    payload = json.loads(record.to_json())
    payload["readings"][0]["power_w"] = power_w  # may break the contract on purpose
    return json.dumps(payload).encode()


@pytest.fixture
def sent(monkeypatch):
    """Every Topic.send, as (topic, key, value, headers); delivery succeeds at once."""
    records = []

    async def send(self, *, key=None, value=None, headers=None, **_):
        records.append((self.get_topic_name(), key, value, headers))
        delivered = asyncio.get_running_loop().create_future()
        delivered.set_result(None)
        return delivered

    monkeypatch.setattr(Topic, "send", send)
    return records


@pytest.fixture
def storage(tmp_path):
    return StorageSettings(home=tmp_path / "hcp")


def new_app(storage):
    worker = WorkerSettings(landing_flush_interval_s=0.2, landing_batch_max=100)
    return create_app(worker, BrokerSettings(), storage, load_fleet())


async def put(app, ctx, topic, partition, offset, value, key=b"west-1", headers=()):
    """Put a message as if consumed from `topic` (the test context's own put cannot name the topic)."""
    channel = ctx.stream().channel
    message = Message(
        topic=topic, partition=partition, offset=offset, timestamp=time.time(), timestamp_type=0,
        headers=list(headers), key=key, value=value, checksum=None, generation_id=app.consumer_generation_id,
    )
    await channel.put(await channel.decode(message))


async def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def land(storage, messages, wait_for):
    """Run the landing agent over `messages` (topic, partition, offset, value[, key, headers])."""

    async def run():
        app = new_app(storage)
        async with app.agents["land_messages"].test_context() as ctx:
            for message in messages:
                await put(app, ctx, *message)
            await wait_until(wait_for)

    asyncio.run(run())


def landed_rows(storage, topic):
    return [row for f in iter_landing_files(storage.landing_dir, topic) for row in pq.read_table(f.path).to_pylist()]


def test_valid_telemetry_lands_in_parquet_with_its_event_id(storage, sent):
    value = telemetry(event_id="c1:42")
    land(storage, [(TELEMETRY_ASIC, 2, 7, value)], lambda: landed_rows(storage, TELEMETRY_ASIC))
    [row] = landed_rows(storage, TELEMETRY_ASIC)
    assert (row["partition"], row["offset"], row["key"]) == (2, 7, "west-1")
    assert row["event_id"] == "c1:42" and row["event_time"] == T0 and row["value"] == value
    assert sent == []


@pytest.mark.parametrize(
    ("value", "fragment"), [(b'{"event_id": ', "Invalid JSON"), (telemetry(power_w=-5.0), "power_w")]
)
def test_malformed_telemetry_goes_to_dead_letters_with_its_origin_and_does_not_land(storage, sent, value, fragment):
    land(storage, [(TELEMETRY_ASIC, 3, 11, value)], lambda: sent)
    [(topic, key, dead_value, headers)] = sent
    assert (topic, key, dead_value) == (DEAD_LETTERS, b"west-1", value)
    dead = DeadLetter.from_headers(dict(headers))
    assert (dead.original_topic, dead.original_partition, dead.original_offset) == (TELEMETRY_ASIC, 3, 11)
    assert dead.error_class == "RecordError" and fragment in dead.error_message
    assert landed_rows(storage, TELEMETRY_ASIC) == []


def test_valid_message_after_a_malformed_one_still_lands(storage, sent):
    messages = [(TELEMETRY_ASIC, 0, 0, b"not json"), (TELEMETRY_ASIC, 0, 1, telemetry())]
    land(storage, messages, lambda: landed_rows(storage, TELEMETRY_ASIC))
    assert [row["offset"] for row in landed_rows(storage, TELEMETRY_ASIC)] == [1]
    assert len(sent) == 1


def test_dead_letter_topic_lands_with_its_headers_and_no_event_id(storage, sent):
    headers = DeadLetter(
        original_topic=TELEMETRY_ASIC, original_partition=1, original_offset=5, error_class="RecordError",
        error_message="bad",
    ).headers()
    land(storage, [(DEAD_LETTERS, 0, 0, b"not json", b"west-1", headers)], lambda: landed_rows(storage, DEAD_LETTERS))
    [row] = landed_rows(storage, DEAD_LETTERS)
    assert row["event_id"] is None and row["value"] == b"not json"
    assert DeadLetter.from_headers(dict(row["headers"])).original_offset == 5
    assert sent == []  # a dead letter is not validated, so never dead-lettered again


def test_batch_is_on_disk_before_its_events_are_acked(storage, sent, monkeypatch):
    files_when_acked = []
    ack = faust.Stream.ack

    async def spy_ack(self, event):
        files_when_acked.append(len(landed_rows(storage, TELEMETRY_ASIC)))
        return await ack(self, event)

    monkeypatch.setattr(faust.Stream, "ack", spy_ack)
    land(storage, [(TELEMETRY_ASIC, 0, 0, telemetry()), (TELEMETRY_ASIC, 0, 1, telemetry())], lambda: files_when_acked)
    assert files_when_acked and all(count == 2 for count in files_when_acked)


def test_redelivered_batch_is_neither_landed_nor_dead_lettered_twice(storage, sent):
    batch = [(TELEMETRY_ASIC, 0, 0, b"not json"), (TELEMETRY_ASIC, 0, 1, telemetry())]
    land(storage, batch, lambda: landed_rows(storage, TELEMETRY_ASIC))
    land(storage, [*batch, (TELEMETRY_ASIC, 0, 2, telemetry(event_id="c1:2"))],
         lambda: len(landed_rows(storage, TELEMETRY_ASIC)) == 2)
    assert [row["offset"] for row in landed_rows(storage, TELEMETRY_ASIC)] == [1, 2]
    assert len(sent) == 1
