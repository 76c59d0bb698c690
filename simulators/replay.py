"""Replay of recorded market files (the shapes of ../shared/data, see its README) with the publication rule of
`simulators.market`: ERCOT wide CSVs (`datetime_col` in Central prevailing time, then one column per node;
real-time stamped at interval start, day-ahead hour-ending), a daily hashprice CSV, and GPU rental JSONL files.

The GPU rental recordings cover another period than the energy files: their hourly medians are replayed from
the simulation start onwards, in recorded order, repeating when exhausted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from hcp.economics import GPU_MODELS
from hcp.exceptions import ConfigError
from hcp.records import PriceKind, PriceTick
from simulators.ticks import (
    DAY,
    HOUR,
    MARKET_TZ_NAME,
    da_publication,
    floor_time,
    make_tick,
    operating_day,
    sort_ticks,
    utc_midnight,
)

log = logging.getLogger(__name__)

_Row = tuple[datetime, PriceKind, str | None, datetime, datetime, float]


def read_wide_prices(path: Path, nodes: Sequence[str]) -> pl.DataFrame:
    """An ERCOT wide CSV as columns `ts` (UTC) and one per node, sorted; `ConfigError` if unreadable."""
    frame = _read(path, lambda: pl.read_csv(path, try_parse_dates=True))
    if "datetime_col" not in frame.columns:
        raise ConfigError(f"{path} has no datetime_col column")
    unknown = [node for node in nodes if node not in frame.columns]
    if unknown:
        known = ", ".join(c for c in frame.columns if c != "datetime_col")
        raise ConfigError(f"unknown node(s) {', '.join(unknown)} in {path}; known: {known}")
    stamps = pl.col("datetime_col")
    if frame.schema["datetime_col"] == pl.String:
        stamps = stamps.str.to_datetime()
    # The files do not mark the repeated autumn hour; both copies map to its first occurrence and the second
    # is dropped, and spring's missing hour does not exist.
    return (
        frame.select(
            stamps.dt.replace_time_zone(MARKET_TZ_NAME, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC")
            .alias("ts"),
            *[pl.col(node).cast(pl.Float64) for node in nodes],
        )
        .drop_nulls("ts")
        .unique("ts", keep="first")
        .sort("ts")
    )


def _read(path: Path, reader: Callable[[], pl.DataFrame]) -> pl.DataFrame:
    if not path.is_file():
        raise ConfigError(f"file not found: {path}")
    try:
        return reader()
    except (pl.exceptions.PolarsError, OSError, ValueError) as err:
        raise ConfigError(f"cannot read {path}: {err}") from err


def read_gpu_hourly_medians(folder: Path) -> dict[str, list[float]]:
    """Hourly medians of `price_stats.median` per GPU type, from `<type>.jsonl` or `<type>_*.jsonl` files."""
    if not folder.is_dir():
        raise ConfigError(f"GPU price folder not found: {folder}")
    schema = {"timestamp": pl.String, "price_stats": pl.Struct({"median": pl.Float64})}
    series: dict[str, list[float]] = {}
    for gpu_type in GPU_MODELS:
        files = sorted({*folder.glob(f"{gpu_type}.jsonl"), *folder.glob(f"{gpu_type}_*.jsonl")})
        if not files:
            log.warning("no rental prices for %s in %s: none will be published", gpu_type, folder)
            continue
        frame = pl.concat([_read(f, lambda f=f: pl.read_ndjson(f, schema=schema)) for f in files])
        hourly = (
            frame.select(
                pl.col("timestamp").str.to_datetime(time_zone="UTC").dt.truncate("1h").alias("hour"),
                pl.col("price_stats").struct.field("median").alias("median"),
            )
            .drop_nulls()
            .group_by("hour")
            .agg(pl.col("median").median())
            .sort("hour")
        )
        if hourly.height:
            series[gpu_type] = hourly["median"].to_list()
    if not series:
        raise ConfigError(f"{folder} holds no GPU rental prices for {', '.join(GPU_MODELS)}")
    return series


class ReplayMarket:
    """Recorded prices for `nodes` from `start`, published as the real market would have published them."""

    def __init__(
        self,
        rt_file: Path,
        da_file: Path,
        hashprice_file: Path,
        gpu_prices_dir: Path | None,
        nodes: Sequence[str],
        start: datetime,
    ) -> None:
        if start.tzinfo is None:
            raise ConfigError("the market start must be timezone-aware")
        self.nodes = tuple(nodes)
        rows = (
            self._rt_rows(rt_file, start) + self._da_rows(da_file, start) + self._hashprice_rows(hashprice_file, start)
        )
        self._rows = sorted(rows, key=lambda r: r[0])
        self._cursor = 0
        self._gpu_series = read_gpu_hourly_medians(gpu_prices_dir) if gpu_prices_dir else {}
        self._gpu_first_hour = floor_time(start, 3600)
        self._next_gpu_hour = self._gpu_first_hour

    def _rt_rows(self, path: Path, start: datetime) -> list[_Row]:
        frame = read_wide_prices(path, self.nodes)
        steps = frame["ts"].diff().drop_nulls()
        if not len(steps):
            raise ConfigError(f"{path} has fewer than two rows")
        interval: timedelta = steps.mode().sort()[0]
        covering = frame.filter((pl.col("ts") <= start) & (pl.col("ts") + interval > start))
        if not covering.height:
            span = f"{frame['ts'].min()} .. {frame['ts'].max()}" if frame.height else "nothing"
            raise ConfigError(f"{path} has no real-time price at {start.isoformat()} (it covers {span})")
        frame = frame.filter(pl.col("ts") > start - 2 * interval)
        return [
            (ts + interval, PriceKind.ENERGY_RT, node, ts, ts + interval, value)
            for node in self.nodes
            for ts, value in frame.select("ts", node).drop_nulls().iter_rows()
        ]

    def _da_rows(self, path: Path, start: datetime) -> list[_Row]:
        frame = read_wide_prices(path, self.nodes).with_columns((pl.col("ts") - HOUR).alias("begins"))
        first_day = operating_day(start)
        rows: list[_Row] = []
        days: set[date] = set()
        for node in self.nodes:
            for begins, ends, value in frame.select("begins", "ts", node).drop_nulls().iter_rows():
                day = operating_day(begins)
                if day >= first_day:
                    days.add(day)
                    rows.append((da_publication(day), PriceKind.ENERGY_DA, node, begins, ends, value))
        if first_day not in days:
            raise ConfigError(f"{path} has no day-ahead prices for operating day {first_day}")
        return rows

    def _hashprice_rows(self, path: Path, start: datetime) -> list[_Row]:
        frame = _read(path, lambda: pl.read_csv(path, try_parse_dates=True))
        if not {"date", "hashprice_usd_per_ph_day"} <= set(frame.columns):
            raise ConfigError(f"{path} needs columns date,hashprice_usd_per_ph_day")
        yesterday = start.astimezone(UTC).date() - DAY
        frame = frame.filter(pl.col("date") >= yesterday).drop_nulls().sort("date")
        if not frame.height or frame["date"][0] != yesterday:
            raise ConfigError(f"{path} has no hashprice for {yesterday}, the day before the start")
        return [
            (utc_midnight(day) + DAY, PriceKind.HASHPRICE, None, utc_midnight(day), utc_midnight(day) + DAY, value)
            for day, value in frame.select("date", "hashprice_usd_per_ph_day").iter_rows()
        ]

    def ticks_due(self, now: datetime) -> list[PriceTick]:
        """Every recorded tick published at or before `now` and not returned yet, in publication order."""
        ticks: list[PriceTick] = []
        while self._cursor < len(self._rows) and self._rows[self._cursor][0] <= now:
            published, kind, node, begins, ends, value = self._rows[self._cursor]
            ticks.append(make_tick(kind, begins, ends, value, published, node=node))
            self._cursor += 1
        while self._gpu_series and self._next_gpu_hour <= now:
            hour, index = self._next_gpu_hour, int((self._next_gpu_hour - self._gpu_first_hour) / HOUR)
            for gpu_type, values in self._gpu_series.items():
                value = values[index % len(values)]
                ticks.append(make_tick(PriceKind.GPU_RENTAL, hour, hour + HOUR, value, hour, gpu_type=gpu_type))
            self._next_gpu_hour += HOUR
        return sort_ticks(ticks)
