"""The alerting agent in faust's test context: Alert transitions captured from Topic.send, metrics updated."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from faust.topics import Topic
from faust.types import Message

from hcp.fleet import load_fleet
from hcp.observability import PlatformMetrics
from hcp.records import Alert, AlertStatus, AsicReading, AsicTelemetry
from hcp.settings import BrokerSettings, StorageSettings, WorkerSettings
from hcp.topics import ALERTS, DEAD_LETTERS, TELEMETRY_ASIC
from streams.app import create_app

T0 = datetime(2023, 1, 16, tzinfo=UTC)


def asic_poll(chip_c: float, minute: int) -> bytes:
    reading = AsicReading(device_id="west-1-s21-0001", model="S21", power_state="normal", hashrate_th=200.0,
                          power_w=3500.0, temp_inlet_c=25.0, temp_chip_c=chip_c, fan_rpm=5000, hashboards_ok=3,
                          errors=0)
    return AsicTelemetry(event_id=f"c1:{minute}", event_time=T0 + timedelta(minutes=minute), site_id="west-1",
                         collector_id="c1", interval_s=60, readings=(reading,)).to_json()


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


def test_an_overheating_asic_fires_then_resolves_on_the_alerts_topic_and_counts(tmp_path, sent):
    metrics = PlatformMetrics(load_fleet())
    messages = [(TELEMETRY_ASIC, asic_poll(70.0, 0)), (TELEMETRY_ASIC, asic_poll(104.0, 1)),
                (TELEMETRY_ASIC, asic_poll(104.0, 2)), (TELEMETRY_ASIC, asic_poll(70.0, 3)),
                (DEAD_LETTERS, b"not json")]

    async def run():
        app = create_app(WorkerSettings(role="ingest"), BrokerSettings(), StorageSettings(home=tmp_path),
                         load_fleet(), metrics)
        async with app.agents["raise_alerts"].test_context() as ctx:
            channel = ctx.stream().channel
            for offset, (topic, value) in enumerate(messages):
                message = Message(topic=topic, partition=0, offset=offset, timestamp=time.time(), timestamp_type=0,
                                  headers=[], key=b"west-1", value=value, checksum=None,
                                  generation_id=app.consumer_generation_id)
                await channel.put(await channel.decode(message))
            deadline = time.monotonic() + 10
            while len([s for s in sent if s[0] == ALERTS]) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)

    asyncio.run(run())
    alerts = [Alert.model_validate_json(value) for topic, _, value in sent if topic == ALERTS]
    assert [(a.rule, a.status) for a in alerts] == [("asic_overheat", AlertStatus.FIRING),
                                                   ("asic_overheat", AlertStatus.RESOLVED)]
    assert alerts[0].event_time == T0 + timedelta(minutes=1) and alerts[0].alert_id == alerts[1].alert_id
    assert all(key == b"west-1" for topic, key, _ in sent if topic == ALERTS)
    registry = metrics.registry
    assert registry.get_sample_value("hcp_messages_consumed_total", {"topic": TELEMETRY_ASIC}) == 4
    assert registry.get_sample_value("hcp_deadletters_total") == 1
    assert registry.get_sample_value("hcp_alerts_total", {"rule": "asic_overheat", "severity": "critical",
                                                          "status": "firing"}) == 1
