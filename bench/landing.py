"""Benchmark: landing rows per second durably committed, against DuckDB's raw Arrow append of the same rows.

Run: `python -m bench.landing [--batches 20] [--batch-size 2000] [--out results.json]`.

The rows are consumed messages as the landing agent holds them (`LandedMessage`): a mix of telemetry polls
(250 readings, tens of KB each) and small records (prices, decisions: a few hundred bytes), `--batch-size` per
batch. Landing: `LandingWriter.write` per batch (Arrow table from the messages, Parquet with zstd, fsync,
rename into place: durable when it returns). Baseline: the same rows, already as one Arrow table per batch,
appended to a DuckDB table in a database file with one committed `INSERT ... SELECT` per batch (DuckDB
fsyncs its WAL on commit). Both on the same disk, in the same process, timed with `time.perf_counter`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from hcp.fleet import load_fleet
from hcp.landing import LANDING_SCHEMA, LandedMessage, LandingWriter
from simulators.asic import AsicFleetSimulator

SMALL_VALUE = (
    b'{"schema_version":1,"event_id":"rt:HB_WEST:2023-01-16T00:15:00+00:00","event_time":"2023-01-16T00:15:00Z",'
    b'"kind":"energy_rt","node":"HB_WEST","price":42.17,"unit":"USD/MWh","interval_start":"2023-01-16T00:00:00Z",'
    b'"interval_end":"2023-01-16T00:15:00Z"}'
)


def build_batches(batches: int, batch_size: int, telemetry_share: float = 0.2) -> list[list[LandedMessage]]:
    t0 = datetime(2023, 1, 16, tzinfo=UTC)
    polls = [p.to_json() for p in AsicFleetSimulator(load_fleet(), 60.0, 30.0, np.random.default_rng(1)).poll(t0)]
    rng = np.random.default_rng(2)
    result, offset = [], 0
    for _ in range(batches):
        batch = []
        for _ in range(batch_size):
            value = polls[offset % len(polls)] if rng.random() < telemetry_share else SMALL_VALUE
            batch.append(
                LandedMessage(
                    topic="bench", partition=0, offset=offset, key="west-1", kafka_timestamp_ms=1_673_827_200_000,
                    event_id=f"e{offset}", event_time=t0 + timedelta(seconds=offset), value=value,
                )
            )
            offset += 1
        result.append(batch)
    return result


def arrow_batch(messages: list[LandedMessage]) -> pa.Table:
    landed_at = datetime.now(UTC)
    return pa.table(
        {
            "topic": [m.topic for m in messages],
            "partition": [m.partition for m in messages],
            "offset": [m.offset for m in messages],
            "key": [m.key for m in messages],
            "kafka_timestamp_ms": [m.kafka_timestamp_ms for m in messages],
            "event_id": [m.event_id for m in messages],
            "event_time": [m.event_time for m in messages],
            "value": [m.value for m in messages],
            "headers": [list(m.headers) for m in messages],
            "landed_at": [landed_at] * len(messages),
        },
        schema=LANDING_SCHEMA,
    )


def measure(batches: int, batch_size: int) -> dict[str, object]:
    data = build_batches(batches, batch_size)
    rows = batches * batch_size
    value_bytes = sum(len(m.value or b"") for batch in data for m in batch)
    tables = [arrow_batch(batch) for batch in data]
    with tempfile.TemporaryDirectory(prefix="hcp-bench-landing-") as home:
        writer = LandingWriter(Path(home) / "landing")
        started = time.perf_counter()
        for batch in data:
            writer.write("bench", 0, batch)
        landing_s = time.perf_counter() - started

        con = duckdb.connect(str(Path(home) / "raw.duckdb"))
        con.execute(
            "create table raw (topic varchar, partition integer, \"offset\" bigint, key varchar, "
            "kafka_timestamp_ms bigint, event_id varchar, event_time timestamptz, value blob, "
            "headers map(varchar, blob), landed_at timestamptz)"
        )
        started = time.perf_counter()
        for table in tables:
            con.register("batch", table)
            con.execute("insert into raw select * from batch")  # autocommit: one durable commit per batch
            con.unregister("batch")
        duckdb_s = time.perf_counter() - started
        assert con.execute("select count(*) from raw").fetchone()[0] == rows
        con.close()
    landing_rate, duckdb_rate = rows / landing_s, rows / duckdb_s
    return {
        "rows": rows,
        "batch_size": batch_size,
        "mib": round(value_bytes / 2**20, 1),
        "landing_rows_per_s": round(landing_rate),
        "duckdb_arrow_append_rows_per_s": round(duckdb_rate),
        "ratio": round(landing_rate / duckdb_rate, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20, help="batches to land")
    parser.add_argument("--batch-size", type=int, default=2000, help="messages per batch")
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args()
    result = measure(args.batches, args.batch_size)
    print(
        f"{result['rows']:,} rows ({result['mib']} MiB): landing {result['landing_rows_per_s']:,} rows/s, "
        f"DuckDB Arrow append {result['duckdb_arrow_append_rows_per_s']:,} rows/s, ratio {result['ratio']}"
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
