"""Billing settings (env prefix `HCP_BILLING_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BillingSettings(BaseSettings):
    """Where rate cards are, who issues the invoices, and how they are rendered."""

    model_config = SettingsConfigDict(env_prefix="HCP_BILLING_", extra="ignore")

    rate_cards: Path | None = Field(
        None, description="rate card YAML; unset uses the demo cards (one per demo customer)"
    )
    issuer_name: str = Field("HCP Hybrid Compute LLC", min_length=1, max_length=200, description="seller on invoices")
    issuer_address: str = Field(
        "1 Grid Way, Midland, TX 79701, USA", min_length=1, max_length=400, description="seller address on invoices"
    )
    pdf: bool = Field(True, description="also print each invoice to PDF with headless Chromium, when installed")
    chromium: Path = Field(Path("/usr/bin/chromium"), description="Chromium executable used to print PDFs")
    pdf_timeout_s: float = Field(60.0, gt=0, le=600, description="longest one PDF print may take, seconds")
