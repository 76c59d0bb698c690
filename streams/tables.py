"""Faust tables with JSON keys and values (the app's default serializer is raw bytes)."""

from __future__ import annotations

import faust


def json_table(app: faust.App, name: str, partitions: int, help_text: str) -> faust.Table:
    """A table whose keys and values are JSON, with as many partitions as the topic that feeds it."""
    return app.Table(
        name,
        partitions=partitions,
        schema=faust.Schema(key_serializer="json", value_serializer="json"),
        help=help_text,
    )
