"""Benchmark: price tick to command latency while one ingest worker takes 100,000 device readings a second.

Run: `python -m bench.latency_under_load [--hours 8] [--readings-per-message 2000] [--ingest-nice 10]
[--out results.json]`.

Issue 8 asks that tick-to-command p99 stay under 100 ms at nominal load while telemetry flows at 100,000
readings a second. The ingest and control workers run the large fleet (`bench/large_fleet.yaml`: 100,000 ASICs
and 10,000 GPUs at ten sites, collectors of `--readings-per-message`). The telemetry load is pre-built polls of
every ASIC (`bench.throughput.build_messages`), one fleet poll a second: 100,000 readings a second, the fleet
reporting every second. The simulator cannot itself make 100,000 readings a second on this machine
(`bench.simulator`), so it runs the market, the job arrivals and the GPUs at the demo's speed (600) for the same
sites and nodes with no ASICs and one 8-GPU node per site (its own telemetry is then a few readings a second;
commands for devices it does not simulate are refused and counted). Its ASICs would report through the same
collector ids as the pre-built polls with other members, and the ingest worker would see devices come and go.
The first poll, which discovers every device, is sent and committed before anything is timed.

Latency is measured as `bench.latency` measures it (the tick's Kafka timestamp to the first decision or command
for the interval it opens, read by a consumer of its own), beside the same bare round trip and beside the same
simulated hours run just before without the telemetry load (same workers, same fleet: `without_telemetry_load`).
The ingest worker's figures say whether the load was really carried: readings offered and committed, its share
of a core, and how long after the last poll it had committed everything (faust commits every 2.8 s, landing
flushes every 2 s).
`cores_busy` says where the machine's CPU went meanwhile. The ingest worker runs at `HCP_WORKER_NICE=10` unless
`--ingest-nice` says otherwise: on cores it shares with the control worker, telemetry must not hold up a decision
(docs/scaling.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import tempfile
import threading
import time
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.embedded import embedded_platform
from bench.latency import Observed, group_of, percentiles, round_trip_baseline, watch
from bench.procstat import cpu_seconds, machine_busy_seconds, peak_rss_mib
from bench.throughput import LARGE_FLEET, build_messages, fleet_with_collector_size, produce, wait_until_committed
from hcp.fleet import Fleet, load_fleet
from hcp.processes import start_worker_process, stop_process, wait_until_group_stable
from hcp.settings import SimulatorSettings
from hcp.topics import TELEMETRY_ASIC
from simulators.runner import run_simulation

SPEED = 600.0
START = datetime(2023, 1, 16, tzinfo=UTC)
LEAD_S = 3.0
"""Seconds of telemetry load before the simulation starts, so that every tick is sent under load."""


def sparse_fleet(fleet: Fleet) -> Fleet:
    """The same sites, nodes and caps with no ASICs and one 8-GPU node per site: the simulator's fleet, whose
    telemetry is negligible beside the pre-built load."""
    sites = tuple(
        site.model_copy(
            update={"asics": (), "gpus": tuple(group.model_copy(update={"count": 8}) for group in site.gpus[:1])}
        )
        for site in fleet.sites
    )
    return fleet.model_copy(update={"sites": sites})


def ticks_before(observed: Observed, end: datetime, before: bool = True) -> Observed:
    """The part of `observed` whose intervals end before `end` (or, with `before=False`, at or after it)."""

    def keep(key: tuple[str, str]) -> bool:
        return (datetime.fromisoformat(key[1]) < end) is before

    kept = {f.name: {k: v for k, v in getattr(observed, f.name).items() if keep(k)} for f in fields(Observed)}
    return Observed(**kept)


def measure(hours: float, readings_per_message: int, ingest_nice: int = 10, seed: int = 7) -> dict[str, object]:
    # The sparse simulator refuses (and warns about) every command for a device it does not simulate: counted.
    logging.getLogger("simulators.simulation").setLevel(logging.ERROR)
    wall_s = hours * 3600 / SPEED
    with tempfile.TemporaryDirectory(prefix="hcp-bench-latency-load-") as home:
        fleet_file = fleet_with_collector_size(LARGE_FLEET, readings_per_message, Path(home))
        fleet = load_fleet(fleet_file)
        polls = int(wall_s + LEAD_S) + 3
        messages = build_messages(fleet_file, polls + 1)
        per_poll = len(messages) // (polls + 1)
        discovery, load = messages[:per_poll], messages[per_poll:]
        node_of_site = {site.site_id: site.node for site in fleet.sites}
        with embedded_platform(Path(home), fleet_file) as stack:
            broker, storage = stack.broker, stack.storage
            ingest_env = {**stack.env, "HCP_WORKER_NICE": str(ingest_nice)}
            ingest = start_worker_process(ingest_env, stack.log("ingest"), role="ingest")
            control = start_worker_process(stack.env, stack.log("control"), role="control")
            observed, stop = Observed(), threading.Event()
            watcher = threading.Thread(target=watch, args=(broker, node_of_site, observed, stop), daemon=True)
            sent: dict[str, object] = {}
            try:
                wait_until_group_stable(broker, group_of("ingest"), ingest)
                wait_until_group_stable(broker, group_of("control"), control)
                started = time.monotonic()
                wait_until_committed(
                    broker, group_of("ingest"), TELEMETRY_ASIC, produce(broker, TELEMETRY_ASIC, discovery), 600
                )
                discovery_s = time.monotonic() - started
                watcher.start()
                # The baseline, same workers and fleet: the same simulated hours without the telemetry load.
                quiet = SimulatorSettings(start=START, hours=hours, speed=SPEED, seed=seed)
                run_simulation(quiet, broker, storage, sparse_fleet(fleet), run_id="bench-without-load")
                loaded_start = START + timedelta(hours=hours)
                cpu_before, load_started = cpu_seconds(ingest.pid), time.monotonic()
                busy_before = (machine_busy_seconds(), cpu_seconds(control.pid), time.process_time())
                sender = threading.Thread(
                    target=lambda: sent.update(last=produce(broker, TELEMETRY_ASIC, load, per_second=per_poll)),
                    daemon=True,
                )
                sender.start()
                time.sleep(LEAD_S)
                sim = SimulatorSettings(start=loaded_start, hours=hours, speed=SPEED, seed=seed)
                summary = run_simulation(sim, broker, storage, sparse_fleet(fleet), run_id="bench-under-load")
                sender.join(120)
                load_sent = time.monotonic()
                try:
                    committed: float | None = wait_until_committed(
                        broker, group_of("ingest"), TELEMETRY_ASIC, sent["last"], 120
                    )
                except RuntimeError:  # the worker did not carry the load: reported, the latency still stands
                    committed = None
                ingest_cpu_s = cpu_seconds(ingest.pid) - cpu_before
                busy_after = (machine_busy_seconds(), cpu_seconds(control.pid), time.process_time())
                busy_at = time.monotonic()
                time.sleep(1.0)
                ingest_rss = peak_rss_mib(ingest.pid)
            finally:
                stop.set()
                if watcher.is_alive():
                    watcher.join(10)
                stop_process(control)
                stop_process(ingest)
            loaded = ticks_before(observed, loaded_start, before=False)
            quiet_ticks, warm_up = ticks_before(observed, loaded_start), len(fleet.sites) * 4
            ticks_per_s = len(loaded.ticks) / max(summary.wall_seconds, 1e-9)
            baseline = round_trip_baseline(broker, count=min(len(observed.ticks), 500), rate_per_s=max(ticks_per_s, 1))
    readings = sum(count for _, _, count in load)
    window_s = busy_at - load_started
    machine, control_cpu, own = (after - before for after, before in zip(busy_after, busy_before, strict=True))
    return {
        "fleet": f"{LARGE_FLEET.name}, {readings_per_message} readings per message",
        "speed": SPEED,
        "simulated_hours": hours,
        "ingest_worker_nice": ingest_nice,
        "telemetry": {
            "offered_readings_per_s": round(readings / (len(load) / per_poll)),
            "readings": readings,
            "send_s": round(load_sent - load_started, 2),
            "committed_s_after_last_poll": round(committed - load_sent, 2) if committed else None,
            "ingest_busy_share_of_a_core": round(ingest_cpu_s / window_s, 2),
            "ingest_readings_per_cpu_s": round(readings / max(ingest_cpu_s, 1e-9)),
            "ingest_peak_rss_mib": ingest_rss,
            "first_poll_discovery_s": round(discovery_s, 1),
        },
        # Cores in use while the load ran (from its start until the ingest worker had committed it, or 120 s after
        # the last poll): the two cores are shared by the workers, the broker and this process (sender, simulator,
        # reader). The ingest worker's share of a core above is over the same window.
        "cores_busy": {
            "machine": round(machine / window_s, 2),
            "ingest_worker": round(ingest_cpu_s / window_s, 2),
            "control_worker": round(control_cpu / window_s, 2),
            "load_sender_simulator_and_reader": round(own / window_s, 2),
            "broker_and_rest": round((machine - ingest_cpu_s - control_cpu - own) / window_s, 2),
        },
        "simulation_events_per_s": round(summary.events_total / summary.wall_seconds, 1),
        "commands_refused_by_the_sparse_simulator": summary.commands_rejected,
        "ticks": len(loaded.ticks),
        **loaded.tick_latencies(warm_up),
        "without_telemetry_load": {"ticks": len(quiet_ticks.ticks), **quiet_ticks.tick_latencies(warm_up)},
        "bare_round_trip": percentiles(baseline),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0, help="simulated hours at speed 600 (8 = 48 wall s)")
    parser.add_argument("--readings-per-message", type=int, default=2000, help="the large fleet's collector size")
    parser.add_argument(
        "--ingest-nice",
        type=int,
        default=10,
        choices=range(20),
        metavar="0-19",
        help="the ingest worker's HCP_WORKER_NICE, as docs/scaling.md advises on cores shared with a control worker",
    )
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    result = measure(args.hours, args.readings_per_message, args.ingest_nice)
    result |= {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
