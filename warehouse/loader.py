"""The warehouse loader: landing files in, raw tables out. With dbt, the only writer of the DuckDB file.

Each call loads every landing file not yet registered in `raw.loaded_files`, skips any (partition, offset) the
raw table already holds (so overlapping files and re-runs never duplicate a message), rewrites the fleet tables
from the fleet configuration, and does all of it in one transaction: a crash leaves nothing or everything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from hcp.fleet import Fleet
from hcp.landing import LandingFile, iter_landing_files
from warehouse.exceptions import LoadError
from warehouse.limits import WarehouseLimits
from warehouse.schema import LANDING_COLUMN_LIST, RAW_SCHEMA, RAW_TABLES, create_raw_tables, raw_table


@dataclass(frozen=True)
class LoadSummary:
    """What one load did: files registered, files ignored (unknown topic) and new rows per topic."""

    files_loaded: int
    files_ignored: int = 0
    rows_inserted: Mapping[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows_inserted.values())


def load_landing(
    landing_root: Path, warehouse_path: Path, fleet: Fleet, limits: WarehouseLimits | None = None
) -> LoadSummary:
    """Load the new landing files under `landing_root` into the warehouse at `warehouse_path`.

    DuckDB holds at most `limits.memory_limit` and spills the rest (default `WarehouseLimits()`). Raises
    `LoadError` (with the warehouse unchanged) if any file cannot be read or inserted.
    """
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    config = (limits or WarehouseLimits()).duckdb_config(warehouse_path)
    try:
        conn = duckdb.connect(str(warehouse_path), config=config)
    except duckdb.Error as err:
        raise LoadError(f"cannot open warehouse {warehouse_path} for writing: {err}") from err
    try:
        conn.begin()
        try:
            summary = _load_in_transaction(conn, landing_root, fleet)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    except duckdb.Error as err:
        raise LoadError(f"loading {landing_root} into {warehouse_path} failed and was rolled back: {err}") from err
    finally:
        conn.close()
    return summary


def _load_in_transaction(conn: duckdb.DuckDBPyConnection, landing_root: Path, fleet: Fleet) -> LoadSummary:
    create_raw_tables(conn)
    registered = {row[0] for row in conn.execute(f"select path from {RAW_SCHEMA}.loaded_files").fetchall()}
    new_files: dict[str, list[LandingFile]] = defaultdict(list)
    ignored = 0
    for landing_file in iter_landing_files(landing_root):
        if _register_name(landing_root, landing_file) in registered:
            continue
        if landing_file.topic not in RAW_TABLES:
            ignored += 1
            continue
        new_files[landing_file.topic].append(landing_file)
    loaded_at = datetime.now(UTC)
    rows_inserted = {
        topic: _load_topic_files(conn, landing_root, topic, files, loaded_at) for topic, files in new_files.items()
    }
    _write_fleet(conn, fleet)
    return LoadSummary(
        files_loaded=sum(len(files) for files in new_files.values()),
        files_ignored=ignored,
        rows_inserted=rows_inserted,
    )


def _register_name(landing_root: Path, landing_file: LandingFile) -> str:
    """The name a file is registered under: its path below the landing root, so the root may move."""
    return landing_file.path.relative_to(landing_root).as_posix()


def _load_topic_files(
    conn: duckdb.DuckDBPyConnection,
    landing_root: Path,
    topic: str,
    files: list[LandingFile],
    loaded_at: datetime,
) -> int:
    """Insert the messages of `files` that the topic's raw table lacks; register every file. Returns rows."""
    table = raw_table(topic)
    by_name = {str(f.path): f for f in files}
    names = list(by_name)
    # Keys first (a cheap column projection), so the message bytes are read once, by the insert itself.
    conn.execute(
        'create or replace temp table _landed as select "partition", "offset", filename as _file '
        "from read_parquet(?, filename = true)",
        [names],
    )
    # Overlapping files of one batch hold some offsets twice: keep one copy, from the first file by name.
    conn.execute(
        f"""
        create or replace temp table _fresh as
        select * from _landed as landed
        where not exists (
            select 1 from {table} as present
            where present."partition" = landed."partition" and present."offset" = landed."offset"
        )
        qualify row_number() over (partition by "partition", "offset" order by _file) = 1
        """
    )
    row_counts = dict(conn.execute("select _file, count(*) from _landed group by _file").fetchall())
    fresh_counts = dict(conn.execute("select _file, count(*) from _fresh group by _file").fetchall())
    conn.execute(
        f"insert into {table} ({LANDING_COLUMN_LIST}) select {LANDING_COLUMN_LIST} "
        "from read_parquet(?, filename = true) as landed semi join _fresh "
        'on landed.filename = _fresh._file and landed."partition" = _fresh."partition" '
        'and landed."offset" = _fresh."offset"',
        [names],
    ).fetchall()
    conn.executemany(
        f"insert into {RAW_SCHEMA}.loaded_files values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                _register_name(landing_root, f),
                topic,
                f.partition,
                f.first_offset,
                f.last_offset,
                row_counts.get(name, 0),
                fresh_counts.get(name, 0),
                loaded_at,
            )
            for name, f in by_name.items()
        ],
    )
    conn.execute("drop table _landed")
    conn.execute("drop table _fresh")
    return sum(fresh_counts.values())


def _write_fleet(conn: duckdb.DuckDBPyConnection, fleet: Fleet) -> None:
    """Replace `raw.sites` and `raw.site_devices` with the fleet configuration."""
    conn.execute(f"delete from {RAW_SCHEMA}.site_devices")
    conn.execute(f"delete from {RAW_SCHEMA}.sites")
    conn.executemany(
        f"insert into {RAW_SCHEMA}.sites values (?, ?, ?)",
        [(site.site_id, site.node, site.power_cap_mw) for site in fleet.sites],
    )
    devices = [
        (site.site_id, kind, group.model, group.count)
        for site in fleet.sites
        for kind, groups in (("asic", site.asics), ("gpu", site.gpus))
        for group in groups
    ]
    if devices:
        conn.executemany(f"insert into {RAW_SCHEMA}.site_devices values (?, ?, ?, ?)", devices)
