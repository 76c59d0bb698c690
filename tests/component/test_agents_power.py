"""The site control agent in faust's test context: Decision and ControlCommand records captured as they are sent."""

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
from streams.power import agents
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


def patch_sends(monkeypatch, deliver):
    """Route every record the agent sends through `deliver(topic, key, value, headers)`, which returns its delivery.

    The agent sends decisions and commands on the producer (`agents.send_record`) and dead letters with
    `Topic.send`: both are replaced.
    """

    async def topic_send(self, *, key=None, value=None, headers=None, **_):
        return deliver(self.get_topic_name(), key, value, headers)

    async def send_record(topic, key, value):
        return deliver(topic.get_topic_name(), key, value, None)

    monkeypatch.setattr(Topic, "send", topic_send)
    monkeypatch.setattr(agents, "send_record", send_record)


def delivered_now():
    delivered = asyncio.get_running_loop().create_future()
    delivered.set_result(None)
    return delivered


@pytest.fixture
def sent(monkeypatch):
    records = []

    def deliver(topic, key, value, headers):
        records.append((topic, key, value))
        return delivered_now()

    patch_sends(monkeypatch, deliver)
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


class SlowBroker:
    """Broker stand-in: what was sent is acknowledged every 30 ms, all of it at once (one round trip)."""

    def __init__(self, monkeypatch):
        self.pending, self.rounds = [], []

        def deliver(topic, key, value, headers):
            delivered = asyncio.get_running_loop().create_future()
            self.pending.append((topic, value, delivered))
            return delivered

        patch_sends(monkeypatch, deliver)

    async def run(self):
        while True:
            await asyncio.sleep(0.03)
            if self.pending:
                self.rounds.append([(topic, value) for topic, value, _ in self.pending])
                for *_, delivered in self.pending:
                    delivered.set_result(None)
                self.pending.clear()

    def decision_rounds(self):
        return [round_ for round_ in self.rounds if any(topic == DECISIONS for topic, _ in round_)]


def burst(tmp_path, broker, messages, until):
    """Put every message in the agent's queue at once (as a burst arrives from the broker) and run until `until`."""

    async def run():
        acks = asyncio.get_running_loop().create_task(broker.run())
        try:
            app = create_app(WorkerSettings(), BrokerSettings(), StorageSettings(home=tmp_path), FLEET)
            agent = app.agents["control_sites"]
            async with agent.test_context() as ctx:
                channel = ctx.stream().channel
                raws = [
                    Message(
                        topic=MARKET_PRICES, partition=0, offset=offset, timestamp=time.time(), timestamp_type=0,
                        headers=[], key=b"k", value=record.to_json(), checksum=None,
                        generation_id=app.consumer_generation_id,
                    )
                    for offset, (_, record) in enumerate(messages)
                ]
                events = [await channel.decode(raw) for raw in raws]
                for event in events:
                    event.message.incref()  # as faust's conductor does for each channel it delivers a message to
                    channel.queue.put_nowait(event)
                await wait_until(lambda: until(app, events))
                return app, events
        finally:
            acks.cancel()

    return asyncio.run(run())


def test_ticks_that_arrive_together_are_decided_without_waiting_for_each_others_round_trip(tmp_path, monkeypatch):
    # When each tick's decisions waited for their own acknowledgement before the next tick was decided, six ticks
    # took six round trips.
    broker = SlowBroker(monkeypatch)
    ticks = [rt_tick(30.0 if k % 2 else 900.0, k) for k in range(1, 7)]
    messages = [(MARKET_PRICES, hashprice_tick())] + [(MARKET_PRICES, tick) for tick in ticks]

    def decided_every_tick(app, events):
        return sum(1 for round_ in broker.rounds for topic, _ in round_ if topic == DECISIONS) >= len(ticks)

    burst(tmp_path, broker, messages, decided_every_tick)

    assert len(broker.decision_rounds()) < len(ticks)
    assert len([t for t, _ in broker.decision_rounds()[0] if t == DECISIONS]) > 1


def test_a_tick_is_acknowledged_and_its_offset_written_only_after_its_records_are_delivered(tmp_path, monkeypatch):
    broker = SlowBroker(monkeypatch)
    messages = [(MARKET_PRICES, tick) for tick in (hashprice_tick(), rt_tick(30.0, 1), rt_tick(900.0, 2))]
    seen = []

    def watch(app, events):
        table = app.tables["site_control"]
        seen.append(
            (
                len(broker.rounds),
                [event.message.acked for event in events],
                table.data.get(f"handled:{MARKET_PRICES}:0"),
            )
        )
        return all(event.message.acked for event in events)

    burst(tmp_path, broker, messages, watch)

    for rounds, acked, handled in seen:
        if rounds == 0:  # the ticks' records not delivered yet: neither tick acknowledged nor its offset written
            assert not any(acked[1:]) and (handled is None or handled < 1)
    assert seen[-1][2] == len(messages) - 1
    assert any(rounds == 0 for rounds, *_ in seen)


class RefusingBroker:
    """Broker stand-in that refuses every decision at once (and accepts the rest)."""

    def __init__(self, monkeypatch):
        self.refused = []

        def deliver(topic, key, value, headers):
            delivered = asyncio.get_running_loop().create_future()
            if topic == DECISIONS:
                self.refused.append(value)
                delivered.set_exception(RuntimeError("broker refused the record"))
            else:
                delivered.set_result(None)
            return delivered

        patch_sends(monkeypatch, deliver)

    async def run(self):
        await asyncio.Event().wait()


def test_a_tick_whose_records_are_refused_is_never_acknowledged_nor_anything_after_it(tmp_path, monkeypatch):
    broker = RefusingBroker(monkeypatch)
    messages = [(MARKET_PRICES, tick) for tick in (hashprice_tick(), rt_tick(30.0, 1), rt_tick(900.0, 2))]
    waited = []

    def refused_and_settled(app, events):
        waited.append(time.monotonic())
        return bool(broker.refused) and waited[-1] - waited[0] > 0.3

    app, events = burst(tmp_path, broker, messages, refused_and_settled)

    assert [event.message.acked for event in events] == [True, False, False]
    assert app.tables["site_control"].data.get(f"handled:{MARKET_PRICES}:0") == 0
