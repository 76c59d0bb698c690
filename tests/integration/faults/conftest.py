"""Fault-injection fixtures: a platform whose broker can be restarted, seeds, and the figures each test prints.

CI runs the short form (a few seeds). `HCP_FAULT_RUNS=20` runs every seeded test 20 times (the full form);
`HCP_FAULT_REPORT=FILE` appends each test's figures to FILE as JSON lines (docs/reliability.md quotes them).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hcp.broker import EmbeddedBroker, ensure_topics, start_embedded_broker
from hcp.processes import process_environment, start_worker_process
from hcp.settings import BrokerSettings, StorageSettings
from tests.conftest import free_port


def fault_runs(ci_default: int) -> int:
    """How many seeded repetitions: `HCP_FAULT_RUNS` if set, else the short CI form."""
    return int(os.environ.get("HCP_FAULT_RUNS", "0")) or ci_default


def report_figures(fault: str, **figures: object) -> None:
    """Print the measured figures of one fault run (and append them to `HCP_FAULT_REPORT` if set)."""
    line = {"fault": fault, **figures}
    print(f"FAULT {json.dumps(line)}")
    target = os.environ.get("HCP_FAULT_REPORT")
    if target:
        line["at"] = datetime.now(UTC).isoformat(timespec="seconds")
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")


@dataclass
class FaultPlatform:
    """An embedded broker that a test may restart, a storage home and the environment for child processes."""

    broker: BrokerSettings
    storage: StorageSettings
    env: dict[str, str]
    embedded: EmbeddedBroker

    def restart_broker(self) -> None:
        """Stop the broker and start a new one on the same port: every topic and offset is gone."""
        self.embedded.stop()
        self.embedded = start_embedded_broker(self.broker, log_file=self.storage.run_dir / "broker.log")


@pytest.fixture
def fault_platform(tmp_path: Path) -> Iterator[FaultPlatform]:
    broker = BrokerSettings(embedded_port=free_port())
    storage = StorageSettings(home=tmp_path / "hcp")
    storage.run_dir.mkdir(parents=True)
    embedded = start_embedded_broker(broker, log_file=storage.run_dir / "broker.log")
    platform = FaultPlatform(broker, storage, process_environment(broker, storage, None), embedded)
    try:
        ensure_topics(broker)
        platform.env["HCP_WORKER_LANDING_FLUSH_INTERVAL_S"] = "0.5"
        platform.env["HCP_METRICS_ENABLED"] = "false"
        yield platform
    finally:
        platform.embedded.stop()


def start_worker(platform: FaultPlatform, name: str, role: str = "all") -> subprocess.Popen[bytes]:
    """A worker process of `role` logging to `<run_dir>/<name>.log`."""
    return start_worker_process(platform.env, platform.storage.run_dir / f"{name}.log", loglevel="info", role=role)


def show_log_on_failure(platform: FaultPlatform, name: str) -> None:
    path = platform.storage.run_dir / f"{name}.log"
    if path.exists():
        print(path.read_text(errors="replace")[-4000:])
