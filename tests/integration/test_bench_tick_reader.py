"""The benchmarks' latency reader in its own process (bench/tick_reader.py), on the embedded broker."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Producer

from bench.tick_reader import ReaderProcess
from hcp.broker import create_missing_topics, start_embedded_broker
from hcp.records import Decision, DecisionKind, PriceTick
from hcp.records.market import PriceKind
from hcp.settings import BrokerSettings
from hcp.topics import CONTROL_COMMANDS, DECISIONS, MARKET_PRICES
from tests.conftest import free_port

pytestmark = pytest.mark.integration

T0 = datetime(2023, 1, 16, 8, tzinfo=UTC)


def tick(node: str, end: datetime, kind: PriceKind = PriceKind.ENERGY_RT) -> PriceTick:
    start = end - timedelta(minutes=5)
    return PriceTick(event_id=f"p-{node}-{end:%H%M}-{kind.value}", event_time=start, kind=kind, node=node,
                     interval_start=start, interval_end=end, value=42.0, unit="USD/MWh")


def decision(site: str, interval_start: datetime, command_id: str | None) -> Decision:
    return Decision(event_id=f"d-{site}-{command_id}", event_time=interval_start, decision_id=f"d-{command_id}",
                    site_id=site, kind=DecisionKind.POWER_STATE, subject="S19", interval_start=interval_start,
                    action="on", reason="below breakeven", command_id=command_id)


def test_the_reader_process_times_each_real_time_tick_and_its_intervals_first_decision_and_command(tmp_path):
    broker = BrokerSettings(embedded_port=free_port())
    with start_embedded_broker(broker, log_file=tmp_path / "broker.log"):
        create_missing_topics(broker, {MARKET_PRICES: 1, DECISIONS: 3, CONTROL_COMMANDS: 3})
        reader = ReaderProcess(broker, {"west-1": "HB_WEST", "north-1": "HB_NORTH"})
        reader.start()
        producer = Producer(broker.librdkafka_config())
        end = T0 + timedelta(minutes=5)
        sent_at = time.time() * 1000
        for record in (tick("HB_WEST", end), tick("HB_NORTH", end), tick("HB_WEST", end, PriceKind.ENERGY_DA)):
            producer.produce(MARKET_PRICES, value=record.to_json())
        for record in (decision("west-1", end, None), decision("west-1", end, "c1"), decision("north-1", end, None)):
            producer.produce(DECISIONS, key=record.site_id.encode(), value=record.to_json())
        producer.flush(10)
        time.sleep(2.0)
        observed = reader.stop()
    interval = end.isoformat()
    assert set(observed.ticks) == {("HB_WEST", interval), ("HB_NORTH", interval)}  # the day-ahead tick is not timed
    assert all(sent_at - 1000 <= observed.ticks[k] <= observed.tick_seen[k] for k in observed.ticks)
    assert set(observed.decisions) == {("HB_WEST", interval), ("HB_NORTH", interval)}
    assert set(observed.commands) == {("HB_WEST", interval)}  # the first decision that sent a command
    assert observed.decisions[("HB_WEST", interval)] <= observed.commands[("HB_WEST", interval)]


def test_a_reader_that_never_started_observes_nothing():
    assert ReaderProcess(BrokerSettings(embedded_port=free_port()), {}).stop().ticks == {}
