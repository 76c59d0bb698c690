"""The site controller routes workloads sent without a class by the registered classifier (faust test context)."""

from datetime import timedelta

import numpy as np
import pytest

from hcp.records import Decision, DecisionKind, WorkloadRequest
from hcp.records.workloads import QosClass
from hcp.topics import DECISIONS, WORKLOAD_REQUESTS
from models.classifier import CLASSES, WorkloadFeatures, train_classifier, workload_matrix
from models.loading import CLASSIFIER_NAME
from models.registry import register_model

from .test_agents_power import T0, control, sent, sent_records  # noqa: F401  (sent is a fixture)

pytestmark = pytest.mark.component

LS_REQUEST, BE_REQUEST = (11300, 49152), (3152, 5600)


def register_small_classifier(home, passed_gate=True):
    """A classifier learnt from 200 synthetic workloads whose CPU and memory requests give their class away."""
    rng = np.random.default_rng(1)
    workloads, labels = [], []
    for k in range(200):
        cpu, memory = LS_REQUEST if k % 2 else BE_REQUEST
        at = T0 + timedelta(minutes=int(rng.integers(0, 3000)))
        workloads.append(WorkloadFeatures(1, 1000, at, cpu + int(rng.integers(-50, 50)), memory))
        labels.append(CLASSES.index(QosClass.LS.value if k % 2 else QosClass.BE.value))
    model = train_classifier(workload_matrix(workloads), np.array(labels), seed=7, params={"num_boost_round": 30})
    register_model(home, CLASSIFIER_NAME, {"model.txt": model.to_text()}, {"passed_gate": passed_gate})


def unclassified(job_id, requested, at):
    cpu, memory = requested
    return WorkloadRequest(
        event_id=f"req:{job_id}", event_time=at, job_id=job_id, customer_id="acme", gpu_type="H100", gpu_count=8,
        priority=2, qos_class=None, preemptible=True, expected_duration_s=3600, cpu_milli=cpu, memory_mib=memory,
    )


def route(tmp_path, sent, requests):  # noqa: F811
    messages = [(WORKLOAD_REQUESTS, r) for r in requests]

    def all_decided(app):
        subjects = {d.subject for d in sent_records(sent, DECISIONS, Decision)}
        return {r.job_id for r in requests} <= subjects

    control(tmp_path, messages, all_decided)
    return {d.subject: d for d in sent_records(sent, DECISIONS, Decision) if d.kind is DecisionKind.PLACEMENT}


def test_unclassified_workloads_are_placed_by_their_predicted_class_and_the_decision_says_so(tmp_path, sent):  # noqa: F811
    register_small_classifier(tmp_path)
    at = T0 + timedelta(minutes=20)
    placed = route(tmp_path, sent, [unclassified("ls-like", LS_REQUEST, at), unclassified("be-like", BE_REQUEST, at)])
    assert "class LS predicted (p=" in placed["ls-like"].reason
    assert "protected from preemption" in placed["ls-like"].reason
    assert "class BE predicted (p=" in placed["be-like"].reason
    assert "protected" not in placed["be-like"].reason


def test_without_a_promoted_classifier_unclassified_workloads_go_as_best_effort_and_say_so(tmp_path, sent):  # noqa: F811
    register_small_classifier(tmp_path, passed_gate=False)
    placed = route(tmp_path, sent, [unclassified("job", LS_REQUEST, T0 + timedelta(minutes=20))])
    assert "no classifier loaded: routed as BE" in placed["job"].reason
