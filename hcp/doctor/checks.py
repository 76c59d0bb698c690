"""Configuration checks: settings, broker, topics, storage, fleet file, dbt project, Prefect, metrics, channels.

Each check returns one `CheckResult`: `ok`, `warn` (works, but worth knowing) or `fail` (will not work), with a
detail that names the setting to change. Checks after a failed prerequisite are skipped with the reason.
"""

from __future__ import annotations

import os
import socket
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic_settings import BaseSettings

from hcp.exceptions import HcpError


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str  # ok, warn, fail
    detail: str


def _settings_classes() -> list[type[BaseSettings]]:
    from hcp.alerting.settings import AlertSettings
    from hcp.notify.settings import NotifySettings
    from hcp.observability.settings import MetricsSettings
    from hcp.settings import (
        BrokerSettings,
        FleetSettings,
        SimulatorSettings,
        StorageSettings,
        WarehouseSettings,
        WorkerSettings,
    )
    from simulators.faults import FaultSettings

    return [BrokerSettings, StorageSettings, FleetSettings, SimulatorSettings, WorkerSettings, WarehouseSettings,
            AlertSettings, MetricsSettings, NotifySettings, FaultSettings]


def check_settings(loaded: dict[str, Any]) -> list[CheckResult]:
    from hcp.settings import load_settings

    results = []
    for cls in _settings_classes():
        prefix = cls.model_config.get("env_prefix", "")
        try:
            loaded[cls.__name__] = load_settings(cls)
            results.append(CheckResult(f"settings {prefix}*", "ok", f"{cls.__name__} valid"))
        except HcpError as err:
            results.append(CheckResult(f"settings {prefix}*", "fail", str(err)))
    return results


def check_broker(loaded: dict[str, Any]) -> list[CheckResult]:
    from confluent_kafka import KafkaException

    from hcp.broker import admin_client
    from hcp.topics import TOPICS

    broker = loaded.get("BrokerSettings")
    if broker is None:
        return [CheckResult("broker", "fail", "skipped: HCP_BROKER_* settings are invalid")]
    if broker.embedded and not _port_open(broker.embedded_host, broker.embedded_port):
        return [CheckResult("broker", "fail", f"nothing listens on {broker.servers} (embedded): start `hcp broker`, "
                                              "or set HCP_BROKER_BOOTSTRAP_SERVERS to your cluster")]
    try:
        metadata = admin_client(broker).list_topics(timeout=5)
    except KafkaException as err:
        return [CheckResult("broker", "fail", f"cannot reach {broker.servers}: {err}")]
    results = [CheckResult("broker", "ok", f"{broker.servers} answers ({len(metadata.brokers)} broker(s))")]
    missing = [name for name in TOPICS if name not in metadata.topics]
    wrong = [f"{name} has {len(metadata.topics[name].partitions)} partitions, the contract says {spec.partitions}"
             for name, spec in TOPICS.items() if name in metadata.topics
             and len(metadata.topics[name].partitions) != spec.partitions]
    if missing:
        results.append(CheckResult("topics", "fail", f"missing {', '.join(missing)}: run `hcp topics create`"))
    elif wrong:
        results.append(CheckResult("topics", "fail", "; ".join(wrong)))
    else:
        results.append(CheckResult("topics", "ok", f"all {len(TOPICS)} contract topics exist"))
    return results


def check_storage(loaded: dict[str, Any]) -> list[CheckResult]:
    storage = loaded.get("StorageSettings")
    if storage is None:
        return [CheckResult("storage home", "fail", "skipped: HCP_STORAGE_* settings are invalid")]
    try:
        storage.home.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=storage.home, prefix=".doctor-"):
            pass
    except OSError as err:
        return [CheckResult("storage home", "fail", f"{storage.home} is not writable ({err}): set HCP_STORAGE_HOME")]
    return [CheckResult("storage home", "ok", f"{storage.home.resolve()} is writable")]


def check_fleet(loaded: dict[str, Any]) -> list[CheckResult]:
    from hcp.fleet import load_fleet

    settings = loaded.get("FleetSettings")
    if settings is None:
        return [CheckResult("fleet file", "fail", "skipped: HCP_FLEET_* settings are invalid")]
    try:
        fleet = load_fleet(settings.file)
    except HcpError as err:
        return [CheckResult("fleet file", "fail", str(err))]
    source = settings.file or "built-in demo fleet"
    detail = f"{source}: {len(fleet.sites)} site(s), {len(fleet.customers)} customer(s)"
    return [CheckResult("fleet file", "ok", detail)]


def check_dbt(loaded: dict[str, Any]) -> list[CheckResult]:
    warehouse = loaded.get("WarehouseSettings")
    if warehouse is None:
        return [CheckResult("dbt project", "fail", "skipped: HCP_WAREHOUSE_* settings are invalid")]
    project = warehouse.dbt_project_dir
    for name in ("dbt_project.yml", "profiles.yml"):
        if not (project / name).is_file():
            detail = f"{project / name} is missing: set HCP_WAREHOUSE_DBT_PROJECT_DIR"
            return [CheckResult("dbt project", "fail", detail)]
    return [CheckResult("dbt project", "ok", f"{project}")]


def check_prefect(_: dict[str, Any]) -> list[CheckResult]:
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        return [CheckResult("prefect", "ok", "no PREFECT_API_URL: flows run on a temporary local server")]
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=5) as response:  # noqa: S310
            return [CheckResult("prefect", "ok", f"{url} answers {response.status}")]
    except OSError as err:
        return [CheckResult("prefect", "fail", f"PREFECT_API_URL={url} does not answer: {err}")]


def check_metrics_and_channels(loaded: dict[str, Any]) -> list[CheckResult]:
    results = []
    metrics, notify = loaded.get("MetricsSettings"), loaded.get("NotifySettings")
    if metrics is not None and metrics.enabled:
        busy = [str(metrics.port_for(r)) for r in ("all", "control", "notifier")
                if _port_open(metrics.host, metrics.port_for(r))]
        detail = f"ports {', '.join(busy)} on {metrics.host} answer already (running processes, or a clash)" if busy \
            else f"ports {metrics.port}-{metrics.port + 2} on {metrics.host} are free"
        results.append(CheckResult("metrics ports", "warn" if busy else "ok", detail))
    if notify is not None:
        configured = notify.configured()
        if not configured:
            results.append(CheckResult("notifications", "warn", "no channel configured: alerts are recorded, not sent "
                                       "(set HCP_NOTIFY_WEBHOOK_URL, _CHAT_WEBHOOK_URL or _SMTP_HOST)"))
        elif "email" in configured and not _port_open(str(notify.smtp_host), notify.smtp_port, 2.0):
            results.append(CheckResult("notifications", "warn", f"SMTP {notify.smtp_host}:{notify.smtp_port} does not "
                                       "answer now: e-mails will queue and retry"))
        else:
            results.append(CheckResult("notifications", "ok", f"channels: {', '.join(sorted(configured))}"))
    return results


CHECKS: tuple[Callable[[dict[str, Any]], list[CheckResult]], ...] = (
    check_broker, check_storage, check_fleet, check_dbt, check_prefect, check_metrics_and_channels,
)


def run_checks() -> list[CheckResult]:
    """Every check, settings first (the others use the settings that loaded)."""
    loaded: dict[str, Any] = {}
    results = check_settings(loaded)
    for check in CHECKS:
        results.extend(check(loaded))
    return results


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
