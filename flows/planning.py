"""The planning flow: forecast AI demand and energy prices for the coming week, plan capacity per site and hour,
and publish both as Parquet under `<home>/forecasts/`, which dbt exposes as `fct_price_forecast_hourly` and
`fct_capacity_plan_hourly` (the warehouse keeps one writer: this flow never opens it for writing).

Demand history: the warehouse's own workload requests (read-only) when they span a day or more, else the
landed workload requests (the demo forecasts before its warehouse build), else the request trace file.
Price history: the day-ahead file, only before the forecast origin; the model is refitted on that history with
the parameters of the newest promoted price model (or the defaults).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.exceptions import MissingContextError

from hcp.fleet import load_fleet
from hcp.topics import WORKLOAD_REQUESTS
from models import demand
from models.capacity_plan import PLAN_HOURS, capacity_plan_frame, local_midnight_of, price_forecast_frame
from models.exceptions import InputDataError
from models.frames import read_csv
from models.loading import PRICES_NAME
from models.planning import site_capacity
from models.prices import MAX_HORIZON_HOURS, TIME_COLUMN, day_ahead_history, train_price_model
from models.registry import latest_passing

FORECASTS_DIR = "forecasts"
CAPACITY_PLAN_FILE = "capacity_plan_hourly.parquet"
PRICE_FORECAST_FILE = "price_forecast_hourly.parquet"
DEFAULT_HASHPRICE = 60.0


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def forecasts_dir(home: Path) -> Path:
    return home / FORECASTS_DIR


def warehouse_requests(warehouse_path: Path) -> pl.DataFrame | None:
    """The warehouse's workload requests in the request-trace shape (`gmt_create`, `exec_time_seconds` as
    GPU-seconds), or None without a warehouse or requests."""
    from warehouse.connection import open_readonly
    from warehouse.exceptions import WarehouseError

    try:
        conn = open_readonly(warehouse_path)
    except WarehouseError:
        return None
    try:
        rows = conn.execute(
            "select event_time, gpu_count * expected_duration_s from staging.stg_kafka__workloads_requests"
        ).fetchall()
    except Exception:  # no staging view yet (dbt never ran): no history
        return None
    finally:
        conn.close()
    if not rows:
        return None
    return pl.DataFrame(
        {
            "gmt_create": [r[0].astimezone(UTC).replace(tzinfo=None) for r in rows],
            "exec_time_seconds": [r[1] for r in rows],
        }
    )


def landed_requests(landing_dir: Path) -> pl.DataFrame | None:
    """The landed `workloads.requests` messages in the request-trace shape (one copy per event), or None."""
    files = sorted((landing_dir / WORKLOAD_REQUESTS).glob("partition=*/*.parquet"))
    if not files:
        return None
    landed = pl.read_parquet(files, columns=["event_id", "value"]).unique("event_id", keep="first")
    rows = [json.loads(value) for value in landed["value"].to_list()]
    if not rows:
        return None
    stamps = pl.Series([r["event_time"] for r in rows]).str.to_datetime(time_zone="UTC").dt.replace_time_zone(None)
    seconds = [float(r["gpu_count"]) * float(r["expected_duration_s"]) for r in rows]
    return pl.DataFrame({"gmt_create": stamps, "exec_time_seconds": seconds})


def demand_history(
    warehouse_path: str | None, landing_dir: str | None, requests_file: str | None
) -> tuple[pl.DataFrame, str]:
    """Hourly demand from the first source spanning a day: the warehouse, the landing files, the trace file
    (None: no fallback, too little history is an `InputDataError`)."""
    candidates = (
        (f"warehouse {warehouse_path}", lambda: warehouse_requests(Path(warehouse_path)) if warehouse_path else None),
        (f"landing {landing_dir}", lambda: landed_requests(Path(landing_dir)) if landing_dir else None),
    )
    for source, read in candidates:
        history = read()
        if history is not None:
            hourly = demand.hourly_demand(history)
            if len(hourly) >= demand.MIN_HISTORY_HOURS:
                return hourly, source
    if requests_file is None:
        raise InputDataError(
            f"less than {demand.MIN_HISTORY_HOURS} hours of workload history in the warehouse or the landing files"
        )
    hourly = demand.hourly_demand(read_csv(Path(requests_file), "requests", ("gmt_create",)))
    return hourly, f"trace {Path(requests_file).name}"


@task
def forecast_demand_week(
    home: str, warehouse_path: str | None, requests_file: str | None, seed: int, landing_dir: str | None = None
) -> dict[str, Any]:
    """Forecast requests and GPU-hours for the week after the history; writes `demand_forecast.parquet`."""
    hourly, source = demand_history(warehouse_path, landing_dir, requests_file)
    frames = [
        demand.predict_demand(demand.train_demand(hourly, seed, target=target), PLAN_HOURS) for target in demand.TARGETS
    ]
    forecast = frames[0].join(frames[1], on="hour")
    path = forecasts_dir(Path(home)) / "demand_forecast.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    forecast.write_parquet(path)
    _logger().info("demand forecast from %s: %d hours from %s", source, len(forecast), forecast["hour"][0])
    return {"path": str(path), "source": source, "first_hour": forecast["hour"][0].isoformat()}


@task
def forecast_prices_week(home: str, prices_file: str, nodes: list[str], first_hour: str, seed: int) -> dict[str, Any]:
    """For each node, prices from the local midnight of `first_hour` (UTC) for 8 days; writes the Parquet."""
    origin = local_midnight_of(datetime.fromisoformat(first_hour).replace(tzinfo=UTC))
    promoted = latest_passing(Path(home), PRICES_NAME)
    params = dict(promoted.metadata.get("params", {})) if promoted else None
    source = f"lightgbm, params of {PRICES_NAME} {promoted.version}" if promoted else "lightgbm, default params"
    frame = read_csv(Path(prices_file), "day-ahead prices", (TIME_COLUMN, *nodes))
    forecasts, skipped = [], {}
    for node in nodes:
        history = day_ahead_history(frame, node)
        if history.end < origin:
            skipped[node] = f"history ends {history.end:%Y-%m-%d %H:%M}, before the origin {origin:%Y-%m-%d}"
            continue
        model = train_price_model(history, seed, params, train_end=origin)
        forecasts.append(price_forecast_frame(model, history, origin, MAX_HORIZON_HOURS, source))
    for node, reason in skipped.items():
        _logger().warning("no price forecast for %s: %s", node, reason)
    path = forecasts_dir(Path(home)) / PRICE_FORECAST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if forecasts:
        pl.concat(forecasts).with_columns(pl.lit(datetime.now(UTC)).alias("created_at")).write_parquet(path)
    return {"path": str(path), "nodes": len(forecasts), "skipped": skipped, "origin": origin.isoformat()}


@task
def plan_capacity(
    home: str, demand_path: str, demand_source: str, prices_path: str, fleet_file: str | None, hashprice: float
) -> dict[str, Any]:
    """Join the forecasts into the capacity plan per site and hour; writes the Parquet dbt reads."""
    fleet = load_fleet(Path(fleet_file) if fleet_file else None)
    sites = [site_capacity(site, hashprice) for site in fleet.sites]
    if not Path(prices_path).is_file():
        return {"path": None, "rows": 0}
    plan = capacity_plan_frame(sites, pl.read_parquet(demand_path), pl.read_parquet(prices_path), demand_source)
    path = forecasts_dir(Path(home)) / CAPACITY_PLAN_FILE
    if plan.is_empty():
        return {"path": None, "rows": 0}
    plan.with_columns(pl.lit(datetime.now(UTC)).alias("created_at")).write_parquet(path)
    margin = float(plan["expected_margin_usd"].sum())
    _logger().info("capacity plan: %d site-hours, expected margin %.0f USD", len(plan), margin)
    return {"path": str(path), "rows": len(plan), "expected_margin_usd": round(margin, 2)}


@flow(name="publish-forecasts")
def publish_forecasts(
    home: str,
    requests_file: str | None,
    prices_file: str,
    warehouse_path: str | None = None,
    fleet_file: str | None = None,
    seed: int = 7,
    hashprice: float = DEFAULT_HASHPRICE,
    landing_dir: str | None = None,
) -> dict[str, Any]:
    """Forecast demand and prices for the coming week and plan capacity; run the warehouse flow afterwards to
    see them in `fct_capacity_plan_hourly` and `fct_price_forecast_hourly`."""
    fleet = load_fleet(Path(fleet_file) if fleet_file else None)
    nodes = sorted({site.node for site in fleet.sites})
    if warehouse_path and Path(warehouse_path).is_file():
        # Training on the warehouse's history: the data-quality gate first, as for billing (flows/quality.py).
        from flows.quality import require_quality_gate

        require_quality_gate(warehouse_path, landing_dir)
    demand_week = forecast_demand_week(home, warehouse_path, requests_file, seed, landing_dir)
    price_week = forecast_prices_week(home, prices_file, nodes, demand_week["first_hour"], seed)
    plan = plan_capacity(home, demand_week["path"], demand_week["source"], price_week["path"], fleet_file, hashprice)
    return {"demand": demand_week, "prices": price_week, "plan": plan}


__all__ = ["publish_forecasts"]
