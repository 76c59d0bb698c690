"""The expectation suites of the gate: one per dataset that `batches.read_landed_batches` builds.

Each expectation carries `meta.check` (schema, range, uniqueness, freshness, manifest) and `meta.expects` (the
sentence a failure report quotes), so a report reads as what was expected, not as a GE class name.
"""

from __future__ import annotations

from dataclasses import dataclass

import great_expectations.expectations as gxe
from great_expectations.expectations.expectation import Expectation

from hcp.quality.rules import READING_BOUNDS

CHECKS = ("schema", "range", "uniqueness", "freshness", "manifest")


@dataclass(frozen=True)
class DatasetSuite:
    """The expectations of one dataset and the columns that identify a failing row in a report."""

    dataset: str
    expectations: tuple[Expectation, ...]
    id_columns: tuple[str, ...]


def _meta(check: str, expects: str) -> dict:
    return {"check": check, "expects": expects}


def files_suite() -> DatasetSuite:
    expectations = (
        gxe.ExpectColumnValuesToBeInSet(
            column="unreadable", value_set=[""], meta=_meta("schema", "every landing file is readable Parquet")
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="missing_columns",
            value_set=[""],
            meta=_meta("schema", "every landing file has every landing column"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="unexpected_columns", value_set=[""], meta=_meta("schema", "no landing file has extra columns")
        ),
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="file_rows",
            column_B="manifest_rows",
            ignore_row_if="either_value_is_missing",
            meta=_meta("manifest", "a loaded file still holds the rows raw.loaded_files registered for it"),
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="offset_min",
            column_B="first_offset",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=_meta("manifest", "a file holds no offset below the first offset its name promises"),
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="last_offset",
            column_B="offset_max",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=_meta("manifest", "a file holds no offset above the last offset its name promises"),
        ),
    )
    return DatasetSuite("files", expectations, ("path",))


def topics_suite(max_age_hours: float) -> DatasetSuite:
    expectations = (
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="raw_rows",
            column_B="manifest_rows_inserted",
            ignore_row_if="either_value_is_missing",
            meta=_meta("manifest", "each raw table holds exactly the rows raw.loaded_files says were inserted"),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="fresh_topic_age_hours",
            max_value=max_age_hours,
            meta=_meta("freshness", f"each always-on topic landed a file in the last {max_age_hours:g} h"),
        ),
    )
    return DatasetSuite("topics", expectations, ("topic",))


def messages_suite() -> DatasetSuite:
    expectations = (
        gxe.ExpectColumnValuesToNotBeNull(column="event_id", meta=_meta("schema", "every message has an event id")),
        gxe.ExpectColumnValuesToBeInSet(
            column="has_event_time", value_set=[True], meta=_meta("schema", "every message has an event time")
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="missing_fields",
            value_set=[""],
            meta=_meta("schema", "every message value is JSON with every field its record class requires"),
        ),
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=["topic", "event_id"],
            meta=_meta("uniqueness", "an event id names one message of its topic (identical retries count once)"),
        ),
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=["topic", "partition", "offset"],
            meta=_meta("uniqueness", "a (topic, partition, offset) holds one message"),
        ),
    )
    return DatasetSuite("messages", expectations, ("topic", "path", "event_id"))


def readings_suite(topic: str) -> DatasetSuite:
    expectations: list[Expectation] = []
    for name, (low, high) in READING_BOUNDS[topic].items():
        if low is not None:
            expectations.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=f"min_{name}", min_value=low, meta=_meta("range", f"every reading has {name} >= {low:g}")
                )
            )
        if high is not None:
            expectations.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=f"max_{name}", max_value=high, meta=_meta("range", f"every reading has {name} <= {high:g}")
                )
            )
    ids = ("path", "event_id", *(f"lowest_{name}_device" for name in READING_BOUNDS[topic]))
    return DatasetSuite(f"readings.{topic}", tuple(expectations), ids)


def suite_for(dataset: str, max_age_hours: float) -> DatasetSuite:
    """The suite of a dataset name that `read_landed_batches` produces."""
    if dataset == "files":
        return files_suite()
    if dataset == "topics":
        return topics_suite(max_age_hours)
    if dataset == "messages":
        return messages_suite()
    kind, _, topic = dataset.partition(".")
    if kind == "readings":
        return readings_suite(topic)
    raise KeyError(f"no suite for dataset {dataset!r}")
