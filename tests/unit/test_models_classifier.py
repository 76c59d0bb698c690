"""The workload classifier: beats its baselines on held-back pods, is repeatable, refuses bad input."""

from datetime import UTC, datetime

import polars as pl
import pytest

from hcp.records.workloads import QosClass
from models.classifier import (
    CLASSES,
    WorkloadFeatures,
    classifier_gate,
    evaluate_classifier,
    pod_features,
    predict_classifier,
)
from models.exceptions import InputDataError

pytestmark = pytest.mark.shared_data

CRIPPLED = {"num_boost_round": 1, "learning_rate": 0.0001, "min_data_in_leaf": 1_000_000}


@pytest.fixture(scope="module")
def pods(shared_data_dir):
    return pl.read_csv(shared_data_dir / "traces" / "alibaba_gpu_v2023_pods.csv")


@pytest.fixture(scope="module")
def evaluation(pods):
    return evaluate_classifier(pods, seed=7)


def test_classifier_beats_majority_and_logistic_regression_in_macro_f1_with_097_accuracy(evaluation):
    ours = evaluation.table["lightgbm"]
    assert ours["accuracy"] >= 0.97
    assert ours["macro_f1"] > evaluation.table["majority_class"]["macro_f1"]
    assert ours["macro_f1"] > evaluation.table["logistic_regression"]["macro_f1"]
    assert {f"f1_{c}" for c in CLASSES} <= set(ours)
    assert classifier_gate(evaluation)[0]


def test_training_twice_with_the_same_seed_gives_the_same_metrics(pods, evaluation):
    again = evaluate_classifier(pods, seed=7)
    assert again.table == evaluation.table


def test_a_crippled_classifier_fails_its_gate(pods):
    crippled = evaluate_classifier(pods, seed=7, params=CRIPPLED)
    passed, reason = classifier_gate(crippled)
    assert not passed
    assert "does not beat majority_class" in reason


def test_predictions_have_name_class_and_one_probability_per_class_summing_to_one(pods, evaluation):
    predictions = predict_classifier(evaluation.model, pods.drop("qos").head(50))
    assert predictions.columns == ["name", "predicted_qos", *(f"prob_{c}" for c in CLASSES)]
    assert predictions["name"].to_list() == pods["name"].head(50).to_list()
    totals = predictions.select(pl.sum_horizontal(pl.col("^prob_.*$"))).to_series()
    assert all(abs(t - 1) < 1e-4 for t in totals)


def test_live_workload_with_ls_like_requests_is_predicted_ls_with_confidence(evaluation):
    noon = datetime(2023, 1, 16, 12, tzinfo=UTC)
    ls = evaluation.model.classify(WorkloadFeatures(1, 1000, noon, cpu_milli=11300, memory_mib=49152))
    be = evaluation.model.classify(WorkloadFeatures(1, 1000, noon, cpu_milli=3152, memory_mib=5600))
    assert ls.qos_class is QosClass.LS and ls.probability > 0.8
    assert be.qos_class is QosClass.BE


def test_pods_without_resource_columns_are_refused_naming_the_columns():
    with pytest.raises(InputDataError, match="cpu_milli, memory_mib"):
        pod_features(pl.DataFrame({"name": ["p"], "num_gpu": [1], "gpu_milli": [1000], "creation_time": [0]}))
