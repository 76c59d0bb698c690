"""Thresholds of the stream alert rules (`HCP_ALERT_*`): every rule's limit is a setting, none is hard-coded."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AlertSettings(BaseSettings):
    """Thresholds of the rules in `hcp.alerting.rules`; the table in docs/operations.md lists them."""

    model_config = SettingsConfigDict(env_prefix="HCP_ALERT_", extra="ignore")

    asic_chip_temp_max_c: float = Field(100.0, ge=40, le=150, description="ASIC hottest chip above this: overheat")
    temp_hysteresis_c: float = Field(
        3.0, ge=0, le=50, description="an open overheat alert resolves only this far below its limit (no flapping)"
    )
    asic_hashrate_min_ratio: float = Field(
        0.8, gt=0, le=1, description="steady ASIC hashing below this share of its nameplate at its state: drop"
    )
    asic_hashboards_expected: int = Field(3, ge=1, le=4, description="hash boards an ASIC has; fewer hashing: down")
    asic_fan_min_rpm: int = Field(500, ge=0, le=10_000, description="slowest fan below this on a powered ASIC: failure")
    device_offline_missed_polls: int = Field(
        1, ge=1, le=100, description="polls of its collector a device may miss before it is reported offline"
    )
    gpu_temp_max_c: float = Field(90.0, ge=40, le=150, description="GPU core above this: overheat")
    gpu_ecc_errors_max: int = Field(0, ge=0, le=1_000_000, description="uncorrectable ECC errors per poll allowed")
    gpu_stuck_util_max_pct: float = Field(
        5.0, ge=0, le=100, description="a GPU holding a job at or below this utilisation is stuck"
    )
    gpu_stuck_polls: int = Field(1, ge=1, le=100, description="consecutive stuck polls before the alert fires")
    price_spike_usd_mwh: float = Field(1000.0, gt=0, le=100_000, description="real-time price above this: spike")
    negative_price_usd_mwh: float = Field(0.0, ge=-10_000, le=0, description="real-time price below this: negative")
    hashprice_move_pct: float = Field(
        10.0, gt=0, le=1000, description="hashprice change against its previous value beyond this: move"
    )
    site_power_cap_ratio: float = Field(
        1.01, gt=0, le=2, description="site device power above this share of its cap: above cap (1 %: meter noise)"
    )
    site_power_hysteresis_ratio: float = Field(
        0.01, ge=0, le=0.5, description="an open above-cap alert resolves only this share of the cap below its limit"
    )
    consumer_lag_max_messages: int = Field(
        10_000, ge=1, le=100_000_000, description="messages a consumer group may be behind on a topic"
    )
    deadletters_max_per_minute: float = Field(
        10.0, gt=0, le=1_000_000, description="dead letters per minute above this: rate alert"
    )
    sla_qos_classes: tuple[str, ...] = Field(
        ("LS",), description="QoS classes whose SLA breaches raise an alert (comma-free JSON list in env)"
    )
