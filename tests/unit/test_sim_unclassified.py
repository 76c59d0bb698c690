"""The workload generator sends a share of jobs without a class, with the CPU and memory typical of their class."""

from datetime import UTC, datetime, timedelta

import pytest

from hcp.fleet import Customer, DeviceGroup, Fleet, Site
from simulators.workloads import TYPICAL_REQUESTS, UNCLASSIFIED_SHARE, WorkloadGenerator, classify_priority

START = datetime(2023, 1, 16, tzinfo=UTC)
FLEET = Fleet(
    sites=(Site(site_id="s1", node="HB_WEST", power_cap_mw=1, gpus=(DeviceGroup(model="H100", count=8),)),),
    customers=(Customer(customer_id="c", share=1),),
)


def test_about_a_fifth_of_jobs_arrive_without_a_class_and_every_job_states_cpu_and_memory():
    jobs = WorkloadGenerator(FLEET, 400, seed=3, start=START).requests_due(START + timedelta(hours=10))
    unclassified = [j for j in jobs if j.qos_class is None]
    assert len(unclassified) / len(jobs) == pytest.approx(UNCLASSIFIED_SHARE, abs=0.03)
    for job in jobs:
        hidden = classify_priority(job.priority).qos_class
        assert (job.cpu_milli, job.memory_mib) in TYPICAL_REQUESTS[hidden]
        assert job.qos_class in (None, hidden)
