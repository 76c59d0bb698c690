"""The tables the planning flow publishes, built from the forecasts (pure): the price forecast per node and
hour, and the capacity plan per site and hour (`models.planning` rules).

Times: the demand forecast's hours are UTC; day-ahead prices are local time of the market (ERCOT: Central,
`MARKET_TZ`), converted to UTC here so that both meet on the same hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from models.planning import SiteCapacity, plan_hours
from models.prices import PriceHistory, PriceModel, predict_prices

MARKET_TZ = "America/Chicago"
PLAN_HOURS = 168


def price_forecast_frame(
    model: PriceModel, history: PriceHistory, origin: datetime, horizon_hours: int, source: str
) -> pl.DataFrame:
    """`node, origin, hour_local, hour_utc, price_usd_mwh, source` from local midnight `origin`."""
    values = predict_prices(model, history, origin, horizon_hours)
    local = [origin + timedelta(hours=h) for h in range(horizon_hours)]
    frame = pl.DataFrame(
        {
            "node": [history.node] * horizon_hours,
            "origin": [origin.date()] * horizon_hours,
            "hour_local": local,
            "price_usd_mwh": np.round(values, 4),
            "source": [source] * horizon_hours,
        }
    )
    utc = (
        pl.col("hour_local")
        .dt.replace_time_zone(MARKET_TZ, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    frame = frame.with_columns(utc.alias("hour_utc")).drop_nulls("hour_utc")
    return frame.unique("hour_utc", keep="first").sort("hour_utc")


def local_midnight_of(moment_utc: datetime) -> datetime:
    """The market's local midnight (naive) of the local day `moment_utc` falls in."""
    local = pl.Series([moment_utc.astimezone(UTC).replace(tzinfo=None)]).dt.replace_time_zone("UTC")
    day = local.dt.convert_time_zone(MARKET_TZ).dt.date()[0]
    return datetime.combine(day, datetime.min.time())


def capacity_plan_frame(
    sites: Sequence[SiteCapacity], demand: pl.DataFrame, prices: pl.DataFrame, demand_source: str
) -> pl.DataFrame:
    """Per site and UTC hour: forecast demand (the fleet's, shared by GPU count), price, the plan.

    `demand`: `hour` (UTC, naive or aware), `requests[_lo|_hi]`, `gpu_hours[_lo|_hi]`; `prices`: `node`,
    `hour_utc`, `price_usd_mwh`. Hours without a price forecast for the site's node are left out.
    """
    total_gpus = sum(s.gpus for s in sites) or 1
    hours = demand["hour"]
    if getattr(hours.dtype, "time_zone", None) is None:
        hours = hours.dt.replace_time_zone("UTC")
    demand = demand.with_columns(hours.dt.convert_time_zone("UTC").alias("hour_utc"))
    rows = []
    for site in sites:
        share = site.gpus / total_gpus
        joined = demand.join(
            prices.filter(pl.col("node") == site.node).select("hour_utc", "price_usd_mwh"), on="hour_utc", how="inner"
        ).sort("hour_utc")
        gpu_demand = (joined["gpu_hours"] * share).to_list()
        plans = plan_hours(
            site, list(zip(joined["hour_utc"].to_list(), joined["price_usd_mwh"].to_list(), strict=True)), gpu_demand
        )
        for row, plan in zip(joined.iter_rows(named=True), plans, strict=True):
            rows.append(
                {
                    "site_id": site.site_id,
                    "hour": plan.hour,
                    "node": site.node,
                    "price_forecast_usd_mwh": plan.price_usd_mwh,
                    "requests_forecast": row["requests"] * share,
                    "requests_lo": row["requests_lo"] * share,
                    "requests_hi": row["requests_hi"] * share,
                    "gpu_hours_forecast": row["gpu_hours"] * share,
                    "gpu_hours_hi": row["gpu_hours_hi"] * share,
                    "gpu_capacity": site.gpus,
                    "gpus_firm": plan.gpus_firm,
                    "gpus_best_effort": plan.gpus_best_effort,
                    "gpu_utilisation": (plan.gpus_firm + plan.gpus_best_effort) / site.gpus if site.gpus else 0.0,
                    "recommended_gpu_mw": plan.gpu_mw,
                    "recommended_asic_mw": plan.asic_mw,
                    "gpu_power_share": plan.gpu_share,
                    "mining": plan.mining,
                    "asic_breakeven_usd_mwh": site.asic_breakeven_usd_mwh,
                    "power_cap_mw": site.power_cap_mw,
                    "expected_margin_usd": plan.expected_margin_usd,
                    "demand_source": demand_source,
                }
            )
    return pl.DataFrame(rows) if rows else pl.DataFrame()
