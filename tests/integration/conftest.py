"""A real embedded broker and a real worker process per test (fresh topics every time)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hcp.broker import ensure_topics, start_embedded_broker
from hcp.processes import process_environment, start_worker_process, stop_process
from hcp.settings import BrokerSettings, StorageSettings
from tests.conftest import free_port


@dataclass(frozen=True)
class Platform:
    broker: BrokerSettings
    storage: StorageSettings
    env: dict[str, str]


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    broker = BrokerSettings(embedded_port=free_port())
    storage = StorageSettings(home=tmp_path / "hcp")
    storage.run_dir.mkdir(parents=True)
    with start_embedded_broker(broker, log_file=storage.run_dir / "broker.log"):
        ensure_topics(broker)
        env = process_environment(broker, storage, None)
        env["HCP_WORKER_LANDING_FLUSH_INTERVAL_S"] = "0.5"
        yield Platform(broker, storage, env)


@pytest.fixture
def worker(platform: Platform) -> Iterator[object]:
    log_file = platform.storage.run_dir / "worker.log"
    process = start_worker_process(platform.env, log_file, loglevel="info")
    try:
        yield process
    finally:
        code = stop_process(process)
        if code not in (0, -15):
            print(log_file.read_text(errors="replace")[-5000:])
