"""Fault: the control worker is killed with SIGKILL while two jobs run, then started again.

A real `hcp worker --role control` on the embedded broker, with a one-site fleet of two 8-GPU H100 nodes. Two
8-GPU jobs are placed (one on each node), the worker is killed at once (their offsets may not be committed, so
they may be delivered again), and a new worker starts. It must know both jobs: a third 8-GPU job waits instead of
being placed on a busy node, and when the first job's time is up its node goes to the waiting job. No job gets
two different placements (a redelivered request either is skipped or repeats the same decision id).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from hcp.processes import stop_process, wait_until_group_stable
from hcp.records import Decision, DecisionKind, WorkloadRequest
from hcp.settings import WorkerSettings
from hcp.topics import DECISIONS, WORKLOAD_REQUESTS

from .conftest import report_figures, show_log_on_failure, start_worker

pytestmark = [pytest.mark.integration, pytest.mark.fault]

GROUP = WorkerSettings(role="control").group_id
T0 = datetime(2023, 1, 16, 12, tzinfo=UTC)
FLEET_YAML = """\
sites:
  - site_id: gpu-1
    node: HB_WEST
    power_cap_mw: 1.0
    asics:
      - {model: S21, count: 10}
    gpus:
      - {model: H100, count: 16}
customers:
  - customer_id: acme
"""


def job_request(job_id: str, at: datetime, duration_s: float) -> WorkloadRequest:
    return WorkloadRequest(
        event_id=f"req:{job_id}", event_time=at, job_id=job_id, customer_id="acme", gpu_type="H100", gpu_count=8,
        priority=5, qos_class="Guaranteed", preemptible=False, expected_duration_s=duration_s,
    )


class DecisionReader:
    """Every decision on the topic from the beginning, read without joining a group."""

    def __init__(self, config: dict[str, str]) -> None:
        self.consumer = Consumer(config | {"group.id": "fault-control-restart-reader", "enable.auto.commit": False})
        partitions = self.consumer.list_topics(DECISIONS, timeout=10).topics[DECISIONS].partitions
        self.consumer.assign([TopicPartition(DECISIONS, p, OFFSET_BEGINNING) for p in partitions])
        self.seen: list[Decision] = []

    def wait_for(self, job_id: str, kind: DecisionKind, timeout: float = 90.0) -> Decision:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [d for d in self.seen if d.subject == job_id and d.kind is kind]
            if found:
                return found[0]
            for message in self.consumer.consume(num_messages=100, timeout=0.5):
                if message.error() is None:
                    self.seen.append(Decision.model_validate_json(message.value()))
        raise AssertionError(f"no {kind.value} decision for {job_id} within {timeout:.0f} s; seen {self.about()}")

    def about(self) -> list[tuple[str, str, str | None]]:
        return [(d.subject, d.kind.value, d.decision_id) for d in self.seen if d.kind is not DecisionKind.POWER_MIX]


def send(producer: Producer, request: WorkloadRequest) -> None:
    # One key: one partition, so the worker reads the requests in the order sent.
    producer.produce(WORKLOAD_REQUESTS, key=b"gpu-1", value=request.to_json())
    assert producer.flush(10) == 0


def node_of(decision: Decision) -> str:
    """The node of a placement, from its reason (`... GPU on <node> (GPU ...)`)."""
    return decision.reason.split(" GPU on ")[1].split(" ")[0]


def test_control_worker_killed_and_restarted_knows_its_running_jobs(fault_platform, tmp_path: Path):
    platform = fault_platform
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(FLEET_YAML)
    platform.env["HCP_FLEET_FILE"] = str(fleet_file)
    producer = Producer(platform.broker.librdkafka_config() | {"enable.idempotence": True})
    reader = DecisionReader(platform.broker.librdkafka_config())
    first = start_worker(platform, "control-a", role="control")
    second = None
    try:
        wait_until_group_stable(platform.broker, GROUP, first, timeout=90)
        send(producer, job_request("short", T0, 600.0))
        send(producer, job_request("long", T0 + timedelta(seconds=1), 86_400.0))
        short = reader.wait_for("short", DecisionKind.PLACEMENT)
        long = reader.wait_for("long", DecisionKind.PLACEMENT)
        killed_at = time.monotonic()
        first.kill()  # at once: the two requests' offsets are most likely not committed yet
        first.wait()

        # No wait for the group: the killed member keeps it "stable" until its session times out, and the
        # request simply waits in the topic until the new worker has the partitions.
        second = start_worker(platform, "control-b", role="control")
        send(producer, job_request("third", T0 + timedelta(seconds=60), 600.0))
        reader.wait_for("third", DecisionKind.QUEUED)
        restart_s = time.monotonic() - killed_at
        send(producer, job_request("fourth", T0 + timedelta(seconds=700), 600.0))  # "short" is due at T0 + 600 s
        third = reader.wait_for("third", DecisionKind.PLACEMENT)
        reader.wait_for("fourth", DecisionKind.QUEUED)
    except BaseException:
        show_log_on_failure(platform, "control-a")
        show_log_on_failure(platform, "control-b")
        raise
    finally:
        stop_process(first, timeout=10)
        if second is not None:
            stop_process(second, timeout=10)
        reader.consumer.close()

    report_figures(
        "control_worker_sigkill", kill_to_first_decision_after_restart_s=round(restart_s, 1),
        decisions=len(reader.about()),
    )
    assert node_of(short) != node_of(long)
    assert node_of(third) == node_of(short)  # the node the pre-restart job freed, not the busy one
    placements: dict[str, set[str]] = {}
    for decision in reader.seen:
        if decision.kind is DecisionKind.PLACEMENT:
            placements.setdefault(decision.subject, set()).add(decision.decision_id)
    assert placements == {job_id: {placement.decision_id} for job_id, placement in
                          (("short", short), ("long", long), ("third", third))}, reader.about()
