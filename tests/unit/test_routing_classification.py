"""Routing workloads that declare no class: the injected classifier's prediction, protection of confident LS."""

from datetime import UTC, datetime, timedelta

import pytest

from hcp.exceptions import ConfigError
from hcp.records.workloads import QosClass, WorkloadRequest
from hcp.routing import DecisionKind, Node, PredictedClass, Router, RouterConfig, job_from_request, resolve_class
from hcp.routing.trace import read_trace_pods

T0 = datetime(2023, 1, 16, 12, tzinfo=UTC)


def request(job_id, priority=1, qos=None, preemptible=True, at=T0):
    return WorkloadRequest(
        event_id=job_id, event_time=at, job_id=job_id, customer_id="acme", gpu_type="H100", gpu_count=1,
        priority=priority, qos_class=qos, preemptible=preemptible, expected_duration_s=3600,
        cpu_milli=11300, memory_mib=49152,
    )


def predicts(qos, probability):
    return lambda _request: PredictedClass(qos, probability)


def test_a_declared_class_is_kept_and_the_classifier_not_asked():
    def fail(_request):
        raise AssertionError("classifier called for a declared class")

    resolved = resolve_class(request("a", qos=QosClass.BE), fail)
    assert resolved.qos_class is QosClass.BE and resolved.note is None


def test_without_a_classifier_an_unclassified_job_is_routed_as_best_effort_and_says_so():
    resolved = resolve_class(request("a"), None)
    assert resolved.qos_class is QosClass.BE
    assert "no classifier loaded" in resolved.note


def test_a_confident_ls_prediction_makes_the_job_not_preemptible_and_says_why():
    job = job_from_request(request("a"), T0, classify=predicts(QosClass.LS, 0.97), ls_confidence=0.8)
    assert job.qos_class is QosClass.LS and not job.preemptible
    assert job.class_note == "class LS predicted (p=0.97); protected from preemption"


def test_an_unsure_ls_prediction_keeps_the_declared_preemptibility():
    job = job_from_request(request("a"), T0, classify=predicts(QosClass.LS, 0.6), ls_confidence=0.8)
    assert job.qos_class is QosClass.LS and job.preemptible
    assert job.class_note == "class LS predicted (p=0.60)"


def run_until_preemption_due(classify):
    """One GPU: an unclassified priority-1 job runs, a priority-9 job arrives after its minimum runtime."""
    config = RouterConfig(min_runtime_s=60)
    router = Router([Node("n1", "H100", 1)], config)
    router.submit(job_from_request(request("low"), T0, classify=classify), T0)
    later = T0 + timedelta(minutes=5)
    urgent = request("urgent", priority=9, qos=QosClass.GUARANTEED, preemptible=False, at=later)
    return router.submit(job_from_request(urgent, later), later)


def test_a_job_predicted_ls_with_confidence_is_not_preempted_for_higher_priority_work():
    decisions = run_until_preemption_due(predicts(QosClass.LS, 0.95))
    assert [d.kind for d in decisions] == [DecisionKind.QUEUED]


def test_a_job_predicted_best_effort_is_preempted_for_higher_priority_work():
    decisions = run_until_preemption_due(predicts(QosClass.BE, 0.95))
    assert DecisionKind.PREEMPTED in [d.kind for d in decisions]


POD_HEADER = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time"
)


def test_trace_pods_without_a_class_take_the_predicted_one_and_say_so(tmp_path):
    pods = tmp_path / "pods.csv"
    pods.write_text(
        f"{POD_HEADER}\np1,12000,49152,1,1000,,,Running,0,100,0\np2,4000,10600,1,500,,BE,Running,10,100,10\n"
    )
    seen = []

    def classify(frame):
        seen.append(frame["name"].to_list())
        return [PredictedClass(QosClass.LS, 0.93)] * len(frame)

    jobs = {tj.job.job_id: tj.job for tj in read_trace_pods(pods, classify).jobs}
    assert seen == [["p1"]]  # only the pod without a class is classified
    assert jobs["p1"].qos_class is QosClass.LS and jobs["p1"].class_note == "class LS predicted (p=0.93)"
    assert jobs["p2"].qos_class is QosClass.BE and jobs["p2"].class_note is None
    with pytest.raises(ConfigError, match="need a trained classifier"):
        read_trace_pods(pods)
