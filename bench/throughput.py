"""Benchmark: telemetry readings per CPU-second through the real ingest worker, against bare client loops.

Run: `python -m bench.throughput [--polls 5] [--fleet bench/large_fleet.yaml] [--readings-per-message 2000]
[--paced] [--out results.json]`.

It starts the embedded broker and an ingest worker (`hcp worker --role ingest`: the landing agent, which
validates every message and lands it as Parquet, and the fleet agent, which tracks every device), produces
one poll of every ASIC of the fleet (100,000 ASICs in collectors of 500: one message per collector poll) as
warm-up (it discovers every device: one `fleet.devices` message each; timed apart), then `--polls` more, and
waits until the worker has committed them all. The worker's CPU seconds over that span (from
/proc) give readings per CPU-second. In the same run, on the same broker and the same messages:

- a bare aiokafka `getmany` loop and a bare confluent-kafka `consume` loop, each doing the same parsing and
  arithmetic: `decode_telemetry` (the same validation), the same `FleetTracker` update, and the site's energy;
- the ratio of the worker's rate to each (the issue's target: at least 25 % of the bare aiokafka loop).

Two wall-clock figures for the one worker: `readings_per_s` while it drains the measured polls sent all at once
(its ceiling when it has the CPU to itself), and with `--paced` the polls sent one per second, as the fleet
sends them, with the share of one core the worker used meanwhile (`busy`) and how long after the last poll it
had committed everything (`catch_up_s`): it kept up when that is about faust's 2.8 s commit interval or less.
`--readings-per-message` sets every site's collector size (readings per telemetry message) for the run.

Each figure is for one process on one core; this machine's other load moves them, the ratios less so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import yaml
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition as AioTopicPartition
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from bench.embedded import embedded_platform
from bench.procstat import cpu_seconds, peak_rss_mib
from hcp.consuming import ready_messages
from hcp.fleet import load_fleet
from hcp.processes import start_worker_process, stop_process, wait_until_caught_up, wait_until_group_stable
from hcp.records import DeviceKind
from hcp.settings import BrokerSettings, WorkerSettings
from hcp.telemetry_columns import decode_telemetry
from hcp.topics import TELEMETRY_ASIC, TOPICS
from simulators.asic import AsicFleetSimulator
from streams.fleet.tracker import FleetTracker

LARGE_FLEET = Path(__file__).with_name("large_fleet.yaml")
START = datetime(2023, 1, 16, tzinfo=UTC)


def build_messages(fleet_file: Path, polls: int, interval_s: float = 1.0) -> list[tuple[bytes, bytes, int]]:
    """(key, value, readings) of `polls` polls of every ASIC collector: one simulated poll, re-stamped per poll
    (the simulator is benchmarked on its own in bench.simulator)."""
    simulator = AsicFleetSimulator(load_fleet(fleet_file), interval_s, 60.0, np.random.default_rng(7))
    first = simulator.poll(START)
    messages = []
    for k in range(polls):
        at = START + timedelta(seconds=k * interval_s)
        for poll in first:
            value = poll.model_copy(update={"event_id": f"{poll.collector_id}:{int(at.timestamp())}", "event_time": at})
            messages.append((poll.site_id.encode(), value.to_json(), len(poll.readings)))
    return messages


def fleet_with_collector_size(fleet_file: Path, readings_per_message: int, folder: Path) -> Path:
    """A copy of the fleet file whose every site polls its devices in collectors of `readings_per_message`."""
    raw = yaml.safe_load(fleet_file.read_text())
    for site in raw["sites"]:
        site["collector_size"] = readings_per_message
    copy = folder / f"{fleet_file.stem}-{readings_per_message}-per-message.yaml"
    copy.write_text(yaml.safe_dump(raw, sort_keys=False))
    load_fleet(copy)  # validated as the worker will
    return copy


def produce(
    broker: BrokerSettings, topic: str, messages: list[tuple[bytes, bytes, int]], per_second: int | None = None
) -> dict[int, int]:
    """Send every message keyed by site; return the last offset written per partition.

    With `per_second`, the messages go in groups of that many, one group a second (one poll of the fleet each).
    """
    last: dict[int, int] = {}

    def delivered(err: object, message: object) -> None:
        if err is None:
            last[message.partition()] = max(last.get(message.partition(), -1), message.offset())

    producer = Producer(
        broker.librdkafka_config()
        | {"linger.ms": 5, "enable.idempotence": True, "message.max.bytes": 8_000_000, "compression.type": "lz4"}
    )
    started = time.monotonic()
    for i, (key, value, _) in enumerate(messages):
        if per_second and i and i % per_second == 0:
            producer.flush(1.0)
            time.sleep(max(0.0, started + i // per_second - time.monotonic()))
        while True:
            try:
                producer.produce(topic, key=key, value=value, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(60):
        raise RuntimeError("messages left undelivered after 60 s")
    return last


class Arithmetic:
    """What the bare loops do per message: the agents' parsing and fleet arithmetic, plus the site's energy."""

    def __init__(self, warm_up: int) -> None:
        self.tracker = FleetTracker(300)
        self.mwh: dict[str, float] = defaultdict(float)
        self.warm_up = warm_up
        self.readings = 0
        self.messages = 0
        self.cpu = self.wall = 0.0

    def result(self) -> dict[str, float]:
        """Rates over the messages after the warm-up."""
        return rates(self.readings, time.process_time() - self.cpu, time.perf_counter() - self.wall)

    def take(self, topic: str, value: bytes) -> None:
        poll = decode_telemetry(topic, value, cache=None)  # no cross-loop reuse: each baseline decodes
        self.tracker.observe_ids(poll.site_id, DeviceKind.ASIC, poll.device_ids, poll.models, poll.event_time)
        self.tracker.expire(poll.site_id, poll.event_time)
        self.mwh[poll.site_id] += float(poll.numbers["power_w"].sum()) * poll.interval_s / 3.6e9
        self.messages += 1
        if self.messages > self.warm_up:
            self.readings += len(poll)
        elif self.messages == self.warm_up:  # the warm-up discovered every device: the clock starts now
            self.cpu, self.wall = time.process_time(), time.perf_counter()


def rates(readings: int, cpu_s: float, wall_s: float) -> dict[str, float]:
    return {
        "cpu_s": round(cpu_s, 2),
        "wall_s": round(wall_s, 2),
        "readings_per_cpu_s": round(readings / max(cpu_s, 1e-9)),
        "readings_per_s": round(readings / max(wall_s, 1e-9)),
    }


async def _aiokafka_loop(
    broker: BrokerSettings, topic: str, partitions: int, total: int, warm_up: int
) -> dict[str, float]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.servers, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=20
    )
    await consumer.start()
    try:
        consumer.assign([AioTopicPartition(topic, p) for p in range(partitions)])
        await consumer.seek_to_beginning()
        work = Arithmetic(warm_up)
        while work.messages < total:
            batch = await consumer.getmany(timeout_ms=200, max_records=2000)
            for messages in batch.values():
                for message in messages:
                    work.take(topic, message.value)
        return work.result()
    finally:
        await consumer.stop()


def bare_aiokafka(broker: BrokerSettings, topic: str, partitions: int, total: int, warm_up: int) -> dict[str, float]:
    """The bare aiokafka loop over the topic from the beginning, `total` messages, timed after `warm_up`."""
    return asyncio.run(_aiokafka_loop(broker, topic, partitions, total, warm_up))


def bare_confluent(broker: BrokerSettings, topic: str, partitions: int, total: int, warm_up: int) -> dict[str, float]:
    """The bare confluent-kafka loop over the topic from the beginning, `total` messages, timed after `warm_up`."""
    consumer = Consumer(broker.librdkafka_config() | {"group.id": "bench-bare", "fetch.wait.max.ms": 20})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    work = Arithmetic(warm_up)
    while work.messages < total:
        for message in ready_messages(consumer, 0.2):
            if message.error() is None:
                work.take(topic, message.value())
    result = work.result()
    consumer.close()
    return result


def wait_until_committed(
    broker: BrokerSettings, group_id: str, topic: str, last: dict[int, int], timeout: float
) -> float:
    """Wait until the group has committed past every offset in `last`; return the monotonic time it did."""
    consumer = Consumer(broker.librdkafka_config() | {"group.id": group_id, "enable.auto.commit": False})
    try:
        wanted = [TopicPartition(topic, p) for p in last]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            committed = consumer.committed(wanted, timeout=10)
            if all(tp.offset > last[tp.partition] for tp in committed):
                return time.monotonic()
            time.sleep(0.2)
        raise RuntimeError(f"group {group_id} did not commit {topic} within {timeout:.0f} s")
    finally:
        consumer.close()


def sustain(
    broker: BrokerSettings,
    group: str,
    pid: int,
    messages: list[tuple[bytes, bytes, int]],
    per_poll: int,
    timeout: float,
) -> dict[str, float] | None:
    """The messages sent one poll a second (as the fleet reports), or None without messages: the offered rate,
    the share of one core the worker used until it had committed them all (`busy`), and the seconds from the
    last poll sent to the last offset committed (`catch_up_s`; faust commits every 2.8 s)."""
    if not messages:
        return None
    cpu_before, started = cpu_seconds(pid), time.monotonic()
    last = produce(broker, TELEMETRY_ASIC, messages, per_second=per_poll)
    produced = time.monotonic()
    done = wait_until_committed(broker, group, TELEMETRY_ASIC, last, timeout)
    cpu_s = cpu_seconds(pid) - cpu_before
    readings = sum(count for _, _, count in messages)
    return {
        "offered_readings_per_s": round(readings / (len(messages) / per_poll)),
        "send_s": round(produced - started, 2),
        "catch_up_s": round(done - produced, 2),
        "busy": round(cpu_s / (done - started), 2),
        "readings_per_cpu_s": round(readings / max(cpu_s, 1e-9)),
    }


def start_profiler(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """Sample the worker with py-spy (collapsed stacks, for a flame graph or a grep) until it is stopped."""
    py_spy = Path(sys.executable).with_name("py-spy")  # installed in the venv, which may not be on PATH
    command = [str(py_spy) if py_spy.exists() else "py-spy", "record", "--pid", str(pid), "--gil"]
    command += ["--format", "raw", "--rate", "50", "--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def measure(
    fleet_file: Path,
    polls: int,
    timeout: float = 900.0,
    profile: Path | None = None,
    readings_per_message: int | None = None,
    paced: bool = False,
) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="hcp-bench-throughput-") as home:
        if readings_per_message:
            fleet_file = fleet_with_collector_size(fleet_file, readings_per_message, Path(home))
        messages = build_messages(fleet_file, polls * (2 if paced else 1) + 1)
        per_poll = len(messages) // (polls * (2 if paced else 1) + 1)
        warm_up, measured = messages[:per_poll], messages[per_poll : per_poll * (polls + 1)]
        readings = sum(count for _, _, count in measured)
        partitions = TOPICS[TELEMETRY_ASIC].partitions
        with embedded_platform(Path(home), fleet_file) as stack:
            broker, storage = stack.broker, stack.storage
            worker = start_worker_process(stack.env, stack.log("ingest"), role="ingest")
            try:
                group = WorkerSettings(role="ingest").group_id
                wait_until_group_stable(broker, group, worker)
                # The first poll discovers every device (one DeviceChange each): timed apart, as warm-up.
                warm_cpu, warm_started = cpu_seconds(worker.pid), time.monotonic()
                last = produce(broker, TELEMETRY_ASIC, warm_up)
                warm_done = wait_until_committed(broker, group, TELEMETRY_ASIC, last, timeout)
                # The discovery's 100,000 `fleet.devices` records are landed by the same worker after the poll
                # itself is committed: wait for them too, or their landing falls into the measured window (it
                # doubled the measured CPU in some runs, docs/benchmarks.md "Session 10"). Their CPU counts
                # to the discovery; its wall time stays the poll's (the wait settles for a few idle seconds).
                wait_until_caught_up(broker, group, worker, timeout)
                discovery = rates(
                    sum(c for _, _, c in warm_up), cpu_seconds(worker.pid) - warm_cpu, warm_done - warm_started
                )
                profiler = start_profiler(worker.pid, profile) if profile else None
                cpu_before, started = cpu_seconds(worker.pid), time.monotonic()
                last = produce(broker, TELEMETRY_ASIC, measured)
                produced = time.monotonic()
                done = wait_until_committed(broker, group, TELEMETRY_ASIC, last, timeout)
                agent = rates(readings, cpu_seconds(worker.pid) - cpu_before, done - started)
                agent["peak_rss_mib"] = peak_rss_mib(worker.pid)
                agent["produce_s"] = round(produced - started, 2)
                if profiler:
                    profiler.send_signal(signal.SIGINT)
                    profiler.wait(30)
                sustained = sustain(broker, group, worker.pid, messages[per_poll * (polls + 1) :], per_poll, timeout)
            finally:
                stop_process(worker)
            landed = sum(1 for _ in (storage.landing_dir / TELEMETRY_ASIC).rglob("*.parquet"))
            aiokafka = bare_aiokafka(broker, TELEMETRY_ASIC, partitions, len(messages), len(warm_up))
            confluent = bare_confluent(broker, TELEMETRY_ASIC, partitions, len(messages), len(warm_up))
    return {
        "fleet": str(fleet_file),
        "messages": len(measured),
        "readings": readings,
        "readings_per_message": round(readings / len(measured)),
        "first_poll_discovering_every_device": discovery,
        "landing_files": landed,
        "ingest_worker": agent,
        "ingest_worker_paced": sustained,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "bare_aiokafka": aiokafka,
        "bare_confluent_kafka": confluent,
        "ratio_vs_aiokafka": round(agent["readings_per_cpu_s"] / aiokafka["readings_per_cpu_s"], 3),
        "ratio_vs_confluent_kafka": round(agent["readings_per_cpu_s"] / confluent["readings_per_cpu_s"], 3),
    }


def report(result: dict[str, object]) -> str:
    rows = [f"{result['messages']} messages, {result['readings']:,} readings ({result['readings_per_message']} each)"]
    for name in ("ingest_worker", "bare_aiokafka", "bare_confluent_kafka"):
        r = result[name]
        rows.append(
            f"{name:<22} {r['readings_per_cpu_s']:>12,} readings/CPU-s {r['readings_per_s']:>12,} readings/s "
            f"(cpu {r['cpu_s']} s, wall {r['wall_s']} s)"
        )
    rows.append(f"ratio vs aiokafka {result['ratio_vs_aiokafka']}, vs confluent {result['ratio_vs_confluent_kafka']}")
    paced = result.get("ingest_worker_paced")
    if paced:
        rows.append(
            f"paced, one poll a second: {paced['offered_readings_per_s']:,} readings/s offered, worker busy "
            f"{paced['busy']:.0%} of a core ({paced['readings_per_cpu_s']:,} readings/CPU-s), "
            f"all committed {paced['catch_up_s']} s after the last poll (sent over {paced['send_s']} s)"
        )
    first = result["first_poll_discovering_every_device"]
    rows.append(f"first poll (discovery): {first['readings_per_cpu_s']:,} readings/CPU-s, {first['wall_s']} s wall")
    rows.append(f"load average {result['load_average']}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", type=Path, default=LARGE_FLEET, help="fleet YAML (default: 100,000 ASICs)")
    parser.add_argument("--polls", type=int, default=5, help="polls of every ASIC to send")
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    parser.add_argument("--profile", type=Path, help="sample the worker with py-spy into this file (collapsed stacks)")
    parser.add_argument(
        "--readings-per-message", type=int, help="readings per telemetry message (every site's collector size)"
    )
    parser.add_argument("--paced", action="store_true", help="then send --polls more, one poll a second")
    args = parser.parse_args()
    result = measure(
        args.fleet, args.polls, profile=args.profile, readings_per_message=args.readings_per_message, paced=args.paced
    )
    print(report(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
