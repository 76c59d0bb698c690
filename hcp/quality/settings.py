"""Settings of the data-quality gate (environment prefix `HCP_QUALITY_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hcp.topics import MARKET_PRICES, TELEMETRY_ASIC, TELEMETRY_GPU


class QualitySettings(BaseSettings):
    """How fresh landed data must be, and which topics must never go quiet."""

    model_config = SettingsConfigDict(env_prefix="HCP_QUALITY_", extra="ignore")

    max_age_hours: float = Field(
        24.0,
        gt=0,
        le=24 * 366,
        description="the newest landed file of each always-on topic must be at most this old when the gate runs",
    )
    fresh_topics: tuple[str, ...] = Field(
        (TELEMETRY_ASIC, TELEMETRY_GPU, MARKET_PRICES),
        min_length=0,
        max_length=20,
        description="topics that never go quiet, so a stale newest file means the pipeline stopped (JSON list)",
    )
    examples_per_failure: int = Field(
        5, ge=1, le=100, description="offending rows quoted per failed check in the gate's report"
    )
