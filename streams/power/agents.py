"""The power agent: on each real-time energy price, decide every ASIC model's power state at its sites."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import faust

from hcp.codec import decode_record
from hcp.exceptions import RecordError
from hcp.fleet import Fleet
from hcp.records import PriceTick, Record
from hcp.topics import CONTROL_COMMANDS, DECISIONS, MARKET_PRICES, TOPICS
from streams.power.policy import PowerPlan, plan_power_states
from streams.tables import json_table
from streams.topics import contract_topic

log = logging.getLogger(__name__)


@dataclass
class PowerCounters:
    """What the power agent has done since the worker started."""

    ticks: int = 0
    skipped: int = 0
    decisions: int = 0
    commands: int = 0


@dataclass(frozen=True)
class PowerChannels:
    """Where the power agent keeps its state and sends its records."""

    decisions: faust.TopicT
    commands: faust.TopicT
    prices: faust.Table
    power_states: faust.Table


def remember_price(prices: faust.Table, tick: PriceTick) -> None:
    """Keep the tick as the latest of its key unless a later interval is already known (replays, reorders)."""
    known = prices.get(tick.key)
    if known is not None and datetime.fromisoformat(known["interval_start"]) > tick.interval_start:
        return
    prices[tick.key] = {
        "value": tick.value,
        "interval_start": tick.interval_start.isoformat(),
        "interval_end": tick.interval_end.isoformat(),
    }


async def send_records(topic: faust.TopicT, records: Sequence[Record], key_of: str = "site_id") -> None:
    """Send records keyed by a field and wait until the broker has them all."""
    deliveries = [
        await topic.send(key=str(getattr(record, key_of)).encode(), value=record.to_json(), force=True)
        for record in records
    ]
    await asyncio.gather(*deliveries)


async def handle_tick(event: faust.EventT, fleet: Fleet, channels: PowerChannels, counters: PowerCounters) -> None:
    """Remember the price; on a real-time energy price, send the decisions and commands it calls for."""
    try:
        tick = decode_record(MARKET_PRICES, event.message.value)
    except RecordError as err:
        counters.skipped += 1  # the landing agent dead-letters it
        log.debug("skipped invalid price: %s", err)
        return
    assert isinstance(tick, PriceTick)
    counters.ticks += 1
    remember_price(channels.prices, tick)
    latest = {key: entry["value"] for key, entry in channels.prices.items()}
    plan: PowerPlan = plan_power_states(tick, fleet, latest, dict(channels.power_states.items()))
    if plan.skipped:
        log.info("power decision skipped: %s", plan.skipped)
        return
    await send_records(channels.commands, plan.commands)
    await send_records(channels.decisions, plan.decisions)
    for key, state in plan.new_states.items():
        channels.power_states[key] = state.value
    counters.decisions += len(plan.decisions)
    counters.commands += len(plan.commands)


def register_power(app: faust.App, fleet: Fleet) -> PowerCounters:
    """Declare the `curtail_unprofitable_miners` agent and its `prices` and `power_states` tables on `app`."""
    partitions = TOPICS[MARKET_PRICES].partitions
    channels = PowerChannels(
        decisions=contract_topic(app, DECISIONS),
        commands=contract_topic(app, CONTROL_COMMANDS),
        prices=json_table(app, "prices", partitions, "price key (kind:node|gpu_type|-) -> latest value, interval"),
        power_states=json_table(
            app, "power_states", partitions, "site_id:asic_model -> power state in force; written only on change"
        ),
    )
    counters = PowerCounters()

    async def curtail_unprofitable_miners(stream: faust.StreamT) -> None:
        """Sleep ASIC models whose breakeven is below the real-time energy price; wake them when it is not."""
        async for event in stream.events():
            await handle_tick(event, fleet, channels, counters)

    app.agent(contract_topic(app, MARKET_PRICES), name="curtail_unprofitable_miners")(curtail_unprofitable_miners)
    return counters
