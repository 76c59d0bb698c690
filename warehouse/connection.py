"""Read-only access to the warehouse, for everything that is not the loader or dbt."""

from __future__ import annotations

from pathlib import Path

import duckdb

from warehouse.exceptions import WarehouseError
from warehouse.schema import RAW_SCHEMA

# Schema of the dbt marts (the target schema; staging and intermediate models live in their own schemas).
MARTS_SCHEMA = "main"
# Schemas whose tables `count_table_rows` reports: the raw tables and the dbt marts.
COUNTED_SCHEMAS: tuple[str, ...] = (RAW_SCHEMA, MARTS_SCHEMA)


def open_readonly(path: Path) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only, in UTC; raise `WarehouseError` if it is missing or locked by a writer."""
    if not Path(path).is_file():
        raise WarehouseError(f"no warehouse at {path}: run the warehouse flow first")
    try:
        conn = duckdb.connect(str(path), read_only=True)
        conn.execute("set TimeZone = 'UTC'")
    except duckdb.Error as err:
        raise WarehouseError(f"cannot open warehouse {path} read-only: {err}") from err
    return conn


def count_table_rows(conn: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = COUNTED_SCHEMAS) -> dict[str, int]:
    """Rows in every base table of `schemas`, keyed `schema.table`."""
    tables = conn.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_type = 'BASE TABLE' and table_schema in (select unnest(?)) "
        "order by table_schema, table_name",
        [list(schemas)],
    ).fetchall()
    counts: dict[str, int] = {}
    for schema, table in tables:
        [(count,)] = conn.execute(f'select count(*) from "{schema}"."{table}"').fetchall()
        counts[f"{schema}.{table}"] = int(count)
    return counts
