"""The site control agent in faust's test context: Decision and ControlCommand records captured from Topic.send."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from faust.topics import Topic
from faust.types import Message

from hcp.economics import PowerState
from hcp.fleet import Fleet
from hcp.records import ControlCommand, Decision, DecisionKind, PriceKind, PriceTick, WorkloadRequest
from hcp.settings import BrokerSettings, StorageSettings, WorkerSettings
from hcp.topics import CONTROL_COMMANDS, DECISIONS, MARKET_PRICES, WORKLOAD_REQUESTS
from streams.app import create_app
from streams.power.records import mix_mw

T0 = datetime(2023, 1, 16, 12, tzinfo=UTC)
CAP_MW = 0.4
FLEET = Fleet.model_validate(
    {
        "sites": [
            {"site_id": "north-1", "node": "HB_NORTH", "power_cap_mw": CAP_MW,
             "asics": [{"model": "S21", "count": 100}], "gpus": [{"model": "H100", "count": 64}]}
        ],
        "customers": [{"customer_id": "acme"}],
    }
)


def hashprice_tick():
    return PriceTick(
        event_id="hp", event_time=T0 - timedelta(hours=12), kind=PriceKind.HASHPRICE,
        interval_start=T0 - timedelta(days=1), interval_end=T0 - timedelta(hours=12), value=60.0,
        unit="USD/PH/day",
    )


def rt_tick(value, interval):
    end = T0 + interval * timedelta(minutes=15)
    return PriceTick(
        event_id=f"rt:{interval}", event_time=end, kind=PriceKind.ENERGY_RT, node="HB_NORTH",
        interval_start=end - timedelta(minutes=15), interval_end=end, value=value, unit="USD/MWh",
    )


def job(job_id, at, priority=5, qos="Guaranteed", preemptible=False):
    return WorkloadRequest(
        event_id=f"req:{job_id}", event_time=at, job_id=job_id, customer_id="acme", gpu_type="H100", gpu_count=8,
        priority=priority, qos_class=qos, preemptible=preemptible, expected_duration_s=86400,
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


async def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def control(tmp_path, messages, wait_for):
    """Feed (topic, record or raw bytes) messages to a fresh app's agent; the agent's state afterwards."""

    async def run():
        app = create_app(WorkerSettings(), BrokerSettings(), StorageSettings(home=tmp_path), FLEET)
        agent = app.agents["control_sites"]
        async with agent.test_context() as ctx:
            channel = ctx.stream().channel
            for offset, (topic, message) in enumerate(messages):
                value = message if isinstance(message, bytes) else message.to_json()
                raw = Message(
                    topic=topic, partition=0, offset=offset, timestamp=time.time(), timestamp_type=0, headers=[],
                    key=b"k", value=value, checksum=None, generation_id=app.consumer_generation_id,
                )
                await channel.put(await channel.decode(raw))
            await wait_until(lambda: wait_for(app))
            await asyncio.sleep(0.05)  # let a wrong extra record show up
        return app

    return asyncio.run(run())


def sent_records(sent, topic, cls):
    return [cls.model_validate_json(value) for name, _, value in sent if name == topic]


def test_price_spike_curtails_the_asics_for_the_next_interval(tmp_path, sent):
    prices = [hashprice_tick(), rt_tick(30.0, 1), rt_tick(900.0, 2)]
    messages = [(MARKET_PRICES, p) for p in prices]
    control(tmp_path, messages, lambda app: len(sent_records(sent, DECISIONS, Decision)) == 2)
    calm, spike = sent_records(sent, DECISIONS, Decision)
    commands = sent_records(sent, CONTROL_COMMANDS, ControlCommand)
    assert (spike.kind, spike.subject) == (DecisionKind.POWER_MIX, "S21")
    assert spike.interval_start == rt_tick(0, 2).interval_end
    assert calm.run_fraction == 1.0 and spike.run_fraction == 0.0
    assert spike.power_mw < calm.power_mw and spike.site_power_cap_mw == CAP_MW
    assert commands[-1].state_counts[PowerState.SLEEP] == 100 and commands[-1].decision_id == spike.decision_id
    assert all(key == b"north-1" for _, key, _ in sent)


def test_burst_of_requests_places_jobs_and_moves_asics_down_under_the_cap(tmp_path, sent):
    at = T0 + timedelta(minutes=20)
    messages = [(MARKET_PRICES, hashprice_tick()), (MARKET_PRICES, rt_tick(30.0, 1))]
    messages += [(WORKLOAD_REQUESTS, job(f"j{k}", at + timedelta(seconds=k))) for k in range(8)]

    def all_placed(app):
        return len([d for d in sent_records(sent, DECISIONS, Decision) if d.kind is DecisionKind.PLACEMENT]) == 8

    app = control(tmp_path, messages, all_placed)
    mixes = [c for c in sent_records(sent, CONTROL_COMMANDS, ControlCommand) if c.state_counts]
    first, last = mixes[0], mixes[-1]
    assert mix_mw("S21", last.state_counts) < mix_mw("S21", first.state_counts)
    gpu_mw = 64 * 700 * 1.3 / 1e6
    assert mix_mw("S21", last.state_counts) + gpu_mw <= CAP_MW + 1e-9
    assert app.tables["site_control"]["mix:north-1:S21"] == {s.value: n for s, n in last.state_counts.items()}


def test_latency_sensitive_jobs_are_never_preempted(tmp_path, sent):
    at = T0 + timedelta(minutes=20)
    messages = [(WORKLOAD_REQUESTS, job(f"ls{k}", at, priority=6, qos="LS", preemptible=True)) for k in range(8)]
    messages.append((WORKLOAD_REQUESTS, job("urgent", at + timedelta(hours=2), priority=9)))

    def urgent_seen(app):
        return any(d.subject == "urgent" for d in sent_records(sent, DECISIONS, Decision))

    control(tmp_path, messages, urgent_seen)
    kinds = [d.kind for d in sent_records(sent, DECISIONS, Decision)]
    assert DecisionKind.PREEMPTION not in kinds and DecisionKind.QUEUED in kinds


def test_invalid_messages_are_skipped_and_the_agent_goes_on(tmp_path, sent):
    messages = [
        (MARKET_PRICES, b"{not json"),
        (WORKLOAD_REQUESTS, b'{"schema_version": 1, "job_id": "x"}'),
        (MARKET_PRICES, hashprice_tick()),
        (MARKET_PRICES, rt_tick(30.0, 1)),
    ]
    control(tmp_path, messages, lambda app: len(sent_records(sent, DECISIONS, Decision)) == 1)
    [decision] = sent_records(sent, DECISIONS, Decision)
    assert decision.kind is DecisionKind.POWER_MIX
