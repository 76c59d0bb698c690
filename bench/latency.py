"""Benchmark: price tick to decision latency through the real broker and worker, against a bare round trip.

Run: `python -m bench.latency [--hours 6] [--speeds 600,3000] [--out results.json]`.

For each speed (600 is the demo's load, 3000 a 5x burst) it starts the embedded broker and the workers, runs the
simulators, and measures, for every real-time price tick, the time from the tick's send (its Kafka timestamp)
to the arrival of the first decision for the interval that tick opens, read by a consumer of `decisions`
(and of `control.commands`, for the ticks that changed a state). In the same run, the baseline is a bare
round trip: a confluent-kafka producer and consumer on the same broker, one message per tick, timed the same way.
Figures are per machine; the ratio to the bare round trip travels better.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from bench.embedded import embedded_platform
from hcp.consuming import ready_messages
from hcp.exceptions import BrokerError
from hcp.fleet import load_fleet
from hcp.processes import (
    start_worker_process,
    stop_process,
    wait_until_caught_up,
    wait_until_group_stable,
)
from hcp.records import Decision, PriceTick
from hcp.records.market import PriceKind
from hcp.settings import BrokerSettings, SimulatorSettings, WorkerSettings
from hcp.topics import CONTROL_COMMANDS, DECISIONS, MARKET_PRICES, WORKLOAD_REQUESTS
from simulators.runner import run_simulation

# As `hcp demo` runs them: an ingest worker (landing, fleet) and a control worker (site controller).
ROLES = ("ingest", "control")


def group_of(role: str) -> str:
    return WorkerSettings(role=role).group_id


@dataclass
class Observed:
    """Wall times (ms) of the ticks sent and of the first decision / command seen for each interval."""

    ticks: dict[tuple[str, str], float] = field(default_factory=dict)
    tick_seen: dict[tuple[str, str], float] = field(default_factory=dict)
    decisions: dict[tuple[str, str], float] = field(default_factory=dict)
    commands: dict[tuple[str, str], float] = field(default_factory=dict)

    def tick_latencies(self, warm_up_ticks: int) -> dict[str, dict[str, float | int]]:
        """Percentiles from each tick's send to its interval's first decision, first command, and to the
        benchmark's own reader, leaving out the first `warm_up_ticks` ticks sent."""
        warm = sorted(self.ticks.items(), key=lambda item: item[1])[warm_up_ticks:]
        return {
            "tick_to_decision": percentiles([self.decisions[k] - sent for k, sent in warm if k in self.decisions]),
            "tick_to_command": percentiles([self.commands[k] - sent for k, sent in warm if k in self.commands]),
            "tick_to_other_reader": percentiles([self.tick_seen[k] - sent for k, sent in warm]),
        }


def watch(broker: BrokerSettings, node_of_site: dict[str, str], observed: Observed, stop: threading.Event) -> None:
    """Read prices, decisions and commands from the beginning; note when each interval's first answer arrived."""
    consumer = Consumer(broker.librdkafka_config() | {"group.id": "bench-latency", "fetch.wait.max.ms": 5})
    metadata = consumer.list_topics(timeout=10)
    consumer.assign(
        [
            TopicPartition(topic, p, OFFSET_BEGINNING)
            for topic in (MARKET_PRICES, DECISIONS, CONTROL_COMMANDS)
            for p in metadata.topics[topic].partitions
        ]
    )
    while not stop.is_set():
        for message in ready_messages(consumer, 0.05):
            if message.error():
                continue
            now_ms = time.time() * 1000
            if message.topic() == MARKET_PRICES:
                tick = PriceTick.model_validate_json(message.value())
                if tick.kind is PriceKind.ENERGY_RT:
                    key = (tick.node, tick.interval_end.isoformat())
                    observed.ticks[key] = message.timestamp()[1]
                    observed.tick_seen[key] = now_ms
            elif message.topic() == DECISIONS:
                decision = Decision.model_validate_json(message.value())
                key = (node_of_site.get(decision.site_id, ""), decision.interval_start.isoformat())
                observed.decisions.setdefault(key, now_ms)
                if decision.command_id:
                    observed.commands.setdefault(key, now_ms)
    consumer.close()


def round_trip_baseline(broker: BrokerSettings, count: int, rate_per_s: float) -> list[float]:
    """Bare confluent-kafka produce -> consume latency (ms) of `count` small messages at `rate_per_s`."""
    topic = "bench.roundtrip"
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(broker.librdkafka_config())
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(10)
    producer = Producer(broker.librdkafka_config() | {"linger.ms": 0, "enable.idempotence": True})
    consumer = Consumer(broker.librdkafka_config() | {"group.id": "bench-rt", "fetch.wait.max.ms": 5})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    latencies: list[float] = []
    for index in range(count):
        producer.produce(topic, value=json.dumps({"i": index, "sent": time.time() * 1000}).encode())
        producer.poll(0)
        producer.flush(5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            message = consumer.poll(0.05)
            if message is not None and not message.error():
                latencies.append(time.time() * 1000 - json.loads(message.value())["sent"])
                break
        time.sleep(max(0.0, 1.0 / rate_per_s))
    consumer.close()
    return latencies


def percentiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    array = np.asarray(values)
    return {
        "n": len(values),
        "p50_ms": round(float(np.percentile(array, 50)), 2),
        "p99_ms": round(float(np.percentile(array, 99)), 2),
        "p99_9_ms": round(float(np.percentile(array, 99.9)), 2),
        "max_ms": round(float(array.max()), 2),
    }


def measure(
    speed: float, hours: float, seed: int, fleet_file: Path | None = None, telemetry_interval_s: int = 60
) -> dict[str, object]:
    fleet = load_fleet(fleet_file)
    node_of_site = {site.site_id: site.node for site in fleet.sites}
    with tempfile.TemporaryDirectory(prefix="hcp-bench-") as home, embedded_platform(Path(home), fleet_file) as stack:
        broker, storage = stack.broker, stack.storage
        worker = start_worker_process(stack.env, stack.log("ingest"), role=ROLES[0])
        control = start_worker_process(stack.env, stack.log("control"), role=ROLES[1])
        wait_until_group_stable(broker, group_of(ROLES[0]), worker)
        wait_until_group_stable(broker, group_of(ROLES[1]), control)
        observed, stop = Observed(), threading.Event()
        watcher = threading.Thread(target=watch, args=(broker, node_of_site, observed, stop), daemon=True)
        watcher.start()
        try:
            sim = SimulatorSettings(
                start=datetime(2023, 1, 16, tzinfo=UTC),
                hours=hours,
                speed=speed,
                seed=seed,
                telemetry_interval_s=telemetry_interval_s,
            )
            summary = run_simulation(sim, broker, storage, fleet, run_id=f"bench-{speed:g}")
            wait_until_caught_up(broker, group_of(ROLES[1]), control, 300, [MARKET_PRICES, WORKLOAD_REQUESTS])
            # Decisions come from the control worker; an ingest worker behind the telemetry (a fleet larger
            # than one ingest worker takes) is recorded, not waited for.
            try:
                wait_until_caught_up(broker, group_of(ROLES[0]), worker, timeout=60)
                ingest_caught_up = True
            except BrokerError:
                ingest_caught_up = False
            time.sleep(1.0)
        finally:
            stop.set()
            watcher.join(10)
            stop_process(control)
            stop_process(worker)
        ticks_per_s = len(observed.ticks) / max(summary.wall_seconds, 1e-9)
        baseline = round_trip_baseline(broker, count=min(len(observed.ticks), 500), rate_per_s=max(ticks_per_s, 1))
    # The simulation starts once the worker's group is stable; the first hour of ticks is still left out as
    # warm-up (first fetches, table recovery).
    devices = sum(g.count for site in fleet.sites for g in (*site.asics, *site.gpus))
    return {
        "speed": speed,
        "simulated_hours": hours,
        "fleet": str(fleet_file or "demo"),
        "telemetry_interval_s": telemetry_interval_s,
        "device_readings_per_s": round(devices * speed / telemetry_interval_s),
        "events_per_s": round(summary.events_total / summary.wall_seconds, 1),
        "ingest_caught_up_within_60_s": ingest_caught_up,
        "ticks": len(observed.ticks),
        **observed.tick_latencies(len(fleet.sites) * 4),
        "bare_round_trip": percentiles(baseline),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=6.0, help="simulated hours per speed")
    parser.add_argument("--speeds", default="600,3000", help="comma-separated speeds (600 = demo load)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--fleet", type=Path, help="fleet YAML (default: the demo fleet)")
    parser.add_argument("--telemetry-interval-s", type=int, default=60, help="simulated seconds between polls")
    args = parser.parse_args()
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": [
            measure(float(s), args.hours, args.seed, args.fleet, args.telemetry_interval_s)
            for s in args.speeds.split(",")
        ],
    }
    print(f"machine: {results['machine']}")
    print(f"{'speed':>6} {'events/s':>9} {'what':<18} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9}")
    for run in results["runs"]:
        for what in ("tick_to_decision", "tick_to_command", "tick_to_other_reader", "bare_round_trip"):
            row = run[what]
            print(
                f"{run['speed']:>6g} {run['events_per_s']:>9} {what:<18} {row['n']:>5} "
                f"{row.get('p50_ms', '-'):>8} {row.get('p99_ms', '-'):>8} {row.get('p99_9_ms', '-'):>9}"
            )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
