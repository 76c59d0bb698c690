"""What the quality gate requires, derived from the record classes, and how its report reads."""

from __future__ import annotations

import pytest

from hcp.quality.report import GateFailure, GateReport
from hcp.quality.rules import READING_BOUNDS, field_bounds, required_fields
from hcp.records import AsicReading, GpuReading
from hcp.topics import DEAD_LETTERS, TELEMETRY_ASIC, TELEMETRY_GPU

pytestmark = pytest.mark.unit


def test_reading_bounds_come_from_the_pydantic_models():
    assert field_bounds(AsicReading, "power_w") == (0.0, 100_000.0)
    assert field_bounds(GpuReading, "utilisation_pct") == (0.0, 100.0)
    assert READING_BOUNDS[TELEMETRY_ASIC]["power_w"][0] == 0.0
    assert READING_BOUNDS[TELEMETRY_GPU]["power_w"] == field_bounds(GpuReading, "power_w")


def test_required_fields_are_the_record_fields_without_defaults():
    fields = required_fields(TELEMETRY_ASIC)

    assert {"event_id", "event_time", "site_id", "readings"} <= set(fields)
    assert "schema_version" not in fields  # it has a default
    assert required_fields(DEAD_LETTERS) == ()


def test_failed_report_names_every_failure_with_its_examples():
    report = GateReport(
        checked_at="2026-11-27T08:00:00+00:00",
        files=3,
        pending_files=1,
        checks=10,
        failures=(
            GateFailure("range", "readings.telemetry.asic", "every reading has power_w >= 0", 1, ("min_power_w=-5.0",)),
            GateFailure("uniqueness", "messages", "an event id names one message", 2, ("event_id=a", "event_id=a")),
        ),
    )

    text = report.describe()
    markdown = report.to_markdown()

    assert not report.passed
    assert text.splitlines()[0] == "quality gate FAILED: 3 landed file(s) (1 not loaded yet), 10 checks, 2 failed"
    assert "[range] readings.telemetry.asic: every reading has power_w >= 0 (1 failing row(s)): min_power_w=-5" in text
    assert "event_id=a; event_id=a" in text
    assert [line for line in markdown.splitlines() if line.startswith(("| range", "| uniqueness"))]
    assert report.to_dict()["passed"] is False


def test_report_without_failures_passes():
    report = GateReport(checked_at="t", files=1, pending_files=0, checks=5)

    assert report.passed
    assert "passed" in report.describe()
