"""What billing reads from the warehouse, read-only: metered usage (warehouse and stream meter), credit events
and the invoices already stored. Each reader returns a polars frame in the shape `hcp.billing` expects."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from hcp.billing.invoices import INVOICE_SCHEMA, LINE_SCHEMA
from hcp.billing.metering import USAGE_SCHEMA
from warehouse.billing_store import BILLING_SCHEMA
from warehouse.connection import open_readonly

CREDIT_SCHEMA: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "credit_kind": pl.String(),
    "decided_at": pl.Datetime("us", "UTC"),
}

_USAGE_SQL = """
select customer_id, gpu_type, priority::bigint as priority, site_id, hour_start, gpu_seconds
from {table}
where hour_start < ?
order by customer_id, gpu_type, priority, site_id, hour_start
"""

_CREDITS_SQL = """
select customer_id, credit_kind, decided_at
from fct_credit_events
where customer_id is not null and decided_at < ?
order by decided_at, decision_id
"""


def read_usage(warehouse_path: Path, until: datetime, stream_meter: bool = False) -> pl.DataFrame:
    """Hourly usage before `until`: `fct_gpu_usage_hourly`, or with `stream_meter` `fct_metered_usage_hourly`."""
    table = "fct_metered_usage_hourly" if stream_meter else "fct_gpu_usage_hourly"
    return _frame(warehouse_path, _USAGE_SQL.format(table=table), [until], USAGE_SCHEMA)


def read_latest_usage_hour(warehouse_path: Path) -> datetime | None:
    """Start of the latest hour with GPU usage in the warehouse (None when there is none)."""
    conn = open_readonly(warehouse_path)
    try:
        [(latest,)] = conn.execute("select max(hour_start) from fct_gpu_usage_hourly").fetchall()
    finally:
        conn.close()
    return latest


def read_credit_events(warehouse_path: Path, until: datetime) -> pl.DataFrame:
    """Preemptions and SLA breaches with their customer, decided before `until`."""
    return _frame(warehouse_path, _CREDITS_SQL, [until], CREDIT_SCHEMA)


def read_invoices(
    warehouse_path: Path, status: str | None = None, period_id: str | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stored invoices and their lines, optionally only of one status and/or period."""
    where = "where (? is null or status = ?) and (? is null or period_id = ?)"
    params = [status, status, period_id, period_id]
    headers = _frame(
        warehouse_path, f"select * from {BILLING_SCHEMA}.invoices {where} order by invoice_id", params, INVOICE_SCHEMA
    )
    lines = _frame(
        warehouse_path,
        f"select l.* from {BILLING_SCHEMA}.invoice_lines l semi join {BILLING_SCHEMA}.invoices i "
        f"on l.invoice_id = i.invoice_id and (? is null or i.status = ?) and (? is null or i.period_id = ?) "
        "order by l.invoice_id, l.line_no",
        params,
        LINE_SCHEMA,
    )
    return headers, lines


def _frame(warehouse_path: Path, sql: str, params: list, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    conn = open_readonly(warehouse_path)
    try:
        frame = conn.sql(sql, params=params).pl()
    finally:
        conn.close()
    return frame.select(list(schema)).cast(schema) if frame.height else pl.DataFrame(schema=schema)
