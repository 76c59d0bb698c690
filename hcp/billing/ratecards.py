"""Rate cards: what each customer pays, read from YAML and validated (see docs/billing.md for the file format).

A card prices GPU-hours per GPU type and priority class, in tiers (graduated: each tier's hours at its own
price; volume: every hour at the price of the tier the period's total reaches), and may add a committed spend
(a shortfall is billed, usage above it carries an overage uplift), a minimum charge, and credits per preempted
job and per missed SLA, capped at a share of the usage charges.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hcp.billing.exceptions import RateCardError
from hcp.exceptions import ConfigError
from hcp.fleet import read_yaml_model

DEMO_RATE_CARDS_FILE = Path(__file__).with_name("demo_rate_cards.yaml")
PRIORITIES = range(10)

_FROZEN = ConfigDict(frozen=True, extra="forbid")
Money = Decimal


class PriorityClass(BaseModel):
    """A named band of job priorities (inclusive), priced alike."""

    model_config = _FROZEN

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    min_priority: int = Field(ge=0, le=9)
    max_priority: int = Field(ge=0, le=9)

    @model_validator(mode="after")
    def _ordered(self) -> PriorityClass:
        if self.min_priority > self.max_priority:
            raise ValueError(f"class {self.name}: min_priority {self.min_priority} > max_priority {self.max_priority}")
        return self


DEFAULT_PRIORITY_CLASSES = (
    PriorityClass(name="best_effort", min_priority=0, max_priority=3),
    PriorityClass(name="standard", min_priority=4, max_priority=6),
    PriorityClass(name="premium", min_priority=7, max_priority=9),
)


class PriceTier(BaseModel):
    """Up to `up_to_gpu_hours` GPU-hours in the period (cumulative; None: no limit) at `usd_per_gpu_hour`."""

    model_config = _FROZEN

    up_to_gpu_hours: Decimal | None = Field(None, gt=0, le=10**9)
    usd_per_gpu_hour: Money = Field(ge=0, le=10_000, decimal_places=4)


class GpuPrice(BaseModel):
    """The tiers of one GPU type in one priority class."""

    model_config = _FROZEN

    gpu_type: str = Field(min_length=1, max_length=32)
    priority_class: str
    tiers: tuple[PriceTier, ...] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _tiers_ascend_and_end_open(self) -> GpuPrice:
        bounds = [t.up_to_gpu_hours for t in self.tiers]
        if bounds[-1] is not None:
            raise ValueError(f"{self.gpu_type}/{self.priority_class}: the last tier must have no up_to_gpu_hours")
        if any(b is None for b in bounds[:-1]):
            raise ValueError(f"{self.gpu_type}/{self.priority_class}: only the last tier may be open")
        closed = [b for b in bounds[:-1] if b is not None]
        if closed != sorted(set(closed)):
            raise ValueError(f"{self.gpu_type}/{self.priority_class}: tier bounds must strictly increase")
        return self


class RateCard(BaseModel):
    """One customer's prices and terms for every billing period."""

    model_config = _FROZEN

    customer_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    customer_name: str = Field(min_length=1, max_length=200, description="name printed on the invoice")
    billing_address: tuple[str, ...] = Field((), max_length=6, description="address lines printed on the invoice")
    currency: Literal["USD"] = "USD"
    tier_mode: Literal["graduated", "volume"] = "graduated"
    priority_classes: tuple[PriorityClass, ...] = DEFAULT_PRIORITY_CLASSES
    prices: tuple[GpuPrice, ...] = Field(min_length=1)
    committed_spend_usd: Money | None = Field(None, gt=0, le=10**9, decimal_places=2)
    overage_uplift_pct: Decimal = Field(Decimal(0), ge=0, le=100, description="surcharge on usage above the commit")
    minimum_charge_usd: Money = Field(Decimal(0), ge=0, le=10**9, decimal_places=2)
    preemption_credit_usd: Money = Field(Decimal(0), ge=0, le=10**6, decimal_places=2)
    sla_credit_usd: Money = Field(Decimal(0), ge=0, le=10**6, decimal_places=2)
    credit_cap_pct: Decimal = Field(Decimal(100), ge=0, le=100, description="credits at most this % of usage")
    payment_terms_days: int = Field(30, ge=0, le=365)

    @model_validator(mode="after")
    def _classes_cover_every_priority_once(self) -> RateCard:
        covered = [p for c in self.priority_classes for p in range(c.min_priority, c.max_priority + 1)]
        if sorted(covered) != list(PRIORITIES):
            raise ValueError("priority_classes must cover priorities 0-9, each exactly once")
        names = {c.name for c in self.priority_classes}
        keys = [(p.gpu_type, p.priority_class) for p in self.prices]
        if len(keys) != len(set(keys)):
            raise ValueError("prices: a gpu_type x priority_class pair is listed twice")
        for gpu_type, class_name in keys:
            if class_name not in names:
                raise ValueError(f"prices: {gpu_type} names unknown priority_class {class_name!r}")
        return self

    def priority_class(self, priority: int) -> str:
        for band in self.priority_classes:
            if band.min_priority <= priority <= band.max_priority:
                return band.name
        raise RateCardError(f"{self.customer_id}: no priority class for priority {priority}")

    def price(self, gpu_type: str, class_name: str) -> GpuPrice:
        for entry in self.prices:
            if entry.gpu_type == gpu_type and entry.priority_class == class_name:
                return entry
        raise RateCardError(
            f"rate card of {self.customer_id} has no price for {gpu_type} in class {class_name}: add one to its prices"
        )


class RateCardBook(BaseModel):
    """Every customer's rate card (the rate card file)."""

    model_config = _FROZEN

    rate_cards: tuple[RateCard, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_customers(self) -> RateCardBook:
        ids = [c.customer_id for c in self.rate_cards]
        if len(ids) != len(set(ids)):
            raise ValueError("a customer_id has two rate cards")
        return self

    def card_for(self, customer_id: str) -> RateCard:
        for card in self.rate_cards:
            if card.customer_id == customer_id:
                return card
        known = ", ".join(c.customer_id for c in self.rate_cards)
        raise RateCardError(f"no rate card for customer {customer_id!r} (cards exist for {known}): add one")


def load_rate_cards(path: Path | None = None) -> RateCardBook:
    """Read and validate a rate card file; the demo cards (one per simulated customer) when `path` is None."""
    try:
        return read_yaml_model(path or DEMO_RATE_CARDS_FILE, RateCardBook, what="rate card file")
    except ConfigError as err:
        raise RateCardError(str(err)) from err
