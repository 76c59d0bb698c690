"""The landing contract: every topic is written as append-only Parquet files, one file per offset range.

A file is `<root>/<topic>/partition=<p>/<first offset>-<last offset>.parquet` (offsets zero-padded), written to
a temporary name and renamed into place. The writer skips offsets at or below the highest offset already landed
for the partition, so landing the same offsets twice (after a crash, a rebalance or a replay) changes nothing.
Streams write these files and never open the warehouse; the warehouse loader reads them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

LANDING_SCHEMA = pa.schema(
    [
        pa.field("topic", pa.string(), nullable=False),
        pa.field("partition", pa.int32(), nullable=False),
        pa.field("offset", pa.int64(), nullable=False),
        pa.field("key", pa.string()),
        pa.field("kafka_timestamp_ms", pa.int64()),
        pa.field("event_id", pa.string()),
        pa.field("event_time", pa.timestamp("us", tz="UTC")),
        pa.field("value", pa.binary()),
        pa.field("headers", pa.map_(pa.string(), pa.binary())),
        pa.field("landed_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

_FILE_NAME = re.compile(r"^(\d{20})-(\d{20})\.parquet$")
_PARTITION_DIR = re.compile(r"^partition=(\d+)$")


@dataclass(frozen=True)
class LandedMessage:
    """One Kafka message as landed. `event_id` and `event_time` are empty for dead letters."""

    topic: str
    partition: int
    offset: int
    key: str | None
    kafka_timestamp_ms: int | None
    event_id: str | None
    event_time: datetime | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class LandingFile:
    """A landed file and the offset range its name promises."""

    path: Path
    topic: str
    partition: int
    first_offset: int
    last_offset: int


def landing_file_path(root: Path, topic: str, partition: int, first: int, last: int) -> Path:
    return root / topic / f"partition={partition}" / f"{first:020d}-{last:020d}.parquet"


def iter_landing_files(root: Path, topic: str | None = None) -> Iterator[LandingFile]:
    """Every complete landing file under `root` (optionally of one topic), in topic, partition, offset order."""
    topics = [root / topic] if topic else sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []
    for topic_dir in topics:
        if not topic_dir.is_dir():
            continue
        for part_dir in sorted(topic_dir.iterdir()):
            match = _PARTITION_DIR.match(part_dir.name)
            if not match:
                continue
            for path in sorted(part_dir.iterdir()):
                name = _FILE_NAME.match(path.name)
                if name:
                    yield LandingFile(
                        path, topic_dir.name, int(match.group(1)), int(name.group(1)), int(name.group(2))
                    )


def landed_high_watermark(root: Path, topic: str, partition: int) -> int:
    """Highest offset landed for a partition, -1 if none."""
    part_dir = root / topic / f"partition={partition}"
    if not part_dir.is_dir():
        return -1
    lasts = [int(m.group(2)) for p in part_dir.iterdir() if (m := _FILE_NAME.match(p.name))]
    return max(lasts, default=-1)


class LandingWriter:
    """Writes batches of one partition's messages as landing files, idempotently by offset."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._high_watermarks: dict[tuple[str, int], int] = {}

    def high_watermark(self, topic: str, partition: int) -> int:
        key = (topic, partition)
        if key not in self._high_watermarks:
            self._high_watermarks[key] = landed_high_watermark(self.root, topic, partition)
        return self._high_watermarks[key]

    def write(self, topic: str, partition: int, messages: Sequence[LandedMessage]) -> Path | None:
        """Land the messages above the partition's high watermark; return the file written, if any."""
        watermark = self.high_watermark(topic, partition)
        fresh = sorted((m for m in messages if m.offset > watermark), key=lambda m: m.offset)
        if not fresh:
            return None
        first, last = fresh[0].offset, fresh[-1].offset
        path = landing_file_path(self.root, topic, partition, first, last)
        path.parent.mkdir(parents=True, exist_ok=True)
        landed_at = datetime.now(UTC)
        table = pa.table(
            {
                "topic": [m.topic for m in fresh],
                "partition": [m.partition for m in fresh],
                "offset": [m.offset for m in fresh],
                "key": [m.key for m in fresh],
                "kafka_timestamp_ms": [m.kafka_timestamp_ms for m in fresh],
                "event_id": [m.event_id for m in fresh],
                "event_time": [m.event_time for m in fresh],
                "value": [m.value for m in fresh],
                "headers": [list(m.headers) for m in fresh],
                "landed_at": [landed_at] * len(fresh),
            },
            schema=LANDING_SCHEMA,
        )
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        pq.write_table(table, tmp, compression="zstd")
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        tmp.replace(path)
        self._high_watermarks[(topic, partition)] = last
        return path
