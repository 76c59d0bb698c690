"""Shared fixtures of the component tests: a small landed scenario built from real records, the Prefect harness."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hcp.economics import ASIC_MODELS, PowerState
from hcp.landing import LandedMessage, LandingWriter
from hcp.records import (
    AsicReading,
    AsicTelemetry,
    CommandKind,
    ControlCommand,
    DeadLetter,
    Decision,
    DecisionKind,
    GpuReading,
    GpuTelemetry,
    PriceKind,
    PriceTick,
    Record,
)
from hcp.topics import CONTROL_COMMANDS, DEAD_LETTERS, DECISIONS, MARKET_PRICES, TELEMETRY_ASIC, TELEMETRY_GPU

DAY = datetime(2023, 1, 16, tzinfo=UTC)
POLL_S = 60.0


def asic_reading(device_id: str, model: str, state: PowerState) -> AsicReading:
    spec = ASIC_MODELS[model]
    return AsicReading(
        device_id=device_id,
        model=model,
        power_state=state,
        hashrate_th=spec.hashrate_at(state),
        power_w=spec.power_at(state),
        temp_inlet_c=22.0,
        temp_chip_c=68.0,
        fan_rpm=5200,
        hashboards_ok=3,
        errors=0,
    )


def asic_poll(site_id: str, at: datetime, readings: Sequence[AsicReading]) -> AsicTelemetry:
    return AsicTelemetry(
        event_id=f"asic:{site_id}:{at.isoformat()}",
        event_time=at,
        site_id=site_id,
        collector_id=f"{site_id}-c0",
        interval_s=POLL_S,
        readings=tuple(readings),
    )


def energy_price(node: str, start: datetime, value: float, minutes: int = 15) -> PriceTick:
    end = start + timedelta(minutes=minutes)
    return PriceTick(
        event_id=f"rt:{node}:{start.isoformat()}",
        event_time=end,
        kind=PriceKind.ENERGY_RT,
        node=node,
        interval_start=start,
        interval_end=end,
        value=value,
        unit="USD/MWh",
    )


@dataclass(frozen=True)
class LandingScenario:
    """Records of one morning at two sites, and how they land (one duplicated poll, one dead letter)."""

    asic_polls: tuple[AsicTelemetry, ...]
    gpu_polls: tuple[GpuTelemetry, ...]
    prices: tuple[PriceTick, ...]
    decisions: tuple[Decision, ...]
    commands: tuple[ControlCommand, ...]
    dead_letter: DeadLetter
    dead_letter_payload: bytes

    def write(self, root: Path) -> None:
        """Land every record; the first ASIC poll is landed a second time (a producer retry)."""
        writer = LandingWriter(root)
        asic = (*self.asic_polls, self.asic_polls[0])
        land_records(writer, TELEMETRY_ASIC, 0, asic)
        land_records(writer, TELEMETRY_GPU, 0, self.gpu_polls)
        land_records(writer, MARKET_PRICES, 0, self.prices)
        land_records(writer, DECISIONS, 1, self.decisions)
        land_records(writer, CONTROL_COMMANDS, 1, self.commands)
        message = LandedMessage(
            DEAD_LETTERS, 0, 0, "west-1", 0, None, None, self.dead_letter_payload, tuple(self.dead_letter.headers())
        )
        writer.write(DEAD_LETTERS, 0, [message])

    @property
    def landed_counts(self) -> dict[str, int]:
        return {
            TELEMETRY_ASIC: len(self.asic_polls) + 1,
            TELEMETRY_GPU: len(self.gpu_polls),
            MARKET_PRICES: len(self.prices),
            DECISIONS: len(self.decisions),
            CONTROL_COMMANDS: len(self.commands),
            DEAD_LETTERS: 1,
        }


def landed(topic: str, partition: int, offset: int, record: Record) -> LandedMessage:
    return LandedMessage(
        topic=topic,
        partition=partition,
        offset=offset,
        key=getattr(record, "site_id", None),
        kafka_timestamp_ms=int(record.event_time.timestamp() * 1000),
        event_id=record.event_id,
        event_time=record.event_time,
        value=record.to_json(),
    )


def land_records(
    writer: LandingWriter, topic: str, partition: int, records: Sequence[Record], first_offset: int = 0
) -> Path | None:
    """Land `records` at consecutive offsets; the file written (None if every offset had landed)."""
    messages = [landed(topic, partition, first_offset + i, r) for i, r in enumerate(records)]
    paths = writer.write(topic, partition, messages)
    assert len(paths) <= 1, "consecutive offsets land in one file"
    return paths[0] if paths else None


def build_scenario() -> LandingScenario:
    at = DAY.replace(hour=10)
    west_1 = [
        asic_poll(
            "west-1",
            at + timedelta(minutes=5),
            [
                asic_reading("w1-s21-1", "S21", PowerState.NORMAL),
                asic_reading("w1-s19j-1", "S19j Pro", PowerState.NORMAL),
            ],
        ),
        asic_poll(
            "west-1",
            at + timedelta(minutes=20),
            [
                asic_reading("w1-s21-1", "S21", PowerState.HIGH),
                asic_reading("w1-s19j-1", "S19j Pro", PowerState.LOW),
            ],
        ),
        # after the last published real-time price: energy counts, cost stays unknown
        asic_poll("west-1", at + timedelta(minutes=70), [asic_reading("w1-s21-1", "S21", PowerState.NORMAL)]),
    ]
    west_2 = [asic_poll("west-2", at + timedelta(minutes=5), [asic_reading("w2-s21-1", "S21", PowerState.NORMAL)])]
    gpu = GpuTelemetry(
        event_id="gpu:west-1:10:05",
        event_time=at + timedelta(minutes=5),
        site_id="west-1",
        collector_id="west-1-g0",
        interval_s=POLL_S,
        readings=(
            GpuReading(
                device_id="w1-h100-1",
                gpu_type="H100",
                utilisation_pct=93.0,
                memory_used_gib=61.5,
                memory_total_gib=80.0,
                power_w=690.0,
                temp_c=71.0,
                ecc_errors=0,
                job_id="job-1",
                customer_id="acme-ai",
                priority=5,
            ),
        ),
    )
    prices = (
        energy_price("HB_WEST", at, 35.5),
        energy_price("HB_WEST", at + timedelta(minutes=15), 80.25),
        energy_price("LZ_WEST", at, 21.0),
        PriceTick(
            event_id="da:HB_WEST:10",
            event_time=DAY - timedelta(hours=12),
            kind=PriceKind.ENERGY_DA,
            node="HB_WEST",
            interval_start=at,
            interval_end=at + timedelta(hours=1),
            value=999.0,
            unit="USD/MWh",
        ),
        PriceTick(
            event_id="hashprice:2023-01-16",
            event_time=DAY,
            kind=PriceKind.HASHPRICE,
            interval_start=DAY,
            interval_end=DAY + timedelta(days=1),
            value=55.0,
            unit="USD/PH/day",
        ),
    )
    decision = Decision(
        event_id="decision:west-1:S19j Pro:10:15",
        event_time=at + timedelta(minutes=15),
        decision_id="d-1",
        site_id="west-1",
        kind=DecisionKind.POWER_STATE,
        subject="S19j Pro",
        interval_start=at + timedelta(minutes=15),
        action="low",
        previous_action="normal",
        reason="price 80.25 above breakeven",
        energy_price_usd_mwh=80.25,
        hashprice_usd_ph_day=55.0,
        breakeven_usd_mwh=77.68,
        command_id="c-1",
    )
    command = ControlCommand(
        event_id="command:c-1",
        event_time=at + timedelta(minutes=15),
        command_id="c-1",
        decision_id="d-1",
        site_id="west-1",
        kind=CommandKind.SET_POWER_STATE,
        asic_model="S19j Pro",
        power_state=PowerState.LOW,
    )
    dead_letter = DeadLetter(
        original_topic=TELEMETRY_ASIC,
        original_partition=4,
        original_offset=17,
        error_class="RecordError",
        error_message="telemetry.asic: 1 error(s); first at readings: too short",
    )
    return LandingScenario(
        asic_polls=(*west_1, *west_2),
        gpu_polls=(gpu,),
        prices=prices,
        decisions=(decision, decision),
        commands=(command,),
        dead_letter=dead_letter,
        dead_letter_payload=b'{"readings": []}',
    )


@pytest.fixture(scope="session")
def landing_scenario() -> LandingScenario:
    return build_scenario()
