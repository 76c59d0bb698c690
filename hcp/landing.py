"""The landing contract: every topic is written as append-only Parquet files, one file per offset range.

A file is `<root>/<topic>/partition=<p>/<first offset>-<last offset>.parquet` (offsets zero-padded), written to
a temporary name and renamed into place. The writer skips offsets inside the ranges already landed for the
partition (the files' names), so landing the same offsets twice (after a crash, a rebalance or a replay) changes
nothing, and offsets redelivered after later ones (a consumer sought back past a gap) still land.
Streams write these files and never open the warehouse; the warehouse loader reads them.
"""

from __future__ import annotations

import json
import os
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
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
    return landed_ranges(root, topic, partition).high


class LandedRanges:
    """The offset ranges landed for one partition (each file's name: first to last), merged where they touch.

    A file's range covers the messages it holds and the offsets of its batch that were dead-lettered instead
    (beside or between them).
    """

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()) -> None:
        self._firsts: list[int] = []
        self._lasts: list[int] = []
        for first, last in sorted(ranges):
            self.add(first, last)

    @property
    def high(self) -> int:
        """The highest offset landed, -1 if none."""
        return self._lasts[-1] if self._lasts else -1

    def ranges(self) -> list[tuple[int, int]]:
        return list(zip(self._firsts, self._lasts, strict=True))

    def covers(self, offset: int) -> bool:
        i = bisect_right(self._firsts, offset) - 1
        return i >= 0 and offset <= self._lasts[i]

    def landed_between(self, low: int, high: int) -> bool:
        """Whether a landed range starts strictly between two offsets (a file may not span it)."""
        i = bisect_right(self._firsts, low)
        return i < len(self._firsts) and self._firsts[i] < high

    def add(self, first: int, last: int) -> None:
        i = bisect_right(self._firsts, first)
        if i > 0 and self._lasts[i - 1] >= first - 1:  # touches the range before
            i -= 1
            first, last = self._firsts[i], max(last, self._lasts[i])
            del self._firsts[i], self._lasts[i]
        while i < len(self._firsts) and self._firsts[i] <= last + 1:  # and those after
            last = max(last, self._lasts[i])
            del self._firsts[i], self._lasts[i]
        self._firsts.insert(i, first)
        self._lasts.insert(i, last)


def landed_ranges(root: Path, topic: str, partition: int) -> LandedRanges:
    """The offset ranges landed for a partition, from its files' names."""
    part_dir = root / topic / f"partition={partition}"
    if not part_dir.is_dir():
        return LandedRanges()
    return LandedRanges(
        (int(m.group(1)), int(m.group(2))) for p in part_dir.iterdir() if (m := _FILE_NAME.match(p.name))
    )


EPOCHS_FILE = "_epochs.json"


def epoch_base(root: Path, topic: str, partition: int, epoch: str) -> int:
    """Landed offset of broker offset 0 of `epoch` for a partition; a new epoch starts after the last landed.

    Kept in `<partition dir>/_epochs.json` (epoch -> base), written atomically the first time an epoch lands.
    Without a broker restart there is one epoch and its base is 0: landed offsets are the broker's offsets.
    """
    part_dir = root / topic / f"partition={partition}"
    path = part_dir / EPOCHS_FILE
    bases: dict[str, int] = json.loads(path.read_text()) if path.is_file() else {}
    if epoch not in bases:
        bases[epoch] = landed_high_watermark(root, topic, partition) + 1
        part_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{EPOCHS_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(bases))
        tmp.replace(path)
    return bases[epoch]


class LandingWriter:
    """Writes batches of one partition's messages as landing files, idempotently by offset.

    With a broker `epoch` (see `hcp.epochs`), message offsets are the broker's offsets in that epoch and land
    shifted by the epoch's base, so a restarted broker's offsets never collide with those landed before.
    """

    def __init__(self, root: Path, epoch: str | None = None) -> None:
        self.root = root
        self.epoch = epoch
        self._landed: dict[tuple[str, int], LandedRanges] = {}
        self._bases: dict[tuple[str, int], int] = {}

    def offset_base(self, topic: str, partition: int) -> int:
        """What to add to a broker offset of this writer's epoch to get its landed offset (0 without epochs)."""
        if self.epoch is None:
            return 0
        key = (topic, partition)
        if key not in self._bases:
            self._bases[key] = epoch_base(self.root, topic, partition, self.epoch)
        return self._bases[key]

    def is_landed(self, topic: str, partition: int, broker_offset: int) -> bool:
        """Whether the message at this broker offset (of this writer's epoch) has landed already."""
        return self.landed(topic, partition).covers(broker_offset + self.offset_base(topic, partition))

    def landed(self, topic: str, partition: int) -> LandedRanges:
        """The partition's landed ranges: read from its files' names once, then kept up to date by `write`."""
        key = (topic, partition)
        if key not in self._landed:
            self._landed[key] = landed_ranges(self.root, topic, partition)
        return self._landed[key]

    def forget_landed_ranges(self, topic_partitions: Iterable[tuple[str, int]]) -> None:
        """Read these partitions' landed ranges from disk again before their next write.

        Call it when the partitions are revoked: another worker may land them before they come back, and ranges
        cached from before would let this writer land that worker's offsets a second time.
        """
        for key in topic_partitions:
            self._landed.pop((key[0], key[1]), None)

    def write(
        self, topic: str, partition: int, messages: Sequence[LandedMessage], rejected: Iterable[int] = ()
    ) -> list[Path]:
        """Land the messages whose offsets have not landed; return the files written (none if all had).

        `messages` carry broker offsets; they land at broker offset + the epoch's base. `rejected` are the broker
        offsets of the same batch that were dead-lettered instead: a file's name spans them too where they sit at
        its edges, so that a redelivered batch finds them handled. One file holds consecutive fresh offsets;
        where a landed range lies between two of them (offsets redelivered after later ones had landed), they go
        to separate files, so that no two files' ranges overlap. Rejections with no message beside them write
        no file (their redelivery is dead-lettered again: at least once).
        """
        landed = self.landed(topic, partition)
        base = self.offset_base(topic, partition)
        if base:
            messages = [replace(m, offset=m.offset + base) for m in messages]
        high = landed.high  # above it nothing has landed: the usual case, checked first

        def fresh(offset: int) -> bool:
            return offset > high or not landed.covers(offset)

        # One copy per offset: the consumer was seen to hand over the same message twice in one batch.
        unique = {m.offset: m for m in reversed(messages) if fresh(m.offset)}
        handled = sorted(set(unique) | {o + base for o in rejected if fresh(o + base)})
        runs: list[list[int]] = []
        for offset in handled:
            previous = runs[-1][-1] if runs else None
            if previous is not None and (previous > high or not landed.landed_between(previous, offset)):
                runs[-1].append(offset)
            else:
                runs.append([offset])
        paths = []
        for run in runs:
            held = [unique[o] for o in run if o in unique]
            if held:
                paths.append(self._write_file(topic, partition, run[0], run[-1], held))
                landed.add(run[0], run[-1])
        return paths

    def _write_file(self, topic: str, partition: int, first: int, last: int, fresh: Sequence[LandedMessage]) -> Path:
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
        return path
