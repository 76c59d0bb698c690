import pytest

from hcp.exceptions import ConfigError
from hcp.fleet import load_fleet
from hcp.settings import BrokerSettings, SimulatorSettings, load_settings


def test_demo_fleet_loads_with_known_models():
    fleet = load_fleet()
    assert {s.site_id for s in fleet.sites} == {"west-1", "west-2", "north-1"}
    assert all(site.asics for site in fleet.sites)


def test_fleet_with_unknown_model_names_the_model(tmp_path):
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "sites: [{site_id: s1, node: HB_WEST, power_cap_mw: 1, asics: [{model: S99, count: 1}]}]\n"
        "customers: [{customer_id: c1}]\n"
    )
    with pytest.raises(ConfigError, match="S99"):
        load_fleet(path)


def test_fleet_file_that_is_not_yaml_says_so(tmp_path):
    path = tmp_path / "fleet.yaml"
    path.write_text("sites: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_fleet(path)


def test_missing_fleet_file_says_which(tmp_path):
    with pytest.raises(ConfigError, match="cannot read fleet file"):
        load_fleet(tmp_path / "absent.yaml")


def test_bad_setting_from_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("HCP_SIM_SPEED", "-3")
    with pytest.raises(ConfigError, match="HCP_SIM_SPEED"):
        load_settings(SimulatorSettings)


def test_external_cluster_setting_disables_the_embedded_broker(monkeypatch):
    monkeypatch.setenv("HCP_BROKER_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    settings = load_settings(BrokerSettings)
    assert not settings.embedded
    assert settings.librdkafka_config()["bootstrap.servers"] == "kafka-1:9092,kafka-2:9092"


def test_secret_is_masked_in_repr(monkeypatch):
    monkeypatch.setenv("HCP_BROKER_SASL_PASSWORD", "hunter2")
    settings = load_settings(BrokerSettings)
    assert "hunter2" not in repr(settings)
    assert settings.librdkafka_config()["sasl.password"] == "hunter2"


def test_env_example_lists_every_setting():
    from hcp import settings as module

    text = (module.REPO_ROOT / ".env.example").read_text()
    classes = [
        module.BrokerSettings, module.StorageSettings, module.FleetSettings, module.SimulatorSettings,
        module.WorkerSettings, module.WarehouseSettings,
    ]
    for cls in classes:
        prefix = cls.model_config["env_prefix"]
        for name in cls.model_fields:
            assert f"{prefix}{name.upper()}=" in text, f"{prefix}{name.upper()} missing from .env.example"


def test_gpu_nodes_group_the_simulated_gpus_in_eights():
    from hcp.fleet import GPUS_PER_NODE, gpu_nodes
    from simulators.devices import layout_collectors

    fleet = load_fleet()
    for site in fleet.sites:
        nodes = gpu_nodes(site)
        simulated = [d for c in layout_collectors(site, site.gpus, "gpu") for d in c.device_ids]
        assert [d for node in nodes for d in node.device_ids] == simulated
        assert all(0 < len(node.device_ids) <= GPUS_PER_NODE for node in nodes)
        assert len({node.node_id for node in nodes}) == len(nodes)
