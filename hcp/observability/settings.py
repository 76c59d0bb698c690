"""The metrics and health endpoint of every long-running process (`HCP_METRICS_*`)."""

from __future__ import annotations

import ipaddress

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Each worker role serves on its own port: the base port plus this offset, so that an ingest and a control
# worker on one host never collide. The notifier uses its own offset.
ROLE_PORT_OFFSET = {"all": 0, "ingest": 0, "control": 1, "notifier": 2, "broker": 3, "simulator": 4}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class MetricsSettings(BaseSettings):
    """Where a process serves `/metrics`, `/health/live` and `/health/ready`, and who may read them."""

    model_config = SettingsConfigDict(env_prefix="HCP_METRICS_", extra="ignore")

    enabled: bool = Field(True, description="serve metrics and health checks")
    host: str = Field("127.0.0.1", min_length=1, description="address to bind; a non-loopback one needs a token")
    port: int = Field(
        9464,
        ge=1024,
        le=65000,
        description="base port: worker all/ingest +0, control +1, notifier +2, broker +3, simulator +4",
    )
    token: SecretStr | None = Field(
        None, description="bearer token every request must present; required when host is not loopback"
    )
    lag_poll_interval_s: float = Field(
        5.0, ge=0.5, le=3600, description="wall seconds between two reads of the consumer groups' lag"
    )
    ready_max_lag_messages: int = Field(
        100_000, ge=0, le=1_000_000_000, description="above this lag on any topic the process is not ready"
    )

    @model_validator(mode="after")
    def _token_off_loopback(self) -> MetricsSettings:
        if self.enabled and not is_loopback(self.host) and not (self.token and self.token.get_secret_value()):
            raise ValueError(
                f"host {self.host} is not a loopback address: set HCP_METRICS_TOKEN (a bearer token) or bind 127.0.0.1"
            )
        return self

    def port_for(self, role: str) -> int:
        """The port a process of `role` (all, ingest, control, notifier, broker, simulator) listens on."""
        return self.port + ROLE_PORT_OFFSET[role]
