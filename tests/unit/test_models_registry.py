"""The model registry: versions with metadata, loading the newest version that passed its gate."""

import json
from datetime import UTC, datetime, timedelta

from models.registry import latest_passing, list_versions, register_model

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_newest_passing_version_is_loaded_and_a_newer_failing_one_is_not(tmp_path):
    register_model(tmp_path, "m", {"model.txt": "old"}, {"passed_gate": True}, now=T0)
    good = register_model(tmp_path, "m", {"model.txt": "good"}, {"passed_gate": True}, now=T0 + timedelta(hours=1))
    register_model(tmp_path, "m", {"model.txt": "bad"}, {"passed_gate": False}, now=T0 + timedelta(hours=2))
    loaded = latest_passing(tmp_path, "m")
    assert loaded is not None and loaded.version == good.version
    assert loaded.read_text("model.txt") == "good"
    assert len(list_versions(tmp_path, "m")) == 3


def test_metadata_records_library_versions_and_what_was_given(tmp_path):
    version = register_model(tmp_path, "m", {"model.txt": "x"}, {"passed_gate": True, "seed": 7, "params": {"a": 1}})
    meta = json.loads((version.path / "metadata.json").read_text())
    assert meta["seed"] == 7 and meta["params"] == {"a": 1} and meta["name"] == "m"
    assert {"python", "lightgbm", "prophet", "scikit-learn"} <= set(meta["library_versions"])
    assert version.path.parent == tmp_path / "models" / "m"


def test_nothing_registered_or_only_failing_versions_load_nothing(tmp_path):
    assert latest_passing(tmp_path, "m") is None
    register_model(tmp_path, "m", {"model.txt": "bad"}, {"passed_gate": False})
    assert latest_passing(tmp_path, "m") is None


def test_a_version_folder_without_metadata_is_ignored(tmp_path):
    (tmp_path / "models" / "m" / "20990101T000000000000Z").mkdir(parents=True)
    good = register_model(tmp_path, "m", {"model.txt": "good"}, {"passed_gate": True})
    assert latest_passing(tmp_path, "m").version == good.version
