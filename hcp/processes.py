"""Starting and stopping the platform's own processes, and knowing when the worker has caught up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, ConsumerGroupState, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from hcp.exceptions import BrokerError
from hcp.settings import BrokerSettings, StorageSettings
from hcp.topics import TOPICS


def process_environment(broker: BrokerSettings, storage: StorageSettings, fleet_file: Path | None) -> dict[str, str]:
    """The environment that hands this process's settings to a child `hcp` process."""
    env = dict(os.environ)
    env["HCP_STORAGE_HOME"] = str(storage.home.resolve())
    env["HCP_BROKER_EMBEDDED_PORT"] = str(broker.embedded_port)
    if broker.bootstrap_servers:
        env["HCP_BROKER_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
    if fleet_file:
        env["HCP_FLEET_FILE"] = str(fleet_file.resolve())
    return env


def start_worker_process(
    env: dict[str, str], log_file: Path, loglevel: str = "warn", role: str = "all"
) -> subprocess.Popen[bytes]:
    """Start `hcp worker --role ROLE` as a child process writing to `log_file`."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hcp", "worker", "--loglevel", loglevel, "--role", role],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_process(process: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    """SIGTERM, then SIGKILL after `timeout`; return the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return process.returncode


def pending_messages(
    broker: BrokerSettings, group_id: str, topics: list[str] | None = None, idle_s: float = 1.0, limit: int = 10_000
) -> dict[str, int]:
    """Messages after the offsets `group_id` has committed, per topic (counted up to `limit`).

    Counted by reading from the committed offsets rather than from high watermarks, because the embedded broker
    (tansu) reports a partition's high watermark as the base offset of its last batch plus one, which is too
    low whenever the last batch holds several messages. The reading consumer uses `assign()`: it never joins
    the group and never commits.
    """
    consumer = Consumer(broker.librdkafka_config() | {"group.id": group_id, "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(timeout=10)
        partitions = [
            TopicPartition(name, p)
            for name in topics or list(TOPICS)
            if name in metadata.topics
            for p in metadata.topics[name].partitions
        ]
        committed = consumer.committed(partitions, timeout=10)
        consumer.assign(
            [TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING)
             for tp in committed]
        )
        counts = {tp.topic: 0 for tp in committed}
        while sum(counts.values()) < limit:
            messages = consumer.consume(num_messages=1000, timeout=idle_s)
            if not messages:
                break
            for message in messages:
                if message.error() is None:
                    counts[message.topic()] += 1
        return counts
    except KafkaException as err:
        raise BrokerError(f"cannot read offsets of group {group_id}: {err}") from err
    finally:
        consumer.close()


def wait_until_group_stable(
    broker: BrokerSettings, group_id: str, worker: subprocess.Popen[bytes], timeout: float = 60.0
) -> float:
    """Wait until the worker's consumer group has finished joining (state STABLE); return the seconds waited.

    Work sent before then still arrives, but waits in the topics while the group forms (about 5-10 s here).
    """
    admin = AdminClient(broker.librdkafka_config())
    started = time.monotonic()
    state = None
    while time.monotonic() - started < timeout:
        if worker.poll() is not None:
            raise BrokerError(f"the worker exited with code {worker.returncode} while joining its group")
        try:
            state = admin.describe_consumer_groups([group_id])[group_id].result(5).state
        except KafkaException as err:
            raise BrokerError(f"cannot describe consumer group {group_id}: {err}") from err
        if state == ConsumerGroupState.STABLE:
            return time.monotonic() - started
        time.sleep(0.25)
    raise BrokerError(f"consumer group {group_id} not stable after {timeout:.0f} s (state {state})")


def wait_until_caught_up(
    broker: BrokerSettings,
    group_id: str,
    worker: subprocess.Popen[bytes],
    timeout: float = 120.0,
    topics: list[str] | None = None,
) -> dict[str, int]:
    """Wait until the worker has committed every message of `topics` (default: all) and stays so a moment."""
    deadline = time.monotonic() + timeout
    settled = 0
    lag: dict[str, int] = {}
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise BrokerError(f"the worker exited with code {worker.returncode} before catching up")
        lag = pending_messages(broker, group_id, topics)
        settled = settled + 1 if sum(lag.values()) == 0 else 0
        if settled >= 3:
            return lag
        time.sleep(1.0)
    raise BrokerError(f"the worker did not catch up within {timeout:.0f} s; lag by topic: {lag}")
