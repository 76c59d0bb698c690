from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from hcp.exceptions import ConfigError
from hcp.fleet import Customer, DeviceGroup, Fleet, Site
from hcp.records import QosClass
from simulators.workloads import DURATION_BOUNDS_S, WorkloadGenerator

START = datetime(2023, 1, 16, tzinfo=UTC)


def fleet() -> Fleet:
    return Fleet(
        sites=(
            Site(site_id="s1", node="HB_WEST", power_cap_mw=1, gpus=(DeviceGroup(model="H100", count=6),)),
            Site(site_id="s2", node="HB_WEST", power_cap_mw=1, gpus=(DeviceGroup(model="A100", count=16),)),
        ),
        customers=(Customer(customer_id="big", share=3), Customer(customer_id="small", share=1)),
    )


def generate(jobs_per_hour: float = 400, hours: float = 10, seed: int = 1, **kwargs):
    generator = WorkloadGenerator(fleet(), jobs_per_hour, seed, start=START, **kwargs)
    return generator.requests_due(START + timedelta(hours=hours))


def test_jobs_come_from_the_fleet_customers_by_share():
    jobs = generate()
    counts = Counter(j.customer_id for j in jobs)
    assert set(counts) == {"big", "small"}
    assert counts["big"] / len(jobs) == pytest.approx(0.75, abs=0.04)


def test_poisson_arrivals_match_the_rate_and_are_ordered():
    jobs = generate(jobs_per_hour=400, hours=10)
    assert len(jobs) == pytest.approx(4000, rel=0.06)
    times = [j.event_time for j in jobs]
    assert times == sorted(times) and times[0] > START and times[-1] <= START + timedelta(hours=10)


def test_job_attributes_stay_in_bounds_and_qos_follows_priority():
    jobs = generate()
    largest = {"H100": 6, "A100": 16}
    for job in jobs:
        assert job.gpu_type in largest and 1 <= job.gpu_count <= min(8, largest[job.gpu_type])
        assert DURATION_BOUNDS_S[0] <= job.expected_duration_s <= DURATION_BOUNDS_S[1]
        assert 0 <= job.priority <= 9
        if job.qos_class is QosClass.LS:
            assert not job.preemptible and job.priority >= 7
        if job.preemptible:
            assert job.priority <= 4
    assert {j.priority for j in jobs} == set(range(10))
    assert len({j.job_id for j in jobs}) == len(jobs)
    assert max(j.expected_duration_s for j in jobs) > 3600 > 600 > min(j.expected_duration_s for j in jobs)


def test_same_seed_gives_the_same_jobs():
    assert generate(hours=3, seed=9) == generate(hours=3, seed=9)
    assert generate(hours=3, seed=9) != generate(hours=3, seed=10)


def test_requests_are_returned_once():
    generator = WorkloadGenerator(fleet(), 100, 1, start=START)
    first = generator.requests_due(START + timedelta(hours=1))
    again = generator.requests_due(START + timedelta(hours=1))
    later = generator.requests_due(START + timedelta(hours=2))
    assert first and not again and later
    assert later[0].event_time > first[-1].event_time


def test_arrivals_file_is_replayed_from_start_keeping_time_of_day(tmp_path):
    trace = tmp_path / "genai_requests.csv"
    trace.write_text(
        "gmt_create,predict_type\n2024-11-15 09:30:00,TXT_2_IMG\n2024-11-15 13:00:00,TXT_2_IMG\n"
        "2024-11-16 09:45:00,TXT_2_IMG\n"
    )
    start = START + timedelta(hours=10)
    generator = WorkloadGenerator(fleet(), 0, 1, trace, start=start)
    jobs = generator.requests_due(start + timedelta(days=2))
    expected = [
        START + timedelta(hours=13),
        START + timedelta(days=1, hours=9, minutes=45),
        START + timedelta(days=2, hours=9, minutes=30),
    ]
    assert [j.event_time for j in jobs] == expected


def test_missing_arrivals_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError):
        WorkloadGenerator(fleet(), 10, 1, tmp_path / "absent.csv")
