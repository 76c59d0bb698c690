"""The producers' ledger of every event they sent, and the check of that ledger against the landing files.

Simulators append one line per event (id, topic, key, SHA-256 of the value). `check_ledger` reports events that
were produced but never landed (lost), landed more than once (duplicated) or landed with other bytes (altered).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import polars as pl

from hcp.landing import iter_landing_files


def value_digest(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


class LedgerWriter:
    """Appends ledger lines to `<dir>/<run_id>.jsonl`."""

    def __init__(self, ledger_dir: Path, run_id: str) -> None:
        ledger_dir.mkdir(parents=True, exist_ok=True)
        self.path = ledger_dir / f"{run_id}.jsonl"
        self._handle = self.path.open("a", encoding="utf-8")
        self.count = 0

    def record(self, event_id: str, topic: str, key: str | None, value: bytes) -> None:
        line = {"event_id": event_id, "topic": topic, "key": key, "sha256": value_digest(value)}
        self._handle.write(json.dumps(line, separators=(",", ":")) + "\n")
        self.count += 1

    def close(self) -> None:
        self._handle.flush()
        self._handle.close()

    def __enter__(self) -> LedgerWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_ledger(path: Path) -> pl.DataFrame:
    """A ledger file as a frame of event_id, topic, key, sha256."""
    schema = {"event_id": pl.String, "topic": pl.String, "key": pl.String, "sha256": pl.String}
    if path.stat().st_size == 0:
        return pl.DataFrame(schema=schema)
    return pl.read_ndjson(path, schema=schema)


def read_landed(landing_root: Path, topics: set[str]) -> pl.DataFrame:
    """Landed rows of `topics`: topic, partition, offset, event_id and the SHA-256 of each value."""
    files = [f.path for f in iter_landing_files(landing_root) if f.topic in topics]
    if not files:
        return pl.DataFrame(
            schema={"topic": pl.String, "partition": pl.Int32, "offset": pl.Int64, "event_id": pl.String,
                    "sha256": pl.String}
        )
    frame = pl.read_parquet(files, columns=["topic", "partition", "offset", "event_id", "value"])
    digests = [value_digest(v) if v is not None else None for v in frame["value"].to_list()]
    return frame.drop("value").with_columns(pl.Series("sha256", digests, dtype=pl.String))


@dataclass(frozen=True)
class LedgerReport:
    """What the ledger check found, per topic and in total."""

    produced: int
    landed: int
    lost: int
    duplicated: int
    altered: int
    by_topic: dict[str, dict[str, int]]
    lost_event_ids: tuple[str, ...]
    duplicated_event_ids: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.altered == 0


def check_ledger(ledger: pl.DataFrame, landing_root: Path) -> LedgerReport:
    """Compare produced events with landed rows, by event id within each topic."""
    return compare_events(ledger, read_landed(landing_root, set(ledger["topic"].unique().to_list())))


def compare_events(ledger: pl.DataFrame, landed: pl.DataFrame) -> LedgerReport:
    """Compare produced events with the rows found somewhere (columns topic, event_id, sha256), per topic."""
    produced = ledger.unique(subset=["topic", "event_id"], keep="first")
    counts = landed.group_by("topic", "event_id").agg(
        pl.len().alias("times"), pl.col("sha256").first().alias("landed_sha256")
    )
    joined = produced.join(counts, on=["topic", "event_id"], how="left")
    lost = joined.filter(pl.col("times").is_null())
    duplicated = joined.filter(pl.col("times") > 1)
    altered = joined.filter(pl.col("times").is_not_null() & (pl.col("landed_sha256") != pl.col("sha256")))
    by_topic: dict[str, dict[str, int]] = {}
    for topic in sorted(produced["topic"].unique().to_list()):
        by_topic[topic] = {
            "produced": produced.filter(pl.col("topic") == topic).height,
            "landed": landed.filter(pl.col("topic") == topic).height,
            "lost": lost.filter(pl.col("topic") == topic).height,
            "duplicated": duplicated.filter(pl.col("topic") == topic).height,
            "altered": altered.filter(pl.col("topic") == topic).height,
        }
    return LedgerReport(
        produced=produced.height,
        landed=landed.height,
        lost=lost.height,
        duplicated=duplicated.height,
        altered=altered.height,
        by_topic=by_topic,
        lost_event_ids=tuple(lost["event_id"].head(20).to_list()),
        duplicated_event_ids=tuple(duplicated["event_id"].head(20).to_list()),
    )
