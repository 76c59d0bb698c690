"""Checks on input frames shared by the models: the columns they need and the history they must span."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polars as pl

from models.exceptions import InputDataError


def require_columns(frame: pl.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise `InputDataError` naming every column of `columns` that `frame` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputDataError(
            f"{what} lacks column(s) {', '.join(missing)}; it has {', '.join(frame.columns) or 'no columns'}"
        )


def read_csv(path: Path, what: str, columns: Iterable[str]) -> pl.DataFrame:
    """Read a CSV and check its columns; errors name the file and what is wrong with it."""
    if not path.is_file():
        raise InputDataError(f"{what} file not found: {path}")
    try:
        frame = pl.read_csv(path, infer_schema_length=10_000)
    except (pl.exceptions.PolarsError, OSError, ValueError) as err:
        raise InputDataError(f"cannot read {what} file {path}: {err}") from err
    require_columns(frame, columns, f"{what} file {path}")
    return frame
