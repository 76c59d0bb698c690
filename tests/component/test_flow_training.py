"""The training flow under a temporary Prefect server: a model worse than its baseline is not promoted."""

import pytest

from flows.training import train_classifier
from models.loading import load_classifier
from models.registry import list_versions

pytestmark = [pytest.mark.component, pytest.mark.shared_data]

CRIPPLED = {"num_boost_round": 1, "learning_rate": 0.0001, "min_data_in_leaf": 1_000_000}


def test_a_classifier_worse_than_its_baselines_is_registered_but_not_promoted(
    prefect_test_server, shared_data_dir, tmp_path
):
    pods = str(shared_data_dir / "traces" / "alibaba_gpu_v2023_pods.csv")
    good = train_classifier(pods, str(tmp_path), seed=7, params={"num_boost_round": 100})
    bad = train_classifier(pods, str(tmp_path), seed=7, params=CRIPPLED)

    assert good["passed_gate"] and not bad["passed_gate"]
    assert "does not beat majority_class" in bad["gate"]
    versions = list_versions(tmp_path, "workload_classifier")
    assert [v.metadata["passed_gate"] for v in versions] == [True, False]
    assert {"params", "seed", "data_window", "metrics", "library_versions"} <= set(versions[-1].metadata)
    _model, loaded = load_classifier(tmp_path)
    assert loaded.version == good["version"]
