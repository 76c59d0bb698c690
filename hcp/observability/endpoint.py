"""Starting a process's metrics and health endpoint: with a lag poller (workers, the notifier) or with a broker
probe only (the embedded broker's process, the simulators)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from hcp.observability.exceptions import ObservabilityError
from hcp.observability.lag import LagPoller, LagSnapshot
from hcp.observability.server import HealthServer
from hcp.observability.settings import MetricsSettings
from hcp.settings import BrokerSettings, WorkerSettings

log = logging.getLogger(__name__)


def platform_groups(worker: WorkerSettings) -> list[str]:
    """The consumer groups of the platform's worker roles, this worker's first."""
    roles = [worker.group_id] + [worker.model_copy(update={"role": r}).group_id for r in ("ingest", "control")]
    return list(dict.fromkeys(roles))


def readiness(
    poller: LagPoller, group: str, settings: MetricsSettings
) -> Callable[[], tuple[bool, dict[str, object]]]:
    """Ready when the last broker read is recent and succeeded and `group` is not too far behind on any topic."""

    def check() -> tuple[bool, dict[str, object]]:
        snapshot = poller.last
        if snapshot is None:
            return False, {"reason": "broker not read yet"}
        age = time.time() - snapshot.at
        if not snapshot.reachable:
            return False, {"reason": f"broker unreachable: {snapshot.error}", "age_s": round(age, 1)}
        if age > 3 * settings.lag_poll_interval_s + 15:
            return False, {"reason": f"lag poll stale ({age:.0f} s old)"}
        lag = {topic: n for (g, topic), n in snapshot.lag.items() if g == group}
        worst = max(lag.values(), default=0)
        ok = worst <= settings.ready_max_lag_messages
        reason = "ok" if ok else f"lag {worst} above {settings.ready_max_lag_messages}"
        return ok, {"reason": reason, "group": group, "lag": lag}

    return check


@dataclass
class Observability:
    """A running endpoint and poller; `stop()` ends both."""

    server: HealthServer | None
    poller: LagPoller

    def stop(self) -> None:
        self.poller.stop()
        if self.server is not None:
            with suppress(Exception):
                self.server.stop()


def start_observability(
    registry: CollectorRegistry,
    broker: BrokerSettings,
    settings: MetricsSettings,
    role: str,
    groups: Sequence[str],
    on_snapshot: Callable[[LagSnapshot], None] | None = None,
) -> Observability | None:
    """Start polling lag of `groups` (the first is this process's) and serve `/metrics` and the health checks on
    the role's port. A port already taken is logged and the process runs on without an endpoint."""
    if not settings.enabled:
        return None
    poller = LagPoller(broker, groups, settings.lag_poll_interval_s, on_snapshot)
    token = settings.token.get_secret_value() if settings.token else None
    port = settings.port_for(role)
    try:
        server: HealthServer | None = HealthServer(
            registry, readiness(poller, groups[0], settings), settings.host, port, token
        ).start()
        log.info("metrics and health on http://%s:%d/metrics", settings.host, port)
    except ObservabilityError as err:
        log.error("%s; running without a metrics endpoint", err)
        server = None
    return Observability(server, poller.start())


def broker_reachable(broker: BrokerSettings, timeout_s: float = 3.0) -> Callable[[], tuple[bool, dict[str, object]]]:
    """Readiness of a process that consumes no group: the broker answers a metadata request."""

    def check() -> tuple[bool, dict[str, object]]:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        try:
            topics = AdminClient(broker.librdkafka_config()).list_topics(timeout=timeout_s).topics
        except KafkaException as err:
            return False, {"reason": f"broker unreachable: {err}", "broker": broker.servers}
        return True, {"reason": "ok", "broker": broker.servers, "topics": len(topics)}

    return check


def start_probe_endpoint(
    broker: BrokerSettings, settings: MetricsSettings, role: str, registry: CollectorRegistry | None = None
) -> HealthServer | None:
    """Serve `/health/live`, `/health/ready` (broker reachable) and `/metrics` on the role's port, or log why
    not (disabled, port taken) and return None: the process runs on either way."""
    if not settings.enabled:
        return None
    token = settings.token.get_secret_value() if settings.token else None
    try:
        server = HealthServer(
            registry or CollectorRegistry(), broker_reachable(broker), settings.host, settings.port_for(role), token
        ).start()
    except ObservabilityError as err:
        log.error("%s; running without a health endpoint", err)
        return None
    log.info("health on http://%s:%d/health/ready", settings.host, server.port)
    return server
