"""The landed batches as small tables the gate validates: one row per file, per topic, per message.

Everything is read with DuckDB straight from the Parquet files (and, read-only, from the warehouse's
`raw.loaded_files` manifest); message values are parsed as JSON in SQL, so the gate never builds a row per
device reading in Python: telemetry readings are summarised per message (lowest and highest value of each bounded
field, and the device that holds the lowest).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from hcp.landing import LANDING_SCHEMA, iter_landing_files
from hcp.quality.rules import READING_BOUNDS, required_fields
from hcp.topics import TOPICS
from warehouse.limits import DEFAULT_MEMORY_LIMIT
from warehouse.schema import RAW_SCHEMA, raw_table

LANDING_COLUMNS: tuple[str, ...] = tuple(LANDING_SCHEMA.names)


@dataclass(frozen=True)
class LandedBatches:
    """The tables the gate validates, keyed by dataset name (`files`, `topics`, `messages`, `readings.<topic>`)."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    pending_files: int = 0

    @property
    def files(self) -> int:
        return len(self.tables.get("files", ()))


def read_landed_batches(landing_root: Path, warehouse_path: Path | None, now: datetime) -> LandedBatches:
    """Summarise every landing file under `landing_root` against the manifest in `warehouse_path` (if any)."""
    inventory = _file_inventory(landing_root)
    if inventory.empty:
        return LandedBatches()
    manifest, raw_rows = _read_manifest(warehouse_path)
    readable = inventory[inventory["unreadable"] == ""]
    # An in-memory database: under the warehouse writers' default limit, spilling next to the warehouse (or to the
    # system's temp folder), never into the working directory (DuckDB's default for an in-memory database).
    spill = warehouse_path.parent if warehouse_path is not None else Path(tempfile.gettempdir())
    conn = duckdb.connect(config={"memory_limit": DEFAULT_MEMORY_LIMIT, "temp_directory": str(spill / "quality.tmp")})
    try:
        conn.execute("set TimeZone = 'UTC'")
        per_file = _per_file_counts(conn, readable)
        files = inventory.merge(per_file, on="path", how="left")
        files = _relative(files, landing_root).merge(manifest, on="path", how="left")
        files["registered"] = files["manifest_rows"].notna()
        tables = {"files": files}
        tables["topics"] = _topic_summary(files, raw_rows, now)
        messages = []
        for topic, group in readable.groupby("topic"):
            if TOPICS.get(topic) is None or TOPICS[topic].record is None:
                continue
            paths = group["path"].tolist()
            messages.append(_messages(conn, topic, paths))
            if topic in READING_BOUNDS:
                tables[f"readings.{topic}"] = _relative(_reading_extremes(conn, topic, paths), landing_root)
        if messages:
            tables["messages"] = _relative(pd.concat(messages, ignore_index=True), landing_root)
    finally:
        conn.close()
    return LandedBatches(tables=tables, pending_files=int((~files["registered"]).sum()))


def _file_inventory(landing_root: Path) -> pd.DataFrame:
    rows = []
    for landed in iter_landing_files(landing_root):
        try:
            names = set(pq.read_schema(landed.path).names)
            unreadable = ""
        except (OSError, ValueError) as err:
            names, unreadable = set(), str(err)[:200]
        rows.append(
            {
                "path": str(landed.path),
                "topic": landed.topic,
                "first_offset": landed.first_offset,
                "last_offset": landed.last_offset,
                "unreadable": unreadable,
                "missing_columns": ",".join(c for c in LANDING_COLUMNS if c not in names) if not unreadable else "",
                "unexpected_columns": ",".join(sorted(names - set(LANDING_COLUMNS))),
            }
        )
    return pd.DataFrame(rows)


def _read_manifest(warehouse_path: Path | None) -> tuple[pd.DataFrame, dict[str, int]]:
    """`raw.loaded_files` (paths below the landing root) and, per topic, raw table rows and rows the manifest
    says were inserted; empty without a warehouse."""
    empty = pd.DataFrame({"path": pd.Series(dtype="str"), "manifest_rows": pd.Series(dtype="float")})
    if warehouse_path is None or not warehouse_path.is_file():
        return empty, {}
    conn = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        tables = {row[0] for row in conn.execute(
            "select table_name from information_schema.tables where table_schema = ?", [RAW_SCHEMA]
        ).fetchall()}
        if "loaded_files" not in tables:
            return empty, {}
        manifest = conn.execute(
            f"select path, row_count::double as manifest_rows, topic, rows_inserted from {RAW_SCHEMA}.loaded_files"
        ).df()
        raw_rows = {}
        for topic in manifest["topic"].unique():
            if raw_table(topic).split(".")[1] in tables:
                [(count,)] = conn.execute(f"select count(*) from {raw_table(topic)}").fetchall()
                inserted = int(manifest.loc[manifest["topic"] == topic, "rows_inserted"].sum())
                raw_rows[topic] = (int(count), inserted)
    finally:
        conn.close()
    return manifest[["path", "manifest_rows"]], raw_rows


def _per_file_counts(conn: duckdb.DuckDBPyConnection, readable: pd.DataFrame) -> pd.DataFrame:
    if readable.empty:
        return pd.DataFrame({"path": pd.Series(dtype="str")})
    return conn.execute(
        """
        select filename as path, count(*) as file_rows,
               coalesce(min("offset"), -1) as offset_min, coalesce(max("offset"), -1) as offset_max,
               max(landed_at) as newest_landed_at
        from read_parquet(?, filename = true, union_by_name = true)
        group by filename
        """,
        [readable["path"].tolist()],
    ).df()


def _topic_summary(files: pd.DataFrame, raw_rows: dict[str, tuple[int, int]], now: datetime) -> pd.DataFrame:
    rows = []
    for topic, group in files.groupby("topic"):
        newest = group["newest_landed_at"].max()
        age = (pd.Timestamp(now) - newest).total_seconds() / 3600 if pd.notna(newest) else float("inf")
        raw, inserted = raw_rows.get(topic, (None, None))
        rows.append(
            {
                "topic": topic,
                "files": len(group),
                "newest_landed_age_hours": round(age, 3),
                "raw_rows": raw,
                "manifest_rows_inserted": inserted,
            }
        )
    return pd.DataFrame(rows)


def _messages(conn: duckdb.DuckDBPyConnection, topic: str, paths: list[str]) -> pd.DataFrame:
    """One row per distinct landed message; a message landed twice with the same bytes (a retry) counts once."""
    required = list(required_fields(topic))
    # Each message is reduced to narrow columns (its digest, its top-level keys) before the window that finds the
    # retries: a window over whole messages held a month of telemetry polls (about 13 GB of JSON) in memory.
    return conn.execute(
        f"""
        with landed as (
            select filename as path, "partition", "offset", event_id, event_time, md5(value) as digest,
                   try(decode(value)) as text
            from read_parquet(?, filename = true, union_by_name = true)
        ),
        keyed as (
            select path, "partition", "offset", event_id, event_time, digest,
                   case when json_valid(text) then json_keys(text) end as keys
            from landed
        ),
        distinct_messages as (
            select * from keyed
            qualify row_number() over (partition by event_id, digest order by "partition", "offset", path) = 1
        )
        select path, '{topic}' as topic, "partition", "offset", event_id,
               event_time is not null as has_event_time,
               case
                   when keys is null then 'value is not JSON'
                   else array_to_string(list_filter(?::varchar[], lambda k: not list_contains(keys, k)), ',')
               end as missing_fields
        from distinct_messages
        """,
        [paths, required],
    ).df()


def _reading_extremes(conn: duckdb.DuckDBPyConnection, topic: str, paths: list[str]) -> pd.DataFrame:
    """Per message: readings count and, for each bounded field, its lowest and highest value and the device
    with the lowest. JSON path lists instead of one row per reading: the readings are never unnested."""
    bounds = READING_BOUNDS[topic]
    # Parsed straight into a struct of the fields checked: a JSON cast of whole polls needs gigabytes per vector.
    structure = json.dumps({"readings": [{"device_id": "VARCHAR", **{name: "DOUBLE" for name in bounds}}]})
    lists = ",\n".join(f"list_transform(payload.readings, lambda r: r.{name}) as {name}" for name in bounds)
    aggregates = ",\n".join(
        f"list_min({name}) as min_{name}, list_max({name}) as max_{name}, "
        f"devices[list_position({name}, list_min({name}))] as lowest_{name}_device"
        for name in bounds
    )
    return conn.execute(
        f"""
        with landed as (
            select filename as path, event_id, try(decode(value)) as text
            from read_parquet(?, filename = true, union_by_name = true)
        ),
        parsed as (
            select path, event_id, from_json(text, '{structure}') as payload from landed where json_valid(text)
        ),
        lists as (
            select path, event_id, list_transform(payload.readings, lambda r: r.device_id) as devices,
            {lists}
            from parsed
        )
        select path, event_id, len(devices) as readings,
        {aggregates}
        from lists
        """,
        [paths],
    ).df()


def _relative(frame: pd.DataFrame, landing_root: Path) -> pd.DataFrame:
    """Paths below the landing root, so that a report names `telemetry.asic/partition=0/...`."""
    if "path" in frame:
        prefix = str(landing_root).rstrip("/") + "/"
        frame = frame.assign(path=[p.removeprefix(prefix) for p in frame["path"]])
    return frame
