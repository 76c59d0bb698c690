"""Where the planning flow learns demand from: the landed workload requests of a run, else the trace file."""

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from flows.planning import demand_history
from hcp.records import WorkloadRequest
from models.exceptions import InputDataError

T0 = datetime(2023, 1, 16, tzinfo=UTC)


def land_requests(landing, hours):
    """Two requests an hour (one landed twice, as a redelivery would) as landing Parquet."""
    requests = [
        WorkloadRequest(
            event_id=f"r{h}-{k}", event_time=T0 + timedelta(hours=h, minutes=10 * k), job_id=f"r{h}-{k}",
            customer_id="acme", gpu_type="H100", gpu_count=2, priority=3, preemptible=True, expected_duration_s=900,
        )
        for h in range(hours)
        for k in range(2)
    ]
    rows = [(r.event_id, r.to_json()) for r in requests] + [(requests[0].event_id, requests[0].to_json())]
    folder = landing / "workloads.requests" / "partition=0"
    folder.mkdir(parents=True)
    pl.DataFrame(rows, schema=["event_id", "value"], orient="row").write_parquet(folder / "0-1.parquet")


def test_a_day_of_landed_requests_is_the_demand_history_with_gpu_hours_from_their_durations(tmp_path):
    land_requests(tmp_path / "landing", hours=30)
    hourly, source = demand_history(None, str(tmp_path / "landing"), None)
    assert source.startswith("landing")
    assert len(hourly) == 30
    assert hourly["requests"].to_list() == [2.0] * 30  # the redelivered copy counts once
    assert hourly["gpu_hours"][0] == pytest.approx(2 * 2 * 900 / 3600)


def test_too_short_a_run_without_a_trace_to_fall_back_on_is_refused(tmp_path):
    land_requests(tmp_path / "landing", hours=5)
    with pytest.raises(InputDataError, match="less than 24 hours"):
        demand_history(None, str(tmp_path / "landing"), None)
