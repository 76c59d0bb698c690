"""Benchmark: the stream alert rules and metrics over simulated telemetry, against decoding alone.

Run: `python bench/alerting.py [--hours 1] [--fleet bench/large_fleet.yaml]`.

Simulates `--hours` of the fleet (default: the demo fleet) in memory, then times, on the same messages, (a) the
baseline: decoding every message with `hcp.codec.decode_record`, and (b) what the `raise_alerts` agent does per
batch (`streams.alerting.evaluation.evaluate_batch`: decode, every rule, the metrics). The difference is the
rules' own cost. Prints messages/s, readings/s and the ratio; figures are per machine.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import timedelta
from pathlib import Path

from hcp.alerting import AlertEvaluator, AlertSettings
from hcp.codec import decode_record
from hcp.fleet import load_fleet
from hcp.observability import PlatformMetrics
from hcp.records import AsicTelemetry, GpuTelemetry
from hcp.settings import SimulatorSettings
from simulators.simulation import FleetSimulation
from streams.alerting.evaluation import AlertingState, evaluate_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0, help="simulated hours of telemetry")
    parser.add_argument("--fleet", type=Path, default=None, help="fleet YAML (default: the demo fleet)")
    args = parser.parse_args()
    fleet = load_fleet(args.fleet)
    sim = SimulatorSettings(hours=args.hours)
    world = FleetSimulation(sim, fleet)
    messages: list[tuple[str, bytes]] = []
    readings = 0
    for step in range(int(args.hours * 3600 / sim.telemetry_interval_s)):
        for record in world.step(sim.start + timedelta(seconds=step * sim.telemetry_interval_s)):
            messages.append((record.topic, record.to_json()))
            if isinstance(record, AsicTelemetry | GpuTelemetry):
                readings += len(record.readings)

    started = time.perf_counter()
    for topic, value in messages:
        decode_record(topic, value)
    decode_s = time.perf_counter() - started

    state = AlertingState(AlertEvaluator(fleet, AlertSettings()), PlatformMetrics(fleet))
    started = time.perf_counter()
    alerts = 0
    for first in range(0, len(messages), 500):
        alerts += len(evaluate_batch(state, messages[first : first + 500]))
    rules_s = time.perf_counter() - started

    print(json.dumps({
        "messages": len(messages),
        "readings": readings,
        "alert_transitions": alerts,
        "decode_only_msgs_per_s": round(len(messages) / decode_s),
        "rules_and_metrics_msgs_per_s": round(len(messages) / rules_s),
        "rules_and_metrics_readings_per_s": round(readings / rules_s),
        "rules_cost_vs_decode": round(rules_s / decode_s, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
