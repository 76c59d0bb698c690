"""The embedded platform a broker benchmark runs against: a fresh broker with the contract topics, a storage home.

(Not `bench/platform.py`: a script run as `python bench/<name>.py` has `bench/` first on `sys.path`, where that
name hides the standard library's `platform`. The benchmarks run as modules, `python -m bench.<name>`.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hcp.broker import ensure_topics, free_port, start_embedded_broker
from hcp.processes import process_environment
from hcp.settings import BrokerSettings, StorageSettings


@dataclass(frozen=True)
class BenchPlatform:
    broker: BrokerSettings
    storage: StorageSettings
    env: dict[str, str]
    """The environment for worker processes (`hcp.processes.start_worker_process`)."""

    def log(self, name: str) -> Path:
        return self.storage.run_dir / f"{name}.log"


@contextmanager
def embedded_platform(home: Path, fleet_file: Path | None = None) -> Iterator[BenchPlatform]:
    """Start the embedded broker on a free port with every contract topic; workers get `fleet_file`."""
    broker = BrokerSettings(embedded_port=free_port())
    storage = StorageSettings(home=home)
    storage.run_dir.mkdir(parents=True)
    with start_embedded_broker(broker, log_file=storage.run_dir / "broker.log"):
        ensure_topics(broker)
        yield BenchPlatform(broker, storage, process_environment(broker, storage, fleet_file))
