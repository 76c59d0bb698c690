"""Where invoices live in the warehouse: the `billing` schema, written only through this module.

The billing flow prices usage into Parquet files (hcp.billing builds them); `store_invoices` loads them here in
one transaction, as the landing loader does for Kafka messages, so the warehouse keeps its writers to this
package and dbt. A closed invoice is never rewritten: the closed-period manifest (`billing.closed_periods`)
lists every sent invoice with its fingerprint, and a store skips any invoice it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse.exceptions import LoadError
from warehouse.limits import WarehouseLimits

BILLING_SCHEMA = "billing"

_DDL = (
    f"create schema if not exists {BILLING_SCHEMA}",
    f"""create table if not exists {BILLING_SCHEMA}.invoices (
    invoice_id varchar primary key,
    customer_id varchar not null,
    period_id varchar not null,
    period_start timestamptz not null,
    period_end timestamptz not null,
    status varchar not null,
    currency varchar not null,
    total_cents bigint not null,
    line_count integer not null,
    content_sha256 varchar not null,
    issued_at timestamptz
)""",
    f"""create table if not exists {BILLING_SCHEMA}.invoice_lines (
    invoice_id varchar not null,
    line_no integer not null,
    customer_id varchar not null,
    period_id varchar not null,
    line_kind varchar not null,
    description varchar not null,
    gpu_type varchar,
    priority_class varchar,
    tier integer,
    quantity decimal(18, 6),
    unit varchar,
    unit_price_usd decimal(18, 6),
    amount_cents bigint not null,
    adjusts_period_id varchar,
    primary key (invoice_id, line_no)
)""",
    f"""create table if not exists {BILLING_SCHEMA}.closed_periods (
    customer_id varchar not null,
    period_id varchar not null,
    invoice_id varchar not null,
    closed_at timestamptz not null,
    total_cents bigint not null,
    content_sha256 varchar not null,
    primary key (customer_id, period_id)
)""",
)


def create_billing_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the billing schema and its tables if absent (idempotent); dbt reads them as sources."""
    for ddl in _DDL:
        conn.execute(ddl)


@dataclass(frozen=True)
class StoreSummary:
    """What one store did: invoices written (new or replacing a draft), closed now, and left alone as closed."""

    written: tuple[str, ...]
    closed: tuple[str, ...]
    already_closed: tuple[str, ...]


def store_invoices(
    warehouse_path: Path,
    invoices_file: Path,
    lines_file: Path,
    close: bool,
    closed_at: datetime,
    limits: WarehouseLimits | None = None,
) -> StoreSummary:
    """Load invoices (and their lines) from Parquet; replace drafts, never a closed invoice.

    With `close`, every invoice written is closed at `closed_at` and entered in the manifest. Raises `LoadError`,
    with the warehouse unchanged, if the files cannot be read or inserted.
    """
    try:
        conn = duckdb.connect(str(warehouse_path), config=(limits or WarehouseLimits()).duckdb_config(warehouse_path))
    except duckdb.Error as err:
        raise LoadError(f"cannot open warehouse {warehouse_path} for writing: {err}") from err
    try:
        conn.execute("set TimeZone = 'UTC'")
        conn.begin()
        try:
            summary = _store(conn, str(invoices_file), str(lines_file), close, closed_at)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    except duckdb.Error as err:
        raise LoadError(f"storing invoices from {invoices_file} failed and was rolled back: {err}") from err
    finally:
        conn.close()
    return summary


def _store(
    conn: duckdb.DuckDBPyConnection, invoices: str, lines: str, close: bool, closed_at: datetime
) -> StoreSummary:
    create_billing_tables(conn)
    conn.execute("create or replace temp table _invoices as select * from read_parquet(?)", [invoices])
    conn.execute("create or replace temp table _lines as select * from read_parquet(?)", [lines])
    already = [
        row[0]
        for row in conn.execute(
            f"select i.invoice_id from _invoices i join {BILLING_SCHEMA}.closed_periods c "
            "using (customer_id, period_id) order by 1"
        ).fetchall()
    ]
    conn.execute("delete from _invoices where invoice_id in (select unnest(?))", [already])
    written = [row[0] for row in conn.execute("select invoice_id from _invoices order by 1").fetchall()]
    if close:
        conn.execute("update _invoices set status = 'closed', issued_at = ?", [closed_at])
    for table in ("invoice_lines", "invoices"):
        conn.execute(f"delete from {BILLING_SCHEMA}.{table} where invoice_id in (select invoice_id from _invoices)")
    conn.execute(
        f"insert into {BILLING_SCHEMA}.invoices by name select * from _invoices",
    )
    conn.execute(
        f"insert into {BILLING_SCHEMA}.invoice_lines by name "
        "select l.* from _lines l semi join _invoices i on l.invoice_id = i.invoice_id"
    )
    if close:
        conn.execute(
            f"insert into {BILLING_SCHEMA}.closed_periods by name select customer_id, period_id, invoice_id, "
            "issued_at as closed_at, total_cents, content_sha256 from _invoices"
        )
    conn.execute("drop table _invoices")
    conn.execute("drop table _lines")
    return StoreSummary(tuple(written), tuple(written) if close else (), tuple(already))
