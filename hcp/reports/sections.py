"""The daily report's data: one small query per section over the warehouse marts, read-only.

Each section is a `Section` holding a polars frame, or a note saying why it has no data (a mart that does not
exist yet, a day without rows), so a report over a partial warehouse still renders and says what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import polars as pl


@dataclass(frozen=True)
class Section:
    """A report section's rows, or the reason it has none."""

    key: str
    title: str
    frame: pl.DataFrame | None
    note: str = ""

    @property
    def has_data(self) -> bool:
        return self.frame is not None and not self.frame.is_empty()


def table_exists(conn: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, _, name = qualified.rpartition(".")
    [(count,)] = conn.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema or "main", name],
    ).fetchall()
    return count > 0


def _query(
    conn: duckdb.DuckDBPyConnection, key: str, title: str, needs: tuple[str, ...], sql: str, day: date
) -> Section:
    missing = [t for t in needs if not table_exists(conn, t)]
    if missing:
        return Section(key, title, None, f"no data: {', '.join(missing)} is not in the warehouse yet")
    start = f"{day.isoformat()} 00:00:00+00"
    end = f"{(day + timedelta(days=1)).isoformat()} 00:00:00+00"
    params = {name: value for name, value in (("start", start), ("end", end), ("day", day)) if f"${name}" in sql}
    frame = conn.sql(sql, params=params).pl()
    if frame.is_empty():
        return Section(key, title, frame, f"no data for {day.isoformat()}")
    return Section(key, title, frame)


def energy_and_curtailment(conn: duckdb.DuckDBPyConnection, day: date) -> Section:
    """Per site and hour: real-time price, ASIC and GPU power (MW), and ASICs the controller put to sleep."""
    sql = """
        with energy as (
            select site_id, hour_start, avg_rt_price_usd_mwh as price_usd_mwh, asic_mwh as asic_mw, gpu_mwh as gpu_mw
            from main.fct_site_energy_hourly
            where hour_start >= $start::timestamptz and hour_start < $end::timestamptz
        ),
        asleep as (
            -- a power_mix decision per site, ASIC model and interval: "sleep 200" or "normal 12, low 188"
            select site_id, date_trunc('hour', interval_start) as hour_start, interval_start,
                   sum(coalesce(try_cast(regexp_extract(action, 'sleep (\\d+)', 1) as integer), 0)) as asleep
            from main.fct_decisions
            where interval_start >= $start::timestamptz and interval_start < $end::timestamptz
              and decision_kind = 'power_mix'
            group by all
        ),
        curtailments as (
            select site_id, hour_start, avg(asleep) as asics_asleep from asleep group by all
        )
        select energy.*, coalesce(curtailments.asics_asleep, 0) as asics_asleep
        from energy left join curtailments using (site_id, hour_start)
        order by site_id, hour_start
    """
    return _query(
        conn, "energy", "Energy price against curtailment",
        ("main.fct_site_energy_hourly", "main.fct_decisions"), sql, day,
    )


def fleet_utilisation(conn: duckdb.DuckDBPyConnection, day: date) -> Section:
    """Per hour and device kind: the share of devices working (ASICs hashing, GPUs busy) and GPU utilisation."""
    sql = """
        select hour_start, device_kind,
               avg(working_fraction) * 100 as working_pct,
               avg(avg_utilisation_pct) as avg_utilisation_pct,
               count(distinct device_id) as devices
        from main.fct_device_telemetry_hourly
        where hour_start >= $start::timestamptz and hour_start < $end::timestamptz
        group by all
        order by device_kind, hour_start
    """
    return _query(conn, "utilisation", "Fleet utilisation", ("main.fct_device_telemetry_hourly",), sql, day)


def site_margins(conn: duckdb.DuckDBPyConnection, day: date) -> Section:
    """Per site: mining revenue, AI revenue, power cost and margin for the day (cost over priced hours only)."""
    sql = """
        with daily as (
            select * from main.fct_site_profitability_daily where day = $day
        ),
        hourly_cost as (
            select site_id, sum(power_cost_usd) as priced_power_cost_usd
            from main.fct_site_energy_hourly
            where hour_start >= $start::timestamptz and hour_start < $end::timestamptz
            group by all
        )
        select daily.site_id, daily.total_mwh, daily.mining_revenue_usd, daily.ai_revenue_usd,
               coalesce(daily.power_cost_usd, hourly_cost.priced_power_cost_usd) as power_cost_usd,
               daily.mining_revenue_usd + daily.ai_revenue_usd
                   - coalesce(daily.power_cost_usd, hourly_cost.priced_power_cost_usd) as margin_usd,
               daily.power_cost_usd is null as cost_is_partial,
               daily.mining_revenue_is_provisional
        from daily left join hourly_cost using (site_id)
        order by site_id
    """
    return _query(
        conn, "margins", "Revenue, cost and margin per site",
        ("main.fct_site_profitability_daily", "main.fct_site_energy_hourly"), sql, day,
    )


def top_customers(conn: duckdb.DuckDBPyConnection, day: date, limit: int = 10) -> Section:
    """Customers ranked by GPU-hours used that day, with the GPU types and priorities they used."""
    sql = f"""
        select customer_id,
               sum(gpu_hours) as gpu_hours,
               sum(energy_mwh) as energy_mwh,
               string_agg(distinct gpu_type, ', ' order by gpu_type) as gpu_types,
               max(priority) as top_priority
        from main.fct_gpu_usage_hourly
        where hour_start >= $start::timestamptz and hour_start < $end::timestamptz
        group by all
        order by gpu_hours desc
        limit {int(limit)}
    """
    return _query(conn, "customers", "Top customers", ("main.fct_gpu_usage_hourly",), sql, day)


def alerts_of_the_day(conn: duckdb.DuckDBPyConnection, day: date) -> Section:
    """Every alert transition (firing, resolved) of the day, newest first."""
    sql = """
        select event_time, severity, status, rule, site_id, device_id, message
        from staging.stg_kafka__alerts
        where event_time >= $start::timestamptz and event_time < $end::timestamptz
        order by event_time desc
        limit 200
    """
    return _query(conn, "alerts", "Alerts of the day", ("staging.stg_kafka__alerts",), sql, day)


def capacity_plan(conn: duckdb.DuckDBPyConnection, day: date) -> Section:
    """The latest capacity plan (hourly, for the coming week), as the planning flow published it."""
    return _latest(conn, "capacity", "Capacity plan", "main.fct_capacity_plan_hourly")


def price_forecast(conn: duckdb.DuckDBPyConnection, day: date) -> Section:
    """The latest energy price forecast, as the planning flow published it."""
    return _latest(conn, "forecast", "Price forecast", "main.fct_price_forecast_hourly")


def _latest(conn: duckdb.DuckDBPyConnection, key: str, title: str, table: str) -> Section:
    if not table_exists(conn, table):
        return Section(key, title, None, f"no data: {table} is not in the warehouse yet (run the planning flow)")
    frame = conn.sql(f"select * from {table} limit 2000").pl()
    return Section(key, title, frame, "" if not frame.is_empty() else f"no data: {table} is empty")


SECTION_BUILDERS = (
    energy_and_curtailment,
    fleet_utilisation,
    site_margins,
    top_customers,
    alerts_of_the_day,
    capacity_plan,
    price_forecast,
)


def read_sections(conn: duckdb.DuckDBPyConnection, day: date) -> list[Section]:
    """Every section of the daily report for `day` (UTC), in report order."""
    return [build(conn, day) for build in SECTION_BUILDERS]


def latest_complete_day(conn: duckdb.DuckDBPyConnection) -> date | None:
    """The most recent day whose 24 hours the energy mart holds, else the day before its latest hour."""
    if not table_exists(conn, "main.fct_site_energy_hourly"):
        return None
    [(last_hour, hours)] = conn.execute(
        """
        with hours as (select distinct hour_start from main.fct_site_energy_hourly)
        select max(hour_start), count(*) filter (
            where date_trunc('day', hour_start) = (select date_trunc('day', max(hour_start)) from hours)
        ) from hours
        """
    ).fetchall()
    if last_hour is None:
        return None
    return last_hour.date() if hours >= 24 else last_hour.date() - timedelta(days=1)
