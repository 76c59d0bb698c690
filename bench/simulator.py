"""Benchmark: how many device readings a second the simulators generate, against what a fleet needs.

Run: `python -m bench.simulator [--fleet bench/large_fleet.yaml] [--polls 3] [--out results.json]`.

Builds the ASIC and GPU simulators for the fleet (default: 100,000 ASICs and 10,000 GPUs), then times `poll`
(the device state update and the records) and `to_json` (the bytes the producer sends), in CPU seconds of
this process. The fleet's need is one reading per device per reporting interval; the ratio says how many times
over one simulator process covers it (above 1: the simulator is not the bottleneck).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from hcp.fleet import load_fleet
from simulators.asic import AsicFleetSimulator
from simulators.gpu import GpuFleetSimulator

LARGE_FLEET = Path(__file__).with_name("large_fleet.yaml")
START = datetime(2023, 1, 16, tzinfo=UTC)


def time_polls(simulator: AsicFleetSimulator | GpuFleetSimulator, polls: int, interval_s: float) -> dict[str, float]:
    readings = 0
    poll_cpu = json_cpu = 0.0
    for k in range(polls):
        started = time.process_time()
        messages = simulator.poll(START + timedelta(seconds=k * interval_s))
        poll_cpu += time.process_time() - started
        started = time.process_time()
        for message in messages:
            message.to_json()
        json_cpu += time.process_time() - started
        readings += sum(len(m.readings) for m in messages)
    total = poll_cpu + json_cpu
    return {
        "readings": readings,
        "poll_cpu_s": round(poll_cpu, 2),
        "to_json_cpu_s": round(json_cpu, 2),
        "readings_per_cpu_s": round(readings / max(total, 1e-9)),
    }


def measure(fleet_file: Path, polls: int, asic_interval_s: float, gpu_interval_s: float) -> dict[str, object]:
    fleet = load_fleet(fleet_file)
    asics = sum(g.count for s in fleet.sites for g in s.asics)
    gpus = sum(g.count for s in fleet.sites for g in s.gpus)
    rng = np.random.default_rng(7)
    asic = time_polls(AsicFleetSimulator(fleet, asic_interval_s, 60.0, rng), polls, asic_interval_s)
    gpu = time_polls(GpuFleetSimulator(fleet, gpu_interval_s, rng), polls, gpu_interval_s)
    needed = asics / asic_interval_s + gpus / gpu_interval_s
    cpu = (asic["readings"] / asic["readings_per_cpu_s"]) + (gpu["readings"] / gpu["readings_per_cpu_s"])
    produced = (asic["readings"] + gpu["readings"]) / cpu
    return {
        "fleet": str(fleet_file),
        "asics": asics,
        "gpus": gpus,
        "asic_interval_s": asic_interval_s,
        "gpu_interval_s": gpu_interval_s,
        "asic": asic,
        "gpu": gpu,
        "readings_needed_per_s": round(needed),
        "readings_per_cpu_s": round(produced),
        "ratio_to_need": round(produced / needed, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", type=Path, default=LARGE_FLEET, help="fleet YAML (default: 100k ASICs, 10k GPUs)")
    parser.add_argument("--polls", type=int, default=3, help="polls of every device to time")
    parser.add_argument("--asic-interval-s", type=float, default=5.0, help="seconds between two ASIC reports")
    parser.add_argument("--gpu-interval-s", type=float, default=5.0, help="seconds between two GPU reports")
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args()
    result = measure(args.fleet, args.polls, args.asic_interval_s, args.gpu_interval_s)
    print(
        f"{result['asics']:,} ASICs every {args.asic_interval_s:g} s and {result['gpus']:,} GPUs every "
        f"{args.gpu_interval_s:g} s need {result['readings_needed_per_s']:,} readings/s; one simulator process "
        f"makes {result['readings_per_cpu_s']:,} per CPU-second ({result['ratio_to_need']}x the need)"
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
