"""The app factory: fresh apps, explicit registration, topics and tables that match the contract."""

import importlib
import logging
import pkgutil

import faust

import streams
from hcp.fleet import load_fleet
from hcp.settings import BrokerSettings, StorageSettings, WorkerSettings
from hcp.topics import MARKET_PRICES, TELEMETRY_ASIC, TELEMETRY_GPU, TOPICS, WORKLOAD_REQUESTS
from streams.alerting.evaluation import WATCHED_TOPICS
from streams.app import create_app
from streams.topics import contract_topic
from streams.worker import changelog_topics, quiet_worker


def new_app(tmp_path, **worker):
    broker = BrokerSettings(bootstrap_servers="k1:9092,k2:9093")
    return create_app(WorkerSettings(**worker), broker, StorageSettings(home=tmp_path), load_fleet())


def test_every_streams_module_imports():
    names = [m.name for m in pkgutil.walk_packages(streams.__path__, "streams.") if m.name != "streams.__main__"]
    for name in names:
        importlib.import_module(name)
    assert {"streams.landing.agents", "streams.fleet.agents", "streams.power.agents"} <= set(names)


def test_each_call_builds_a_new_app_with_every_agent_and_table(tmp_path):
    first, second = new_app(tmp_path), new_app(tmp_path)
    assert first is not second
    for app in (first, second):
        assert set(app.agents) == {"land_messages", "track_fleet", "control_sites", "raise_alerts", "meter_gpu_usage"}
        assert set(app.tables) == {"devices", "site_control"}
    assert first.agents["land_messages"] is not second.agents["land_messages"]


def test_app_reads_from_the_earliest_offset_and_never_declares_topics(tmp_path):
    app = new_app(tmp_path, app_id="hcp-test")
    assert app.conf.id == "hcp-test"
    assert app.conf.topic_allow_declare is False
    assert app.conf.consumer_auto_offset_reset == "earliest"
    assert app.conf.autodiscover is False
    assert [str(url) for url in app.conf.broker] == ["kafka://k1:9092", "kafka://k2:9093"]
    assert str(app.conf.datadir).startswith(str(tmp_path))
    assert app.conf.web_enabled is False


def test_agents_subscribe_to_contract_topics(tmp_path):
    app = new_app(tmp_path)
    subscribed = {name: set(agent.channel.topics) for name, agent in app.agents.items()}
    assert subscribed == {
        "land_messages": set(TOPICS),
        "track_fleet": {TELEMETRY_ASIC, TELEMETRY_GPU},
        "control_sites": {MARKET_PRICES, WORKLOAD_REQUESTS},
        "raise_alerts": set(WATCHED_TOPICS),
        "meter_gpu_usage": {TELEMETRY_GPU},
    }
    for name, spec in TOPICS.items():
        topic = contract_topic(app, name)
        assert (topic.get_topic_name(), topic.partitions) == (name, spec.partitions)


def test_table_changelogs_have_the_partitions_of_their_source_topics(tmp_path):
    assert changelog_topics(new_app(tmp_path, app_id="hcp")) == {
        "hcp-devices-changelog": TOPICS[TELEMETRY_ASIC].partitions,
        "hcp-site_control-changelog": 1,
    }


def test_app_is_a_faust_app(tmp_path):
    assert isinstance(new_app(tmp_path), faust.App)


def test_the_worker_keeps_the_root_logger_at_its_level(tmp_path):
    # faust's own Worker sets the root logger to DEBUG for its spinner: every aiokafka debug line then builds
    # a record (a measurable share of the ingest worker's CPU). The worker hcp runs must not.
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    try:
        quiet_worker(new_app(tmp_path), "warn")._setup_logging()
        assert root.level == logging.WARNING
        assert not logging.getLogger("aiokafka.producer.producer").isEnabledFor(logging.DEBUG)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
