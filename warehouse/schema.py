"""The raw schema of the warehouse: one table per topic (the landing columns), the file register and the fleet.

dbt reads these tables as its sources (`dbt/models/staging/_kafka__sources.yml`); the loader creates them.
"""

from __future__ import annotations

import duckdb

from hcp.topics import TOPICS

RAW_SCHEMA = "raw"

# Topic name -> raw table name: `telemetry.asic` lands in `raw.telemetry_asic`.
RAW_TABLES: dict[str, str] = {topic: topic.replace(".", "_") for topic in TOPICS}

# The landing schema (hcp.landing.LANDING_SCHEMA) as DuckDB columns, in the same order.
LANDING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("topic", "varchar not null"),
    ("partition", "integer not null"),
    ("offset", "bigint not null"),
    ("key", "varchar"),
    ("kafka_timestamp_ms", "bigint"),
    ("event_id", "varchar"),
    ("event_time", "timestamptz"),
    ("value", "blob"),
    ("headers", "map(varchar, blob)"),
    ("landed_at", "timestamptz not null"),
)

LANDING_COLUMN_LIST = ", ".join(f'"{name}"' for name, _ in LANDING_COLUMNS)

_LOADED_FILES_DDL = f"""
create table if not exists {RAW_SCHEMA}.loaded_files (
    path varchar primary key,
    topic varchar not null,
    "partition" integer not null,
    first_offset bigint not null,
    last_offset bigint not null,
    row_count bigint not null,
    rows_inserted bigint not null,
    loaded_at timestamptz not null
)"""

_SITES_DDL = f"""
create table if not exists {RAW_SCHEMA}.sites (
    site_id varchar primary key,
    node varchar not null,
    power_cap_mw double not null
)"""

_SITE_DEVICES_DDL = f"""
create table if not exists {RAW_SCHEMA}.site_devices (
    site_id varchar not null,
    device_kind varchar not null,
    model varchar not null,
    count integer not null,
    primary key (site_id, device_kind, model)
)"""


def raw_table(topic: str) -> str:
    """Qualified name of the raw table a topic lands in."""
    return f"{RAW_SCHEMA}.{RAW_TABLES[topic]}"


def create_raw_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and every raw table that does not exist yet (idempotent)."""
    columns = ",\n    ".join(f'"{name}" {kind}' for name, kind in LANDING_COLUMNS)
    conn.execute(f"create schema if not exists {RAW_SCHEMA}")
    for topic in RAW_TABLES:
        conn.execute(
            f"create table if not exists {raw_table(topic)} (\n    {columns},\n"
            '    primary key ("partition", "offset")\n)'
        )
    for ddl in (_LOADED_FILES_DDL, _SITES_DDL, _SITE_DEVICES_DDL):
        conn.execute(ddl)
    # The billing tables exist (empty) from the first load, so dbt's billing sources resolve before any billing.
    from warehouse.billing_store import create_billing_tables

    create_billing_tables(conn)
