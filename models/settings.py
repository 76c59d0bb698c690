"""Settings of model training and live classification (prefix `HCP_MODELS_`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hcp.settings import REPO_ROOT

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


class ModelSettings(BaseSettings):
    """Training data, seed, evaluation windows and the live classifier's confidence threshold."""

    model_config = SettingsConfigDict(env_prefix="HCP_MODELS_", extra="ignore")

    pods_file: Path = Field(
        SHARED_DATA / "traces" / "alibaba_gpu_v2023_pods.csv", description="labelled pod trace for the classifier"
    )
    requests_file: Path = Field(
        SHARED_DATA / "traces" / "genai_requests_2024-11-15_2024-11-30.csv",
        description="request trace for the demand forecaster",
    )
    prices_file: Path = Field(
        SHARED_DATA / "ercot" / "dam_spp_hourly_2022_2023.csv", description="wide day-ahead prices (ERCOT shape)"
    )
    seed: int = Field(7, ge=0, le=2**31 - 1, description="random seed of training and splits")
    node: str = Field("HB_WEST", min_length=1, max_length=40, description="price node the price model is scored on")
    holdout_start: date = Field(date(2023, 7, 1), description="first day of the price model's held-back period")
    min_accuracy: float = Field(0.97, ge=0, le=1, description="accuracy the classifier must reach to be promoted")
    ls_confidence: float = Field(
        0.8, ge=0.5, le=1, description="probability from which a predicted LS class protects a job from preemption"
    )
    demo_sample: int = Field(
        0, ge=0, le=1_000_000, description="pods the demo trains the classifier on when none is registered (0: all)"
    )
