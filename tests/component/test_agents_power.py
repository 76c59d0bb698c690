"""The power agent in faust's test context: Decision and ControlCommand records captured from Topic.send."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from faust.topics import Topic

from hcp.economics import ASIC_MODELS, breakeven_usd_per_mwh
from hcp.fleet import Fleet
from hcp.records import ControlCommand, Decision, PriceKind, PriceTick
from hcp.settings import BrokerSettings, StorageSettings, WorkerSettings
from hcp.topics import CONTROL_COMMANDS, DECISIONS
from streams.app import create_app

T0 = datetime(2023, 1, 16, 12, tzinfo=UTC)
HASHPRICE = 50.0
FLEET = Fleet.model_validate(
    {
        "sites": [
            {"site_id": "north-1", "node": "HB_NORTH", "power_cap_mw": 1, "asics": [{"model": "S21", "count": 5}]}
        ],
        "customers": [{"customer_id": "acme"}],
    }
)
BREAKEVEN = breakeven_usd_per_mwh(HASHPRICE, ASIC_MODELS["S21"].joules_per_th())


def hashprice_tick():
    return PriceTick(
        event_id="hp", event_time=T0 - timedelta(hours=12), kind=PriceKind.HASHPRICE,
        interval_start=T0 - timedelta(days=1), interval_end=T0 - timedelta(hours=12), value=HASHPRICE,
        unit="USD/PH/day",
    )


def rt_tick(value, interval):
    end = T0 + interval * timedelta(minutes=15)
    return PriceTick(
        event_id=f"rt:{interval}", event_time=end, kind=PriceKind.ENERGY_RT, node="HB_NORTH",
        interval_start=end - timedelta(minutes=15), interval_end=end, value=value, unit="USD/MWh",
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


def curtail(tmp_path, ticks, wait_for):
    async def run():
        app = create_app(WorkerSettings(), BrokerSettings(), StorageSettings(home=tmp_path), FLEET)
        async with app.agents["curtail_unprofitable_miners"].test_context() as ctx:
            for tick in ticks:
                await ctx.put(key=tick.key.encode(), value=tick.to_json())
            await wait_until(lambda: wait_for(app))
            await asyncio.sleep(0.05)  # let a wrong extra record show up
        return dict(app.tables["power_states"].items())

    return asyncio.run(run())


def sent_records(sent, topic, cls):
    return [cls.model_validate_json(value) for name, _, value in sent if name == topic]


def test_price_above_breakeven_sends_a_sleep_decision_and_a_command(tmp_path, sent):
    states = curtail(tmp_path, [hashprice_tick(), rt_tick(BREAKEVEN + 20, 1)], lambda app: len(sent) == 2)
    [decision] = sent_records(sent, DECISIONS, Decision)
    [command] = sent_records(sent, CONTROL_COMMANDS, ControlCommand)
    assert (decision.site_id, decision.subject, decision.action) == ("north-1", "S21", "sleep")
    assert decision.interval_start == T0 + timedelta(minutes=15)
    assert decision.command_id == command.command_id and command.decision_id == decision.decision_id
    assert (command.asic_model, command.power_state.value) == ("S21", "sleep")
    assert all(key == b"north-1" for _, key, _ in sent)
    assert states == {"north-1:S21": "sleep"}


def test_price_below_breakeven_without_a_state_change_sends_a_decision_only(tmp_path, sent):
    ticks = [hashprice_tick(), rt_tick(BREAKEVEN - 20, 1), rt_tick(BREAKEVEN - 30, 2)]
    curtail(tmp_path, ticks, lambda app: len(sent) == 3)
    first, second = sent_records(sent, DECISIONS, Decision)
    assert len(sent_records(sent, CONTROL_COMMANDS, ControlCommand)) == 1  # the first one set the state
    assert (second.action, second.previous_action, second.command_id) == ("normal", "normal", None)
    assert second.interval_start > first.interval_start


def test_energy_price_before_any_hashprice_decides_nothing(tmp_path, sent):
    ticks = [rt_tick(BREAKEVEN + 20, 1), hashprice_tick()]
    states = curtail(tmp_path, ticks, lambda app: len(app.tables["prices"]) == 2)
    assert sent == [] and states == {}
