"""Reading the backtest's recorded files with polars, with a clear `ConfigError` for every way they can be wrong.

Timestamps are read as naive Central prevailing times, as written in the files (no DST flags): real-time stamps
are interval starts, day-ahead stamps hour endings. Both are kept naive, so they line up without conversion.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from hcp.exceptions import ConfigError
from hcp.fleet import read_yaml_model

TIME_COLUMN = "datetime_col"
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class AsicGroup(BaseModel):
    """`count` miners of one model with its nameplate figures."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(min_length=1)
    count: int = Field(ge=1, le=10_000_000)
    hashrate_th: float = Field(gt=0, le=100_000)
    power_w: float = Field(gt=0, le=1_000_000)

    @property
    def joules_per_th(self) -> float:
        return self.power_w / self.hashrate_th


class BacktestFleet(BaseModel):
    """The fleet file of `hcp backtest`: `asic_models: [{name, count, hashrate_th, power_w}]`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    asic_models: tuple[AsicGroup, ...] = Field(min_length=1)


def parse_month(text: str) -> tuple[int, int]:
    """`YYYY-MM` as (year, month)."""
    match = _MONTH.match(text.strip())
    if not match:
        raise ConfigError(f"month must look like YYYY-MM (e.g. 2023-01), got {text!r}")
    return int(match.group(1)), int(match.group(2))


def read_fleet(path: Path) -> BacktestFleet:
    """Read and validate a backtest fleet YAML file."""
    fleet = read_yaml_model(path, BacktestFleet)
    names = [group.name for group in fleet.asic_models]
    if len(names) != len(set(names)):
        raise ConfigError(f"fleet file {path} names a model twice: {', '.join(names)}")
    return fleet


def read_node_prices(path: Path, node: str, label: str) -> pl.DataFrame:
    """One node's column of an ERCOT wide CSV as `ts` (naive local time) and `price`, in file order."""
    frame = _read_csv(path, label)
    if TIME_COLUMN not in frame.columns:
        raise ConfigError(f"{label} file {path} has no {TIME_COLUMN} column (columns: {', '.join(frame.columns)})")
    if node not in frame.columns:
        known = ", ".join(c for c in frame.columns if c != TIME_COLUMN)
        raise ConfigError(f"unknown node {node!r} in {label} file {path}; known nodes: {known}")
    stamps = _parse_column(frame, TIME_COLUMN, pl.Datetime("us"), path, label)
    prices = _parse_column(frame, node, pl.Float64, path, label)
    return pl.DataFrame({"ts": stamps, "price": prices})


def read_hashprice(path: Path) -> pl.DataFrame:
    """The daily hashprice file as `day` (date) and `hashprice` (USD per PH/s per day), sorted by day."""
    frame = _read_csv(path, "hashprice")
    for column in ("date", "hashprice_usd_per_ph_day"):
        if column not in frame.columns:
            raise ConfigError(f"hashprice file {path} has no {column} column (columns: {', '.join(frame.columns)})")
    days = _parse_column(frame, "date", pl.Date, path, "hashprice")
    values = _parse_column(frame, "hashprice_usd_per_ph_day", pl.Float64, path, "hashprice")
    return pl.DataFrame({"day": days, "hashprice": values}).drop_nulls().unique("day", keep="last").sort("day")


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """First day of the month and first day of the next."""
    return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)


def _read_csv(path: Path, label: str) -> pl.DataFrame:
    if not path.is_file():
        raise ConfigError(f"{label} file not found: {path}")
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{label} file {path} is not a readable CSV: {err}") from err
    if frame.height == 0:
        raise ConfigError(f"{label} file {path} has no rows")
    return frame


def _parse_column(frame: pl.DataFrame, column: str, dtype: pl.DataType, path: Path, label: str) -> pl.Series:
    text = frame[column].str.strip_chars()
    if dtype == pl.Float64:
        parsed = text.cast(pl.Float64, strict=False)
    elif dtype == pl.Date:
        parsed = text.str.to_date("%Y-%m-%d", strict=False)
    else:
        parsed = text.str.to_datetime(time_unit="us", strict=False)
    unparsable = (text.is_not_null() & (text != "") & parsed.is_null()).arg_true()
    if len(unparsable):
        first = int(unparsable[0])
        raise ConfigError(
            f"{label} file {path}: {len(unparsable)} unparsable value(s) in column {column}, "
            f"first {frame[column][first]!r} on data row {first + 1}"
        )
    return parsed.alias(column)
