"""The simulator's shell: walks the simulated grid at the configured speed, sends every record to its topic,
writes the producers' ledger, and applies the control commands the platform publishes."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, TopicPartition

from hcp.broker import ensure_topics
from hcp.exceptions import BrokerError
from hcp.fleet import Fleet
from hcp.ledger import LedgerWriter
from hcp.producer import RecordProducer
from hcp.settings import BrokerSettings, SimulatorSettings, StorageSettings
from hcp.topics import CONTROL_COMMANDS, TELEMETRY_ASIC, TELEMETRY_GPU
from simulators.clock import SimulationClock, count_steps, simulation_steps
from simulators.faults import Fault
from simulators.simulation import FleetSimulation, record_key

log = logging.getLogger(__name__)

COMMAND_BATCH = 500


@dataclass(frozen=True)
class SimulationSummary:
    """What one simulation run produced."""

    run_id: str
    events_by_topic: Mapping[str, int]
    sim_start: datetime
    sim_end: datetime
    wall_seconds: float
    commands_applied: int
    commands_rejected: int
    ledger_path: Path

    @property
    def events_total(self) -> int:
        return sum(self.events_by_topic.values())


def open_command_consumer(broker: BrokerSettings, run_id: str, timeout: float = 10.0) -> Consumer:
    """A consumer assigned to every partition of `control.commands` at its current end: no group join."""
    config = broker.librdkafka_config() | {
        "group.id": f"hcp-simulator-{run_id}",
        "enable.auto.commit": False,
        "client.id": f"hcp-simulator-{run_id}",
    }
    consumer = Consumer(config)
    try:
        topic = consumer.list_topics(CONTROL_COMMANDS, timeout=timeout).topics.get(CONTROL_COMMANDS)
        if topic is None or topic.error is not None or not topic.partitions:
            raise BrokerError(f"topic {CONTROL_COMMANDS} is missing on {broker.servers}")
        assignment = []
        for partition in sorted(topic.partitions):
            _, high = consumer.get_watermark_offsets(TopicPartition(CONTROL_COMMANDS, partition), timeout=timeout)
            assignment.append(TopicPartition(CONTROL_COMMANDS, partition, high))
        consumer.assign(assignment)
    except (KafkaException, BrokerError) as err:
        consumer.close()
        raise BrokerError(f"cannot read {CONTROL_COMMANDS}: {err}") from err
    return consumer


TELEMETRY_TOPICS = frozenset({TELEMETRY_ASIC, TELEMETRY_GPU})


def run_simulation(
    sim: SimulatorSettings,
    broker: BrokerSettings,
    storage: StorageSettings,
    fleet: Fleet,
    *,
    run_id: str,
    on_progress: Callable[[datetime, int], None] | None = None,
    stop: threading.Event | None = None,
    faults: Sequence[Fault] = (),
) -> SimulationSummary:
    """Simulate `sim.hours` from `sim.start`, never faster than `sim.speed` (catching up without sleeping when
    behind), sending every record and writing the ledger `<ledger_dir>/<run_id>.jsonl`. Stops early when `stop`
    is set. `faults` (simulators.faults) are applied to what each step publishes. Raises `ProducerError` if some
    records were not delivered."""
    world = FleetSimulation(sim, fleet, faults)
    ensure_topics(broker)
    events: Counter[str] = Counter()
    applied = rejected = 0
    steps = 0
    wall_start = time.monotonic()
    consumer = open_command_consumer(broker, run_id)
    try:
        # Telemetry comes from site collectors and prices from a market feed: different producers in reality,
        # and here too, so a price tick never waits in a producer queue behind a burst of large telemetry.
        with (
            RecordProducer(broker, client_id=f"hcp-collectors-{run_id}") as collectors,
            RecordProducer(broker, client_id=f"hcp-feeds-{run_id}", linger_ms=0) as feeds,
            LedgerWriter(storage.ledger_dir, run_id) as ledger,
        ):
            clock = SimulationClock(sim.start, sim.speed)
            for now in simulation_steps(sim.start, sim.hours, sim.telemetry_interval_s):
                wait = clock.wall_seconds_until(now)
                if stop is not None and (stop.is_set() or (wait > 0 and stop.wait(wait))):
                    break
                if stop is None and wait > 0:
                    time.sleep(wait)
                ok, bad = _apply_commands(consumer, world, now)
                applied, rejected = applied + ok, rejected + bad
                for record in world.step(now):
                    key, value = record_key(record), record.to_json()
                    producer = collectors if record.topic in TELEMETRY_TOPICS else feeds
                    producer.send_raw(record.topic, key, value)
                    ledger.record(record.event_id, record.topic, key, value)
                    events[record.topic] += 1
                steps += 1
                if on_progress is not None:
                    on_progress(now, sum(events.values()))
    finally:
        consumer.close()
    end = min(sim.start + steps * timedelta(seconds=sim.telemetry_interval_s), sim.start + timedelta(hours=sim.hours))
    summary = SimulationSummary(
        run_id=run_id,
        events_by_topic=dict(sorted(events.items())),
        sim_start=sim.start,
        sim_end=end,
        wall_seconds=round(time.monotonic() - wall_start, 3),
        commands_applied=applied,
        commands_rejected=rejected,
        ledger_path=storage.ledger_dir / f"{run_id}.jsonl",
    )
    log.info(
        "simulation %s: %d events over %d of %d step(s), %d command(s) applied, %d rejected, %.1f s",
        run_id,
        summary.events_total,
        steps,
        count_steps(sim.hours, sim.telemetry_interval_s),
        applied,
        rejected,
        summary.wall_seconds,
    )
    return summary


def _apply_commands(consumer: Consumer, world: FleetSimulation, now: datetime) -> tuple[int, int]:
    """Apply every command already delivered, without waiting; return (applied, rejected)."""
    applied = rejected = 0
    while messages := consumer.consume(COMMAND_BATCH, timeout=0):
        for message in messages:
            if message.error() is not None:
                log.warning("control command stream error: %s", message.error())
                continue
            if world.apply_command(message.value(), now) is None:
                rejected += 1
            else:
                applied += 1
    return applied, rejected
