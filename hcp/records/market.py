"""Market prices: energy (real-time and day-ahead), hashprice, BTC price and GPU rental rates."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field, model_validator

from hcp.records.base import Record


class PriceKind(StrEnum):
    ENERGY_RT = "energy_rt"
    ENERGY_DA = "energy_da"
    HASHPRICE = "hashprice"
    BTC = "btc_price"
    GPU_RENTAL = "gpu_rental"


PRICE_UNITS: dict[PriceKind, str] = {
    PriceKind.ENERGY_RT: "USD/MWh",
    PriceKind.ENERGY_DA: "USD/MWh",
    PriceKind.HASHPRICE: "USD/PH/day",
    PriceKind.BTC: "USD/BTC",
    PriceKind.GPU_RENTAL: "USD/GPU-hour",
}


class PriceTick(Record):
    """Topic `market.prices`, key `<kind>:<node or gpu type or ->`: one published price for one interval.

    Grain: kind x node (or GPU type) x interval. `event_time` is when the price became known (publication),
    which for a real-time price is the end of its interval and for a day-ahead price the day before.
    """

    topic: ClassVar[str] = "market.prices"

    kind: PriceKind
    node: str | None = Field(None, max_length=40, description="settlement point, for energy prices")
    gpu_type: str | None = Field(None, max_length=40, description="GPU type, for rental rates")
    interval_start: AwareDatetime = Field(description="start of the interval the price applies to")
    interval_end: AwareDatetime = Field(description="end of that interval (exclusive)")
    value: float = Field(ge=-10_000, le=10_000_000, description="the price, in `unit`")
    unit: str = Field(description="USD/MWh, USD/PH/day, USD/BTC or USD/GPU-hour")

    @model_validator(mode="after")
    def _consistent(self) -> PriceTick:
        if self.interval_end <= self.interval_start:
            raise ValueError("interval_end must be after interval_start")
        if self.unit != PRICE_UNITS[self.kind]:
            raise ValueError(f"unit of {self.kind.value} must be {PRICE_UNITS[self.kind]}")
        energy = self.kind in (PriceKind.ENERGY_RT, PriceKind.ENERGY_DA)
        if energy and not self.node:
            raise ValueError("an energy price needs its node")
        if self.kind is PriceKind.GPU_RENTAL and not self.gpu_type:
            raise ValueError("a GPU rental rate needs its gpu_type")
        if self.value < 0 and not energy:
            raise ValueError(f"{self.kind.value} cannot be negative")
        return self

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.node or self.gpu_type or '-'}"
