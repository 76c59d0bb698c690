"""Building each command's settings from its flags (flags win over the environment)."""

from __future__ import annotations

from pathlib import Path

from hcp.fleet import Fleet, load_fleet
from hcp.settings import BrokerSettings, FleetSettings, StorageSettings, load_settings


def broker_settings(port: int | None = None, bootstrap_servers: str | None = None) -> BrokerSettings:
    return load_settings(BrokerSettings, embedded_port=port, bootstrap_servers=bootstrap_servers)


def storage_settings(home: Path | None = None) -> StorageSettings:
    return load_settings(StorageSettings, home=home)


def fleet_from(path: Path | None = None) -> Fleet:
    return load_fleet(path or load_settings(FleetSettings).file)


def use_local_prefect_home(storage: StorageSettings) -> None:
    """Keep Prefect's state (its SQLite database, logs) under the platform's home unless PREFECT_HOME is set.

    Must run before `prefect` is imported: Prefect reads its settings at import.
    """
    import os

    os.environ.setdefault("PREFECT_HOME", str((storage.home / "prefect").resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The ephemeral server's default 20 s start-up limit is too short on a busy 2-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
