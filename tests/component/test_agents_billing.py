"""The stream meter agent in faust's test context: MeteredUsage records captured from Topic.send."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from faust.topics import Topic
from faust.types import Message

from hcp.billing.metering import gpu_readings_frame, meter_gpu_seconds, usage_from_records
from hcp.fleet import load_fleet
from hcp.records import GpuReading, GpuTelemetry, MeteredUsage
from hcp.settings import BrokerSettings, StorageSettings, WorkerSettings
from hcp.topics import BILLING_USAGE, TELEMETRY_GPU
from streams.app import create_app

pytestmark = pytest.mark.component

T0 = datetime(2023, 1, 16, 10, tzinfo=UTC)


def poll(minute: int, jobs: dict[str, str | None]) -> GpuTelemetry:
    readings = tuple(
        GpuReading(
            device_id=device_id,
            gpu_type="H100",
            utilisation_pct=90.0,
            memory_used_gib=40.0,
            memory_total_gib=80.0,
            power_w=650.0,
            temp_c=70.0,
            ecc_errors=0,
            job_id=customer and f"job-{customer}",
            customer_id=customer,
            priority=4 if customer else None,
        )
        for device_id, customer in jobs.items()
    )
    return GpuTelemetry(
        event_id=f"g1:{minute}",
        event_time=T0 + timedelta(minutes=minute),
        site_id="west-1",
        collector_id="g1",
        interval_s=60.0,
        readings=readings,
    )


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


def meter(tmp_path, sent: list, values: list[bytes], last_event_id: str) -> None:
    """Feed telemetry.gpu values (offsets 0..n-1) to meter_gpu_usage until the record of the last poll is sent
    (the stream is in order, so every earlier message has been metered by then)."""

    async def run():
        app = create_app(WorkerSettings(), BrokerSettings(), StorageSettings(home=tmp_path), load_fleet())
        async with app.agents["meter_gpu_usage"].test_context() as ctx:
            channel = ctx.stream().channel
            for offset, value in enumerate(values):
                message = Message(
                    topic=TELEMETRY_GPU,
                    partition=2,
                    offset=offset,
                    timestamp=time.time(),
                    timestamp_type=0,
                    headers=[],
                    key=b"west-1",
                    value=value,
                    checksum=None,
                    generation_id=app.consumer_generation_id,
                )
                await channel.put(await channel.decode(message))
            deadline = time.monotonic() + 10
            while not any(MeteredUsage.model_validate_json(value).event_id == last_event_id for *_, value in sent):
                if time.monotonic() > deadline:
                    raise AssertionError(f"no usage record {last_event_id} sent; sent {len(sent)}")
                await asyncio.sleep(0.02)

    asyncio.run(run())


def test_meter_publishes_each_polls_billable_seconds_keyed_by_site(tmp_path, sent):
    polls = [poll(0, {"g-1": "acme-ai", "g-2": None}), poll(1, {"g-1": "acme-ai", "g-2": "blue-labs"})]

    meter(tmp_path, sent, [p.to_json() for p in polls], last_event_id="meter:g1:1")

    records = [MeteredUsage.model_validate_json(value) for topic, _, value in sent if topic == BILLING_USAGE]
    assert [(r.event_id, r.source_partition, r.source_offset) for r in records] == [
        ("meter:g1:0", 2, 0),
        ("meter:g1:1", 2, 1),
    ]
    assert all(key == b"west-1" for _, key, _ in sent)
    assert usage_from_records(records).equals(meter_gpu_seconds(gpu_readings_frame(polls)))


def test_a_redelivered_poll_meters_under_the_same_event_id_and_counts_once(tmp_path, sent):
    first, idle, last = poll(0, {"g-1": "acme-ai"}), poll(1, {"g-1": None}), poll(2, {"g-1": "blue-labs"})

    meter(tmp_path, sent, [first.to_json(), b"not json", idle.to_json(), first.to_json(), last.to_json()], "meter:g1:2")

    records = [MeteredUsage.model_validate_json(value) for _, _, value in sent]
    # the idle poll and the bad message publish nothing; the redelivered poll may publish again, under its id
    assert {r.event_id for r in records} == {"meter:g1:0", "meter:g1:2"}
    assert usage_from_records(records)["gpu_seconds"].to_list() == [60.0, 60.0]
