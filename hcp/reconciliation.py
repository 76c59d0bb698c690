"""The ledger checked beyond the landing files: against the warehouse's raw tables and its staging views.

`raw.<topic>` must hold exactly what landed (each produced event once, same bytes); the staging views
(`stg_kafka__<topic>`, deduplicated by `first_copy_per_event`) must hold each produced event exactly once even
when a message was delivered twice. Billed usage is compared by the billing package's own reconciliation.
Read-only: the warehouse file is opened with `read_only=True`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from hcp.exceptions import HcpError
from hcp.ledger import LedgerReport, compare_events, value_digest

RAW_SCHEMA = "raw"


class ReconciliationError(HcpError):
    """The warehouse cannot be read for a ledger check; the message says what to run first."""


def raw_table_name(topic: str) -> str:
    """The raw table a topic loads into (`telemetry.asic` -> `telemetry_asic`), as the loader names it."""
    return topic.replace(".", "_")


def staging_view_name(topic: str) -> str:
    return f"stg_kafka__{raw_table_name(topic)}"


_EMPTY = {"topic": pl.String, "event_id": pl.String, "sha256": pl.String}


def read_warehouse_events(warehouse_path: Path, topics: set[str]) -> pl.DataFrame:
    """Rows of `raw.<topic>` for `topics`: topic, event_id and the SHA-256 of each value."""
    frames = []
    with _open(warehouse_path) as con:
        existing = {row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [RAW_SCHEMA]
        ).fetchall()}
        for topic in sorted(topics):
            table = raw_table_name(topic)
            if table not in existing:
                continue
            rows = con.execute(f'select event_id, value from {RAW_SCHEMA}."{table}"').fetchall()
            frames.append(pl.DataFrame(
                {"topic": [topic] * len(rows), "event_id": [r[0] for r in rows],
                 "sha256": [value_digest(r[1]) if r[1] is not None else None for r in rows]},
                schema=_EMPTY,
            ))
    return pl.concat(frames) if frames else pl.DataFrame(schema=_EMPTY)


def read_staged_event_ids(warehouse_path: Path, topics: set[str]) -> pl.DataFrame:
    """Event ids in the staging views of `topics` (one row per staged event): topic, event_id."""
    frames = []
    with _open(warehouse_path) as con:
        views = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
        for topic in sorted(topics):
            view = staging_view_name(topic)
            if view not in views:
                continue
            schema = con.execute(
                "select table_schema from information_schema.tables where table_name = ? limit 1", [view]
            ).fetchall()[0][0]
            ids = [r[0] for r in con.execute(f'select event_id from "{schema}"."{view}"').fetchall()]
            frames.append(pl.DataFrame({"topic": [topic] * len(ids), "event_id": ids},
                                       schema={"topic": pl.String, "event_id": pl.String}))
    return pl.concat(frames) if frames else pl.DataFrame(schema={"topic": pl.String, "event_id": pl.String})


@dataclass(frozen=True)
class WarehouseReport:
    """The ledger against `raw.*` (bytes compared) and against the deduplicated staging views (ids only)."""

    raw: LedgerReport
    staged: LedgerReport

    @property
    def ok(self) -> bool:
        return self.raw.ok and self.staged.ok


def check_ledger_warehouse(ledger: pl.DataFrame, warehouse_path: Path) -> WarehouseReport:
    """Compare produced events with the warehouse: raw tables (lost, duplicated, altered) and staging (once each)."""
    topics = set(ledger["topic"].unique().to_list())
    raw = compare_events(ledger, read_warehouse_events(warehouse_path, topics))
    staged_ids = read_staged_event_ids(warehouse_path, topics)
    # Staging parses the JSON, so bytes are compared in raw; here only presence and multiplicity matter.
    staged = compare_events(
        ledger, staged_ids.join(ledger.select("topic", "event_id", "sha256").unique(["topic", "event_id"]),
                                on=["topic", "event_id"], how="left")
    )
    return WarehouseReport(raw=raw, staged=staged)


def _open(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    if not warehouse_path.is_file():
        raise ReconciliationError(f"no warehouse at {warehouse_path}: run `hcp flows run warehouse` first")
    try:
        return duckdb.connect(str(warehouse_path), read_only=True)
    except duckdb.Error as err:
        raise ReconciliationError(f"cannot open {warehouse_path} read-only (a writer holds it?): {err}") from err


@dataclass(frozen=True)
class BilledUsageReport:
    """Billed usage (the stream meter's `billing.usage`, each record once) against the produced GPU polls.

    `expected` is metered from the landed GPU polls that the ledger lists (each once): when the ledger check
    finds nothing lost, duplicated or altered, those are exactly the polls that were produced.
    """

    polls_with_usage: int
    polls_billed: int
    missing_event_ids: tuple[str, ...]
    expected_gpu_seconds: float
    billed_gpu_seconds: float
    differing_rows: int

    @property
    def ok(self) -> bool:
        return not self.missing_event_ids and self.differing_rows == 0


def check_billed_usage(ledger: pl.DataFrame, landing_root: Path) -> BilledUsageReport:
    """Compare the usage the stream meter billed with the usage of the produced GPU polls, per usage key."""
    from hcp.billing.metering import USAGE_KEY, gpu_readings_frame, meter_gpu_seconds, usage_from_records
    from hcp.codec import decode_record
    from hcp.landing import iter_landing_files
    from hcp.records import GpuTelemetry, MeteredUsage
    from hcp.topics import BILLING_USAGE, TELEMETRY_GPU

    produced = set(ledger.filter(pl.col("topic") == TELEMETRY_GPU)["event_id"].to_list())
    polls: dict[str, GpuTelemetry] = {}
    for value in _landed_values(landing_root, TELEMETRY_GPU, iter_landing_files):
        poll = decode_record(TELEMETRY_GPU, value)
        if poll.event_id in produced:
            polls.setdefault(poll.event_id, poll)
    expected = meter_gpu_seconds(gpu_readings_frame(polls.values()))
    with_usage = set(meter_gpu_seconds(gpu_readings_frame(polls.values()), per_poll=True)["event_id"].to_list())
    records = [decode_record(BILLING_USAGE, v) for v in _landed_values(landing_root, BILLING_USAGE, iter_landing_files)]
    billed_records = [r for r in records if isinstance(r, MeteredUsage) and r.source_event_id in produced]
    billed = usage_from_records(billed_records)
    billed_ids = {r.source_event_id for r in billed_records}
    joined = expected.join(billed, on=list(USAGE_KEY), how="full", suffix="_billed", coalesce=True).fill_null(0.0)
    differing = joined.filter((pl.col("gpu_seconds") - pl.col("gpu_seconds_billed")).abs() > 1e-6).height
    return BilledUsageReport(
        polls_with_usage=len(with_usage),
        polls_billed=len(billed_ids & with_usage),
        missing_event_ids=tuple(sorted(with_usage - billed_ids)[:20]),
        expected_gpu_seconds=float(expected["gpu_seconds"].sum()),
        billed_gpu_seconds=float(billed["gpu_seconds"].sum()),
        differing_rows=differing,
    )


def _landed_values(landing_root: Path, topic: str, iter_files) -> list[bytes]:
    files = [f.path for f in iter_files(landing_root, topic)]
    return pl.read_parquet(files, columns=["value"])["value"].to_list() if files else []
