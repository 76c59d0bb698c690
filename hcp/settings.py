"""Typed settings, one class per area, each with its own environment prefix.

Every field has a description and bounds. `.env.example` lists every variable. Nothing else in the code base
reads the environment: processes build their settings once at start and pass them down.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import AwareDatetime, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hcp.exceptions import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
MEMORY_SIZE = re.compile(r"(?i)(100|[1-9]?[0-9])(\.[0-9]+)?\s*%|[0-9]+(\.[0-9]+)?\s*([KMGT]i?B)")
"""What DuckDB reads as a memory limit: a share of the machine's memory or a size in (kibi/kilo...)bytes."""


class BrokerSettings(BaseSettings):
    """Where the Kafka-protocol broker is. Unset `bootstrap_servers` means: run the embedded one."""

    model_config = SettingsConfigDict(env_prefix="HCP_BROKER_", extra="ignore")

    bootstrap_servers: str | None = Field(
        None, description="host:port list of an external Kafka cluster; unset runs the embedded broker"
    )
    embedded_host: str = Field("127.0.0.1", description="address the embedded broker listens on")
    embedded_port: int = Field(29092, ge=1024, le=65535, description="port of the embedded broker")
    replication_factor: int = Field(1, ge=1, le=7, description="replicas of each topic the platform creates")
    security_protocol: str = Field("PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
    sasl_mechanism: str | None = Field(None, description="PLAIN or SCRAM-SHA-256/512 when SASL is used")
    sasl_username: str | None = Field(None, description="SASL user name")
    sasl_password: SecretStr | None = Field(None, description="SASL password")

    @property
    def embedded(self) -> bool:
        return self.bootstrap_servers is None

    @property
    def servers(self) -> str:
        return self.bootstrap_servers or f"{self.embedded_host}:{self.embedded_port}"

    def librdkafka_config(self) -> dict[str, str]:
        """The connection part of a confluent-kafka (librdkafka) client configuration."""
        config = {"bootstrap.servers": self.servers, "security.protocol": self.security_protocol}
        if self.sasl_mechanism:
            config["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            config["sasl.username"] = self.sasl_username
        if self.sasl_password:
            config["sasl.password"] = self.sasl_password.get_secret_value()
        return config


class StorageSettings(BaseSettings):
    """Where landed files, the warehouse and run state live on disk."""

    model_config = SettingsConfigDict(env_prefix="HCP_STORAGE_", extra="ignore")

    home: Path = Field(Path(".hcp"), description="folder for landing files, the DuckDB file and run state")

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def ledger_dir(self) -> Path:
        return self.home / "ledger"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def quality_dir(self) -> Path:
        """Data-quality gate results and their Data Docs (hcp.quality)."""
        return self.home / "quality"

    @property
    def reports_dir(self) -> Path:
        """Daily reports (hcp.reports)."""
        return self.home / "reports"


class FleetSettings(BaseSettings):
    """Which fleet file describes the sites, devices and customers (shared by every process)."""

    model_config = SettingsConfigDict(env_prefix="HCP_FLEET_", extra="ignore")

    file: Path | None = Field(None, description="fleet YAML; unset uses the built-in demo fleet")


class SimulatorSettings(BaseSettings):
    """The simulated fleet, market and customers, and the simulation clock that drives them."""

    model_config = SettingsConfigDict(env_prefix="HCP_SIM_", extra="ignore")

    seed: int = Field(7, ge=0, description="random seed: the same seed gives the same events")
    start: AwareDatetime = Field(
        datetime(2023, 1, 16, tzinfo=UTC), description="simulated time of the first event (timezone-aware)"
    )
    hours: float = Field(24.0, gt=0, le=24 * 31, description="simulated hours to run")
    speed: float = Field(
        600.0, gt=0, le=100_000, description="simulated seconds per wall second (600: a day in 2.4 minutes)"
    )
    telemetry_interval_s: int = Field(
        60, ge=1, le=3600, description="simulated seconds between two polls of a site collector"
    )
    price_interval_s: int = Field(900, ge=60, le=3600, description="real-time price interval, seconds")
    ramp_delay_s: int = Field(
        120, ge=0, le=3600, description="simulated seconds between a command and the device obeying it"
    )
    market_source: str = Field("synthetic", description="'synthetic' or 'replay' (recorded files)")
    rt_prices_file: Path | None = Field(None, description="ERCOT wide real-time CSV, for replay")
    da_prices_file: Path | None = Field(None, description="ERCOT wide day-ahead CSV, for replay")
    hashprice_file: Path | None = Field(None, description="CSV date,hashprice_usd_per_ph_day, for replay")
    gpu_prices_dir: Path | None = Field(None, description="folder of <GPU>.jsonl rental prices, for replay")
    workload_arrivals_file: Path | None = Field(
        None, description="genai_requests_*.csv whose arrival times the workload generator replays"
    )
    jobs_per_hour: float = Field(40.0, ge=0, le=1_000_000, description="mean synthetic AI job arrivals")
    ai_burst: bool = Field(
        True, description="add the scheduled AI burst (see simulators.burst) on top of the regular job arrivals"
    )
    gpu_scheduler: Literal["platform", "local"] = Field(
        "platform",
        description="'platform': GPUs run only the jobs the platform places; 'local': the simulator places them",
    )

    @field_validator("market_source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        if value not in {"synthetic", "replay"}:
            raise ValueError("must be 'synthetic' or 'replay'")
        return value


class WorkerSettings(BaseSettings):
    """The Faust stream worker."""

    model_config = SettingsConfigDict(env_prefix="HCP_WORKER_", extra="ignore")

    app_id: str = Field("hcp", min_length=1, description="Faust app id, also the consumer group id")
    role: Literal["all", "ingest", "control"] = Field(
        "all",
        description="agents this worker runs: all; ingest (landing, fleet); control (prices and jobs to decisions)",
    )
    landing_flush_interval_s: float = Field(
        2.0, gt=0, le=300, description="wall seconds a landing batch waits before it is written"
    )
    landing_batch_max: int = Field(5000, ge=1, le=1_000_000, description="messages per landing batch, at most")
    offline_after_s: int = Field(
        300, ge=10, le=86400, description="simulated seconds of silence after which a device is offline"
    )
    session_timeout_s: float = Field(
        10.0, ge=1, le=300, description="consumer group session timeout; a dead worker's partitions move after it"
    )
    heartbeat_interval_s: float = Field(1.0, gt=0, le=60, description="consumer group heartbeat interval")
    fetch_max_wait_ms: int = Field(
        20, ge=1, le=1500, description="longest a fetch waits for data; bounds the latency a quiet topic adds"
    )
    nice: int = Field(
        0,
        ge=0,
        le=19,
        description="CPU niceness the worker adds to its own at start: an ingest worker sharing cores with a "
        "control worker runs at 10, so that telemetry never queues a price decision behind it for CPU",
    )
    web_port: int = Field(6066, ge=1024, le=65535, description="port of the worker's web endpoint")
    web_enabled: bool = Field(False, description="serve the Faust web endpoint")


    @property
    def group_id(self) -> str:
        """Consumer group (and faust app id) of this worker's role: a control worker has a group of its own."""
        return f"{self.app_id}-control" if self.role == "control" else self.app_id


class WarehouseSettings(BaseSettings):
    """The DuckDB warehouse and the dbt project that models it."""

    model_config = SettingsConfigDict(env_prefix="HCP_WAREHOUSE_", extra="ignore")

    dbt_project_dir: Path = Field(REPO_ROOT / "dbt", description="folder of the dbt project")
    memory_limit: str = Field(
        "60%",
        description="most memory DuckDB may hold while it writes the warehouse (loader, dbt, billing store), as "
        "DuckDB spells it: a share of the machine's memory ('60%') or a size ('8GB', '8GiB'); beyond it DuckDB "
        "spills to temp_directory",
    )
    temp_directory: Path | None = Field(
        None, description="where DuckDB spills what does not fit memory_limit; unset: <warehouse file>.tmp beside it"
    )

    @field_validator("memory_limit")
    @classmethod
    def _duckdb_memory_size(cls, value: str) -> str:
        if not MEMORY_SIZE.fullmatch(value.strip()):
            raise ValueError(
                f"{value!r} is not a memory size DuckDB reads: give a share of the machine's memory such as '60%' "
                "or a size such as '8GB' or '8GiB'"
            )
        return value.strip()


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load_settings(cls: type[SettingsT], **overrides: object) -> SettingsT:
    """Build a settings object, turning validation errors into one clear `ConfigError`."""
    try:
        return cls(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as err:
        prefix = cls.model_config.get("env_prefix", "")
        problems = "; ".join(
            f"{prefix}{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in err.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from err
