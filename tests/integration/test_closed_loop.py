"""The closed loop on the real broker with a worker process: a price spike curtails ASICs from the next interval
on, and a burst of AI jobs makes ASICs give way under the cap (decisions read back from the landing files).

The spike and the burst are produced here as PriceTick and WorkloadRequest records, so the test does not depend
on the simulators' schedule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from hcp.economics import PowerState
from hcp.fleet import load_fleet
from hcp.landing import iter_landing_files
from hcp.processes import wait_until_caught_up
from hcp.producer import RecordProducer
from hcp.records import ControlCommand, Decision, DecisionKind, PriceKind, PriceTick, WorkloadRequest
from hcp.topics import CONTROL_COMMANDS, DECISIONS
from streams.power.records import mix_mw

pytestmark = pytest.mark.integration

T0 = datetime(2023, 1, 16, 12, tzinfo=UTC)
SPIKE_INTERVAL = 4
BURST_AT = T0 + timedelta(hours=2, minutes=5)


def landed_records(storage, topic, cls):
    files = [f.path for f in iter_landing_files(storage.landing_dir, topic)]
    if not files:
        return []
    return [cls.model_validate_json(value) for value in pl.read_parquet(files)["value"].to_list()]


def price_ticks(nodes):
    ticks = [
        PriceTick(
            event_id="hp:2023-01-15", event_time=T0 - timedelta(hours=12), kind=PriceKind.HASHPRICE,
            interval_start=T0 - timedelta(days=1), interval_end=T0 - timedelta(hours=12), value=60.0,
            unit="USD/PH/day",
        )
    ]
    for interval in range(12):
        start = T0 + interval * timedelta(minutes=15)
        value = 1500.0 if interval == SPIKE_INTERVAL else 25.0
        ticks += [
            PriceTick(
                event_id=f"rt:{node}:{interval}", event_time=start + timedelta(minutes=15), kind=PriceKind.ENERGY_RT,
                node=node, interval_start=start, interval_end=start + timedelta(minutes=15), value=value,
                unit="USD/MWh",
            )
            for node in nodes
        ]
    return ticks


def burst(count):
    return [
        WorkloadRequest(
            event_id=f"burst:{k}", event_time=BURST_AT + timedelta(seconds=k), job_id=f"burst-{k}",
            customer_id="acme-ai", gpu_type="H100", gpu_count=8, priority=6, qos_class="Guaranteed",
            preemptible=False, expected_duration_s=4 * 3600,
        )
        for k in range(count)
    ]


def test_spike_curtails_next_interval_and_burst_moves_asics_down_under_the_cap(platform, worker):
    fleet = load_fleet()
    site = fleet.site("west-1")
    with RecordProducer(platform.broker) as producer:
        for tick in price_ticks(sorted({s.node for s in fleet.sites})):
            if tick.event_time > BURST_AT:
                for request in burst(16):
                    producer.send(request, request.customer_id)
                producer.poll(0)
            producer.send(tick, tick.key)
    wait_until_caught_up(platform.broker, "hcp", worker, timeout=120)

    decisions = landed_records(platform.storage, DECISIONS, Decision)
    mixes = [d for d in decisions if d.kind is DecisionKind.POWER_MIX and d.site_id == site.site_id]
    spike_end = T0 + (SPIKE_INTERVAL + 1) * timedelta(minutes=15)
    after_spike = [d for d in mixes if d.interval_start == spike_end]
    before_spike = [d for d in mixes if d.interval_start == spike_end - timedelta(minutes=15)]
    assert {d.subject for d in after_spike} == {g.model for g in site.asics}
    assert all(d.run_fraction == 0.0 for d in after_spike)
    assert all(d.run_fraction == 1.0 for d in before_spike)

    placements = [d for d in decisions if d.kind is DecisionKind.PLACEMENT and d.site_id == site.site_id]
    assert placements, "the burst placed no job at west-1"
    room = [d for d in mixes if d.interval_start >= BURST_AT and "making room" in d.reason]
    assert room, "no ASIC moved down to make room for the burst"
    assert all(d.power_mw < _previous_mw(d) for d in room)

    commands = landed_records(platform.storage, CONTROL_COMMANDS, ControlCommand)
    place_jobs = {c.job_id for c in commands if c.site_id == site.site_id and c.job_id}
    assert place_jobs == {d.subject for d in placements}


def _previous_mw(decision):
    pairs = [part.rsplit(" ", 1) for part in (decision.previous_action or "").split(", ") if part]
    return mix_mw(decision.subject, {PowerState(state): int(n) for state, n in pairs})
