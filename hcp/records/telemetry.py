"""Device telemetry: one message per site collector poll cycle, carrying every device it polled."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from hcp.economics import PowerState
from hcp.records.base import Record

_READING = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class AsicReading(BaseModel):
    """One ASIC's state at the poll."""

    model_config = _READING

    device_id: str = Field(min_length=1, max_length=64, description="unique device id")
    model: str = Field(description="ASIC model, e.g. 'S21'")
    power_state: PowerState
    hashrate_th: float = Field(ge=0, le=10_000, description="hashrate, TH/s")
    power_w: float = Field(ge=0, le=100_000, description="wall power, W")
    temp_inlet_c: float = Field(ge=-50, le=150, description="air inlet temperature, °C")
    temp_chip_c: float = Field(ge=-50, le=200, description="hottest chip temperature, °C")
    fan_rpm: int = Field(ge=0, le=30_000, description="slowest fan, revolutions per minute")
    hashboards_ok: int = Field(ge=0, le=4, description="hash boards hashing, of 3")
    errors: int = Field(ge=0, description="hardware errors since the previous poll")


class AsicTelemetry(Record):
    """Topic `telemetry.asic`, key `site_id`: one collector's poll of its ASICs (grain: collector x poll)."""

    topic: ClassVar[str] = "telemetry.asic"

    site_id: str = Field(min_length=1, max_length=40, description="site the devices are at")
    collector_id: str = Field(min_length=1, max_length=64, description="site collector that polled them")
    interval_s: float = Field(gt=0, le=3600, description="seconds this poll stands for (the poll period)")
    readings: tuple[AsicReading, ...] = Field(
        min_length=1,
        max_length=100_000,
        description="every device the collector polled, one reading each; the message stays within 1,000,000 bytes "
        "(about 5,000 readings of 200 bytes); 500 to 2,000 per message keeps the ingest worker's per-message cost "
        "small (docs/benchmarks.md)",
    )


class GpuReading(BaseModel):
    """One GPU's state at the poll, with the job it runs (if any)."""

    model_config = _READING

    device_id: str = Field(min_length=1, max_length=64, description="unique device id")
    gpu_type: str = Field(description="GPU type, e.g. 'H100'")
    utilisation_pct: float = Field(ge=0, le=100, description="compute utilisation, %")
    memory_used_gib: float = Field(ge=0, le=1024, description="memory in use, GiB")
    memory_total_gib: float = Field(gt=0, le=1024, description="memory on the board, GiB")
    power_w: float = Field(ge=0, le=10_000, description="board power, W")
    temp_c: float = Field(ge=-50, le=150, description="GPU core temperature, °C")
    ecc_errors: int = Field(ge=0, description="uncorrectable ECC errors since the previous poll")
    job_id: str | None = Field(None, max_length=128, description="job running on this GPU, if any")
    customer_id: str | None = Field(None, max_length=40, description="owner of that job")
    priority: int | None = Field(None, ge=0, le=9, description="that job's priority, 0 lowest")


class GpuTelemetry(Record):
    """Topic `telemetry.gpu`, key `site_id`: one collector's poll of its GPUs (grain: collector x poll)."""

    topic: ClassVar[str] = "telemetry.gpu"

    site_id: str = Field(min_length=1, max_length=40, description="site the devices are at")
    collector_id: str = Field(min_length=1, max_length=64, description="site collector that polled them")
    interval_s: float = Field(gt=0, le=3600, description="seconds this poll stands for (the poll period)")
    readings: tuple[GpuReading, ...] = Field(
        min_length=1,
        max_length=100_000,
        description="every GPU the collector polled, one reading each; the message stays within 1,000,000 bytes "
        "(about 4,500 readings of 220 bytes, fewer with long job ids)",
    )
