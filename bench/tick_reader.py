"""The benchmarks' latency reader: when each price tick, and the first decision and command it led to, reached a
consumer of their topics, read in a process of its own.

In the benchmark's own process the reader shared the GIL with the simulator and the telemetry load sender: a
message it had already received waited for their threads before it was timed (another reader saw the ticks 17-56
ms late at p99 where a bare round trip takes 6 ms; docs/benchmarks.md, "Session 11"). `ReaderProcess` runs
`watch` in a spawned process with nothing else to do.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from hcp.consuming import ready_messages
from hcp.records import Decision, PriceTick
from hcp.records.market import PriceKind
from hcp.settings import BrokerSettings
from hcp.topics import CONTROL_COMMANDS, DECISIONS, MARKET_PRICES


class Flag(Protocol):
    def is_set(self) -> bool: ...

    def set(self) -> None: ...


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


def watch(
    broker: BrokerSettings, node_of_site: dict[str, str], observed: Observed, stop: Flag, ready: Flag | None = None
) -> None:
    """Read prices, decisions and commands from the beginning; note when each interval's first answer arrived.

    `ready` is set once the reader is assigned its partitions and its first poll has returned.
    """
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
        if ready is not None and not ready.is_set():
            ready.set()
    consumer.close()


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


def _watch_and_report(
    broker: BrokerSettings, node_of_site: dict[str, str], stop: Flag, ready: Flag, results: Any
) -> None:
    observed = Observed()
    watch(broker, node_of_site, observed, stop, ready)
    results.put(asdict(observed))


class ReaderProcess:
    """`watch` in a spawned process: `start` returns once it reads, `stop` returns what it observed."""

    def __init__(self, broker: BrokerSettings, node_of_site: dict[str, str]) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop, self._ready, self._results = context.Event(), context.Event(), context.Queue()
        self._process = context.Process(
            target=_watch_and_report,
            args=(broker, node_of_site, self._stop, self._ready, self._results),
            name="latency-reader",
            daemon=True,
        )

    def start(self, timeout_s: float = 60.0) -> None:
        self._process.start()
        if not self._ready.wait(timeout_s):
            self._process.kill()
            raise RuntimeError(f"the latency reader was not reading after {timeout_s:.0f} s")

    def stop(self, timeout_s: float = 60.0) -> Observed:
        """Stop reading; what was observed (nothing if the reader never started)."""
        if self._process.pid is None:
            return Observed()
        self._stop.set()
        try:
            observed = Observed(**self._results.get(timeout=timeout_s))
        except queue.Empty as err:
            self._process.kill()
            raise RuntimeError(f"the latency reader sent nothing (exit code {self._process.exitcode})") from err
        self._process.join(10)
        return observed
