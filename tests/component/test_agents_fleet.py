"""The fleet agent in faust's test context: DeviceChange records captured from Topic.send."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from faust.topics import Topic
from faust.types import Message

from hcp.fleet import load_fleet
from hcp.records import AsicReading, AsicTelemetry, DeviceChange, DeviceStatus, GpuReading, GpuTelemetry
from hcp.settings import BrokerSettings, StorageSettings, WorkerSettings
from hcp.topics import FLEET_DEVICES, TELEMETRY_ASIC, TELEMETRY_GPU
from streams.app import create_app

T0 = datetime(2023, 1, 16, tzinfo=UTC)
OFFLINE_AFTER_S = 300


def asic_poll(device_ids, seconds):
    readings = tuple(
        AsicReading(
            device_id=device_id, model="S21", power_state="normal", hashrate_th=200.0, power_w=3500.0,
            temp_inlet_c=25.0, temp_chip_c=70.0, fan_rpm=5000, hashboards_ok=3, errors=0,
        )
        for device_id in device_ids
    )
    return AsicTelemetry(
        event_id=f"c1:{seconds}", event_time=T0 + timedelta(seconds=seconds), site_id="west-1", collector_id="c1",
        interval_s=60, readings=readings,
    ).to_json()


def gpu_poll(device_id, seconds):
    reading = GpuReading(
        device_id=device_id, gpu_type="H100", utilisation_pct=90.0, memory_used_gib=40.0, memory_total_gib=80.0,
        power_w=650.0, temp_c=70.0, ecc_errors=0,
    )
    return GpuTelemetry(
        event_id=f"g1:{seconds}", event_time=T0 + timedelta(seconds=seconds), site_id="west-1", collector_id="g1",
        interval_s=60, readings=(reading,),
    ).to_json()


@pytest.fixture
def sent(monkeypatch):
    records = []

    async def send(self, *, key=None, value=None, headers=None, **_):
        records.append((self.get_topic_name(), key, value))
        delivered = asyncio.get_running_loop().create_future()
        delivered.set_result(None)
        return delivered

    monkeypatch.setattr(Topic, "send", send)
    return records


async def put(app, ctx, topic, offset, value, partition=4):
    channel = ctx.stream().channel
    message = Message(
        topic=topic, partition=partition, offset=offset, timestamp=time.time(), timestamp_type=0, headers=[],
        key=b"west-1", value=value, checksum=None, generation_id=app.consumer_generation_id,
    )
    await channel.put(await channel.decode(message))


async def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def track(tmp_path, messages, wait_for):
    """Run track_fleet over (topic, value) messages; return the app's `devices` table contents."""

    async def run():
        worker = WorkerSettings(offline_after_s=OFFLINE_AFTER_S)
        app = create_app(worker, BrokerSettings(), StorageSettings(home=tmp_path), load_fleet())
        async with app.agents["track_fleet"].test_context() as ctx:
            for offset, (topic, value) in enumerate(messages):
                await put(app, ctx, topic, offset, value)
            await wait_until(wait_for)
        return dict(app.tables["devices"].items())

    return asyncio.run(run())


def changes(sent):
    return [DeviceChange.model_validate_json(value) for topic, _, value in sent if topic == FLEET_DEVICES]


def test_first_telemetry_of_a_device_publishes_a_discovery(tmp_path, sent):
    table = track(
        tmp_path, [(TELEMETRY_ASIC, asic_poll(["a1", "a2"], 0)), (TELEMETRY_GPU, gpu_poll("g1", 0))],
        lambda: len(sent) == 3,
    )
    found = {(c.device_id, c.device_kind.value, c.model) for c in changes(sent) if c.first_seen}
    assert found == {("a1", "asic", "S21"), ("a2", "asic", "S21"), ("g1", "gpu", "H100")}
    assert all(c.status is DeviceStatus.ONLINE and c.reason == "discovered" for c in changes(sent))
    assert all(key == b"west-1" for _, key, _ in sent)
    assert table["g1"]["status"] == "online" and table["a1"]["model"] == "S21"


def test_repeated_telemetry_publishes_nothing_new(tmp_path, sent):
    messages = [(TELEMETRY_ASIC, asic_poll(["a1"], s)) for s in (0, 60, 120)]
    messages.append((TELEMETRY_ASIC, asic_poll(["a1", "a2"], 180)))
    track(tmp_path, messages, lambda: len(sent) == 2)
    assert [(c.device_id, c.first_seen) for c in changes(sent)] == [("a1", True), ("a2", True)]


def test_silence_past_offline_after_publishes_offline(tmp_path, sent):
    messages = [
        (TELEMETRY_ASIC, asic_poll(["quiet", "chatty"], 0)),
        (TELEMETRY_ASIC, asic_poll(["chatty"], OFFLINE_AFTER_S)),
        (TELEMETRY_ASIC, asic_poll(["chatty"], OFFLINE_AFTER_S + 60)),
    ]
    table = track(tmp_path, messages, lambda: len(sent) == 3)
    offline = changes(sent)[-1]
    assert (offline.device_id, offline.status, offline.first_seen) == ("quiet", DeviceStatus.OFFLINE, False)
    assert offline.last_seen == T0
    assert table["quiet"]["status"] == "offline" and table["chatty"]["status"] == "online"


def test_offline_device_reporting_again_publishes_online(tmp_path, sent):
    messages = [
        (TELEMETRY_ASIC, asic_poll(["a1", "a2"], 0)),
        (TELEMETRY_ASIC, asic_poll(["a2"], 2 * OFFLINE_AFTER_S)),
        (TELEMETRY_ASIC, asic_poll(["a1", "a2"], 2 * OFFLINE_AFTER_S + 60)),
    ]
    track(tmp_path, messages, lambda: len(sent) == 4)
    assert [(c.device_id, c.status.value) for c in changes(sent)[2:]] == [("a1", "offline"), ("a1", "online")]


def test_invalid_telemetry_is_skipped_and_the_agent_keeps_going(tmp_path, sent):
    track(tmp_path, [(TELEMETRY_ASIC, b"{broken"), (TELEMETRY_ASIC, asic_poll(["a1"], 0))], lambda: sent)
    assert [c.device_id for c in changes(sent)] == ["a1"]
